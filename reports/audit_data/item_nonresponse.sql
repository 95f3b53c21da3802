-- Audit pack, table "item_nonresponse": one row per (item, wave): of the wave's counted responses,
-- how many left the item blank (item non-response; a blank is never a zero).
with

waves as (
    select quarter as wave, seq from ref.quarters
    where seq between (select seq from ref.quarters where quarter = $wave_from)
                  and (select seq from ref.quarters where quarter = $wave_to)
),

responses as (
    select wave, count(*) as count_responses from staging.stg_survey_responses group by wave
),

answered as (
    select wave, item, count(*) as count_answered from staging.stg_survey_answers group by wave, item
)

select
    items.item,
    items.position as item_position,
    waves.wave,
    waves.seq,
    coalesce(responses.count_responses, 0) as count_responses,
    coalesce(answered.count_answered, 0) as count_answered,
    coalesce(responses.count_responses, 0) - coalesce(answered.count_answered, 0) as count_missing,
    safe_ratio(coalesce(responses.count_responses, 0) - coalesce(answered.count_answered, 0),
               responses.count_responses) as nonresponse_rate
from ref.survey_items as items
cross join waves
left join responses using (wave)
left join answered on answered.wave = waves.wave and answered.item = items.item
order by items.position, waves.seq
