-- grain: one row per (published id, quarter), as published: a metric the registry marks as a
-- survey figure carries no value and is marked suppressed when it rests on fewer than small_n
-- responses (the small-n rule, macros.sql). Metrics not in the registry are not published.
with

metric_values as (
    select * from marts.metric_values
),

registry as (
    select metric_id, is_survey, model, dimension_kind, position from ref.metrics
),

absent_source as (
    -- models resting wholly on one optional tab: with the tab absent from the sheet their figures
    -- are "no data" (docs/data-contract.md), not a count of 0 or a flag "no". A tab present with
    -- no rows still counts 0.
    select tabs.coalition_id, models.model
    from (values ('marts/tasks_by_quarter.sql', 'tasks'),
                 ('marts/milestones_by_quarter.sql', 'milestones'),
                 ('marts/goals_by_quarter.sql', 'goals')) as models(model, tab)
    join ref.source_tabs as tabs using (tab)
    where not tabs.present
),

dimension_order as (
    -- meeting and milestone kinds in the contract's order, survey items and scales in the
    -- instrument's order; by the registry's dimension kind, so a code shared by two kinds of
    -- dimension (an item called "event") never matches twice
    select params.coalition_id, 'kind' as dimension_kind, value as dimension, position
    from ref.params as params cross join ref.enum_values where enum = 'kind'
    union all
    select params.coalition_id, 'counted_kind', value, position
    from ref.params as params cross join ref.enum_values where enum = 'kind'
    union all
    select params.coalition_id, 'milestone_kind', value, position
    from ref.params as params cross join ref.enum_values where enum = 'milestone_kind'
    union all
    select coalition_id, 'item', item, position from ref.survey_items
    union all
    select coalition_id, 'scale', scale, position from ref.survey_scales
),

published as (
    select
        metric_values.coalition_id,
        metric_values.published_id,
        metric_values.metric_id,
        metric_values.dimension,
        metric_values.quarter,
        metric_values.seq,
        case when registry.is_survey and is_suppressed_below(metric_values.n, params.small_n) then null
             when (metric_values.coalition_id, registry.model) in (select (coalition_id, model) from absent_source) then null
             else metric_values.value end as value,
        metric_values.n,
        registry.is_survey and is_suppressed_below(metric_values.n, params.small_n) as suppressed,
        registry.position as metric_position,
        coalesce(dimension_order.position, 0) as dimension_position
    from metric_values
    join registry using (metric_id)
    join ref.params as params on params.coalition_id = metric_values.coalition_id
    left join dimension_order
      on dimension_order.coalition_id = metric_values.coalition_id
     and dimension_order.dimension_kind = registry.dimension_kind
     and dimension_order.dimension = metric_values.dimension
)

select * from published
