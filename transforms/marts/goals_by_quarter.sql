-- grain: one row per (quarter, goal)
-- goal_progress = (latest value measured on or before as_of - baseline) / (target - baseline),
-- direction-aware: the sign follows the goal's direction, so a decrease goal moving down makes
-- progress; not clipped; null with no measurement yet. expected_progress = elapsed share of
-- baseline_on..target_on at as_of, clipped to 0..1. on_track when goal_progress >=
-- expected_progress - [metrics] on_track_margin (null when goal_progress is null).
with

quarters as (
    select coalition_id, quarter, seq, as_of from ref.quarters
),

goals as (
    select * from staging.stg_goals
),

latest as (
    select
        quarters.coalition_id,
        quarters.quarter,
        measurements.goal_id,
        first(measurements.value order by measurements.measured_on desc, measurements.sheet_row desc) as latest_value,
        max(measurements.measured_on) as latest_measured_on,
        first(measurements.sheet_row order by measurements.measured_on desc, measurements.sheet_row desc)
            as latest_sheet_row
    from quarters
    join staging.stg_goal_measurements as measurements
      on measurements.coalition_id = quarters.coalition_id and measurements.measured_on <= quarters.as_of
    group by quarters.coalition_id, quarters.quarter, measurements.goal_id
),

progress as (
    select
        quarters.coalition_id,
        quarters.quarter,
        quarters.seq,
        goals.goal_id,
        goals.direction,
        goals.baseline,
        goals.target,
        latest.latest_value,
        latest.latest_measured_on,
        ----------  lineage (transforms/lineage/goals.sql): the goal's row and its latest measurement's
        goals.sheet_row as goal_sheet_row,
        latest.latest_sheet_row,
        goal_progress(goals.direction, latest.latest_value, goals.baseline, goals.target) as goal_progress,
        case when goals.target_on > goals.baseline_on
             then greatest(0.0, least(1.0,
                  datediff('day', goals.baseline_on, quarters.as_of)
                  / datediff('day', goals.baseline_on, goals.target_on)))
        end as expected_progress
    from quarters
    join goals using (coalition_id)
    left join latest
      on latest.coalition_id = quarters.coalition_id and latest.quarter = quarters.quarter and latest.goal_id = goals.goal_id
),

final as (
    select
        progress.*,
        case when progress.goal_progress is not null and progress.expected_progress is not null
             then progress.goal_progress >= progress.expected_progress - params.on_track_margin - 1e-12
        end as on_track
    from progress
    join ref.params as params using (coalition_id)
)

select * from final
