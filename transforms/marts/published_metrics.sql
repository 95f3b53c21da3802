-- grain: one row per (metric_id, quarter), as published: survey figures over fewer than small_n
-- responses carry no value and are marked suppressed (the small-n rule, macros.sql).
with

metric_values as (
    select * from marts.metric_values
),

published as (
    select
        metric_id,
        quarter,
        seq,
        case when is_survey and is_suppressed(n) then null else value end as value,
        n,
        is_survey and is_suppressed(n) as suppressed
    from metric_values
)

select * from published
