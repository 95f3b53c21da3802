-- materialize: view (only metric_lineage.sql reads it: the union is the table stored)
-- grain: one row per (figure, wave, sheet row of the survey tab): the rows behind scale_mean,
-- scale_ci_low and scale_ci_high [scale] (marts/survey_scales_by_wave.sql). A response counts
-- ('scale score') when marts.survey_scale_scores scored it for the scale: it answered at least the
-- scale's min_items of the scale's items (ref.survey_scales, ref.survey_scale_items); the score is
-- the mean of those answers after reverse scoring. Other rows of the wave are listed with why not.
with

placed as (
    select * from lineage.survey_rows
),

scales as (
    select
        scales.coalition_id,
        scales.scale,
        scales.min_items,
        count(members.item) as count_items
    from ref.survey_scales as scales
    left join ref.survey_scale_items as members using (coalition_id, scale)
    group by scales.coalition_id, scales.scale, scales.min_items
),

scored as (
    select coalition_id, response_id, scale from marts.survey_scale_scores
),

answered as (
    -- how many of each scale's items a counted response answered
    select answers.coalition_id, answers.response_id, members.scale, count(*) as items_answered
    from staging.stg_survey_answers as answers
    join ref.survey_scale_items as members using (coalition_id, item)
    group by answers.coalition_id, answers.response_id, members.scale
),

rows as (
    select
        placed.coalition_id,
        placed.quarter,
        scales.scale,
        placed.sheet_row,
        placed.member_id,
        coalesce(
            placed.reason,
            case when scored.response_id is null
                 then 'answered ' || coalesce(answered.items_answered, 0) || ' of the scale''s '
                      || scales.count_items || ' items (at least ' || scales.min_items || ' needed)'
            end) as reason
    from placed
    join scales on scales.coalition_id = placed.coalition_id
    left join scored
      on scored.coalition_id = placed.coalition_id and scored.response_id = placed.sheet_row and scored.scale = scales.scale
    left join answered
      on answered.coalition_id = placed.coalition_id and answered.response_id = placed.sheet_row
     and answered.scale = scales.scale
),

figures as (
    select rows.coalition_id, metrics.metric_id, rows.* exclude (coalition_id)
    from rows
    cross join (values ('scale_mean'), ('scale_ci_low'), ('scale_ci_high')) as metrics(metric_id)
),

final as (
    select
        coalition_id,
        metric_id,
        scale as dimension,
        quarter,
        'survey' as tab,
        sheet_row,
        null::varchar as sheet_column,
        member_id,
        case when reason is null then 'scale score' end as role,
        reason is null as included,
        reason,
        null::varchar as cell
    from figures
)

select * from final
