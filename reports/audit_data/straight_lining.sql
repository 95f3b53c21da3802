-- Audit pack, table "straight_lining": counted responses that gave the same answer (as typed,
-- before reverse scoring) to every item they answered, among responses that answered at least
-- three items. One row per response, with its sheet row and member.
with

answers as (
    select answers.*
    from staging.stg_survey_answers as answers
    where answers.wave in (
        select quarter from ref.quarters
        where seq between (select seq from ref.quarters where quarter = $wave_from)
                      and (select seq from ref.quarters where quarter = $wave_to))
),

per_response as (
    select
        response_id,
        any_value(sheet_row) as sheet_row,
        any_value(wave) as wave,
        any_value(member_id) as member_id,
        count(*) as items_answered,
        count(distinct answer) as distinct_answers,
        min(answer) as answer
    from answers
    group by response_id
)

select
    per_response.sheet_row,
    per_response.wave,
    per_response.member_id,
    members.organization,
    per_response.items_answered,
    per_response.answer
from per_response
left join staging.stg_members as members using (member_id)
where per_response.items_answered >= 3 and per_response.distinct_answers = 1
order by per_response.sheet_row
