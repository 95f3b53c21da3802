-- grain: one row per (response, item) answered; a blank answer is item non-response, not a row.
-- The items are the configured instrument's (ref.survey_items): raw.survey holds one text column per
-- item, unpivoted here, so no item is named in SQL. answer = the answer on the item's raw scale, as
-- typed (a number or one of its labels, read by cm_answer as validation reads it); score = the
-- answer after reverse scoring (scale_min + scale_max - answer for a reverse-scored item), which
-- every figure uses.
with

source as (
    select * from raw.survey
    where not is_blank
      and (coalition_id, sheet_row) not in (select (coalition_id, sheet_row) from quarantine.rows where tab = 'survey')
),

cells as (
    -- every text column of the tab; the join below keeps the instrument's items
    unpivot (select * exclude (snapshot_id, is_blank) from source)
    on columns(* exclude (coalition_id, sheet_row))
    into name item value cell
),

answered as (
    select
        cells.coalition_id,
        cells.sheet_row as response_id,
        cells.item,
        cm_answer(cells.coalition_id, cells.item, cells.cell) as answer,
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
