-- Audit pack: every value the audit's statistics rest on, one row per (measure, counted response),
-- for the waves $wave_from .. $wave_to. A measure is a survey item (its score: the answer after
-- reverse scoring, staging.stg_survey_answers) or a composite scale (the respondent's scale score,
-- marts.survey_scale_scores). The pack keeps this as the temporary table audit_values; the other
-- files of reports/audit_data/ and the statistical tests in coalition_metrics/audit/ read it.
with

waves as (
    select quarter as wave, seq from ref.quarters
    where seq between (select seq from ref.quarters where quarter = $wave_from)
                  and (select seq from ref.quarters where quarter = $wave_to)
),

item_values as (
    select
        'item' as kind,
        answers.item as measure,
        items.position as measure_position,
        answers.wave,
        waves.seq,
        answers.response_id,
        answers.sheet_row,
        answers.member_id,
        answers.answer,
        answers.score as value,
        items.scale_min,
        items.scale_max
    from staging.stg_survey_answers as answers
    join ref.survey_items as items using (item)
    join waves using (wave)
),

scale_range as (
    -- a scale's score is a mean of its items' scores: its range is theirs
    select scale_items.scale, min(items.scale_min) as scale_min, max(items.scale_max) as scale_max
    from ref.survey_scale_items as scale_items
    join ref.survey_items as items using (item)
    group by scale_items.scale
),

scale_values as (
    select
        'scale' as kind,
        scores.scale as measure,
        scales.position as measure_position,
        scores.wave,
        waves.seq,
        scores.response_id,
        responses.sheet_row,
        scores.member_id,
        null::double as answer,
        scores.score as value,
        scale_range.scale_min,
        scale_range.scale_max
    from marts.survey_scale_scores as scores
    join ref.survey_scales as scales using (scale)
    join scale_range using (scale)
    join staging.stg_survey_responses as responses using (response_id)
    join waves on waves.wave = scores.wave
)

select * from item_values
union all
select * from scale_values
