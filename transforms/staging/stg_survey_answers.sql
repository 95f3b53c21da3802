-- grain: one row per (response, item) answered; a blank answer is item non-response, not a row.
-- The items are the configured instrument's (ref.survey_items); parsed.survey_answers holds each
-- item's answer (a column per item, unpivoted here) on its raw scale, as validation read it (a number or one of the item's
-- labels: SurveyItem.parse), so no item is named in SQL. score = the answer after reverse scoring
-- (scale_min + scale_max - answer for a reverse-scored item), which every figure uses.
with

cells as (
    -- parsed.survey_answers has one column per item of the tab (null: blank or not an answer)
    unpivot parsed.survey_answers
    on columns(* exclude (coalition_id, sheet_row))
    into name item value answer
),

answered as (
    select
        cells.coalition_id,
        cells.sheet_row as response_id,
        cells.item,
        cells.answer,
        items.scale_min,
        items.scale_max,
        items.reverse
    from cells
    join ref.survey_items as items using (coalition_id, item)
),

scored as (
    select
        coalition_id,
        response_id,
        item,
        answer,
        case when reverse then scale_min + scale_max - answer else answer end as score
    from answered
    where answer is not null
),

joined as (
    select
        scored.coalition_id,
        scored.response_id,
        responses.sheet_row,
        responses.wave,
        responses.member_id,
        scored.item,
        scored.answer,
        scored.score
    from scored
    join staging.stg_survey_responses as responses using (coalition_id, response_id)
)

select * from joined
