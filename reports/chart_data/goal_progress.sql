-- Chart "goal progress against the expected trajectory": one row per (goal, measurement taken on
-- or before the report quarter's as_of), or one row with no measurement for a goal without any.
-- progress by the goal_progress macro (the rule of marts.goals_by_quarter); the quarter's own
-- goal_progress, expected_progress and on_track come from marts.goals_by_quarter. For each
-- coalition of `scope` (its report quarter: scope.quarter); every join is on coalition_id.
with

bounds as (
    select quarters.coalition_id, quarters.quarter, quarters.as_of
    from ref.quarters as quarters
    join scope on scope.coalition_id = quarters.coalition_id and scope.quarter = quarters.quarter
),

measured as (
    select
        measurements.coalition_id,
        measurements.goal_id,
        measurements.measured_on,
        measurements.value,
        measurements.sheet_row
    from staging.stg_goal_measurements as measurements
    join bounds on bounds.coalition_id = measurements.coalition_id
    where measurements.measured_on <= bounds.as_of
)

select
    goals.coalition_id,
    goals.goal_id,
    goals.statement,
    goals.unit,
    goals.direction,
    goals.baseline,
    goals.baseline_on,
    goals.target,
    goals.target_on,
    bounds.as_of,
    quarter_row.goal_progress as quarter_progress,
    quarter_row.expected_progress as quarter_expected,
    quarter_row.on_track,
    params.on_track_margin,
    measured.measured_on,
    measured.value,
    goal_progress(goals.direction, measured.value, goals.baseline, goals.target) as progress
from staging.stg_goals as goals
join bounds on bounds.coalition_id = goals.coalition_id
left join ref.params as params on params.coalition_id = goals.coalition_id
left join marts.goals_by_quarter as quarter_row
  on quarter_row.coalition_id = goals.coalition_id and quarter_row.goal_id = goals.goal_id
 and quarter_row.quarter = bounds.quarter
left join measured on measured.coalition_id = goals.coalition_id and measured.goal_id = goals.goal_id
order by goals.coalition_id, goals.goal_id, measured.measured_on, measured.sheet_row
