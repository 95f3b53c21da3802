-- Chart "goal progress against the expected trajectory": one row per (goal, measurement taken on
-- or before the report quarter's as_of), or one row with no measurement for a goal without any.
-- progress by the goal_progress macro (the rule of marts.goals_by_quarter); the quarter's own
-- goal_progress, expected_progress and on_track come from marts.goals_by_quarter.
with

bounds as (
    select quarter, as_of from ref.quarters where quarter = $quarter
),

measured as (
    select
        measurements.goal_id,
        measurements.measured_on,
        measurements.value,
        measurements.sheet_row
    from staging.stg_goal_measurements as measurements, bounds
    where measurements.measured_on <= bounds.as_of
)

select
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
    (select on_track_margin from ref.params) as on_track_margin,
    measured.measured_on,
    measured.value,
    goal_progress(goals.direction, measured.value, goals.baseline, goals.target) as progress
from staging.stg_goals as goals
cross join bounds
left join marts.goals_by_quarter as quarter_row
  on quarter_row.goal_id = goals.goal_id and quarter_row.quarter = bounds.quarter
left join measured on measured.goal_id = goals.goal_id
order by goals.goal_id, measured.measured_on, measured.sheet_row
