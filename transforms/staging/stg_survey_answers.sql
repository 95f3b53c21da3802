-- grain: one row per (response, item) answered; a blank answer is item non-response, not a row
with

source as (
    select * from raw.survey
    where not is_blank
      and sheet_row not in (select sheet_row from quarantine.rows where tab = 'survey')
),

scored as (
    select
        sheet_row as response_id,
        cm_likert(satisfaction) as satisfaction,
        cm_likert(trust) as trust,
        cm_likert(voice_heard) as voice_heard,
        cm_likert(shared_vision) as shared_vision,
        cm_likert(communication) as communication,
        cm_likert(value_received) as value_received
    from source
),

long as (
    unpivot scored
    on satisfaction, trust, voice_heard, shared_vision, communication, value_received
    into name item value score
),

joined as (
    select
        long.response_id,
        responses.wave,
        responses.member_id,
        long.item,
        long.score
    from long
    join staging.stg_survey_responses as responses using (response_id)
)

select * from joined
