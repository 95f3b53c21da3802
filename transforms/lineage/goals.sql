-- grain: one row per (figure, quarter, sheet row): the rows behind goal_progress, expected_progress,
-- on_track [goal] and goals_on_track (marts/goals_by_quarter.sql): the goal's row of the goals tab
-- (baseline, target and their dates) and its measurements: the latest one measured on or before
-- as_of counts (ties: the lower sheet row); earlier ones, later ones and set-aside ones are listed
-- with why not.
with

quarters as (
    select coalition_id, quarter, seq, as_of from ref.quarters
),

goals as (
    select coalition_id, quarter, goal_id, goal_sheet_row, latest_sheet_row from marts.goals_by_quarter
),

measurements as (
    select
        raw.coalition_id,
        raw.sheet_row,
        staged.sheet_row is not null as is_staged,
        coalesce(staged.goal_id, cm_trim(raw.goal_id)) as goal_id,
        coalesce(staged.measured_on, cm_date(raw.coalition_id, raw.measured_on)) as measured_on,
        quarantined.reason as quarantine_reason
    from raw.goal_measurements as raw
    left join staging.stg_goal_measurements as staged using (coalition_id, sheet_row)
    left join lineage.quarantined as quarantined
      on quarantined.coalition_id = raw.coalition_id and quarantined.tab = 'goal_measurements'
     and quarantined.sheet_row = raw.sheet_row
    where not raw.is_blank
),

measurement_rows as (
    select
        goals.coalition_id,
        goals.quarter,
        goals.goal_id,
        'goal_measurements' as tab,
        measurements.sheet_row,
        'latest measurement' as role,
        case
            when not measurements.is_staged then coalesce(measurements.quarantine_reason, 'not accepted by validation')
            when measurements.measured_on > quarters.as_of
                then 'measured after as_of (' || measurements.measured_on || ')'
            when measurements.sheet_row = goals.latest_sheet_row then null
            else 'an earlier measurement (' || measurements.measured_on || '): the latest counts'
        end as reason,
        'value' as cell
    from goals
    join quarters using (coalition_id, quarter)
    join measurements on measurements.coalition_id = goals.coalition_id and measurements.goal_id = goals.goal_id
),

goal_rows as (
    select coalition_id, quarter, goal_id, 'goals' as tab, goal_sheet_row as sheet_row, 'baseline and target' as role,
           null as reason, 'baseline' as cell
    from goals
),

set_aside_goals as (
    -- goals rows validation set aside: no figure of their own; listed under goals_on_track
    select quarters.coalition_id, quarters.quarter, raw.sheet_row, quarantined.reason
    from quarters
    join raw.goals as raw using (coalition_id)
    join lineage.quarantined as quarantined
      on quarantined.coalition_id = raw.coalition_id and quarantined.tab = 'goals' and quarantined.sheet_row = raw.sheet_row
),

figures as (
    select coalition_id, 'goal_progress' as metric_id, goal_id as dimension, * exclude (coalition_id, goal_id) from goal_rows
    union all
    select coalition_id, 'goal_progress', goal_id, * exclude (coalition_id, goal_id) from measurement_rows
    union all
    select coalition_id, 'expected_progress', goal_id, quarter, tab, sheet_row, 'baseline_on and target_on', reason, 'target_on'
    from goal_rows
    union all
    select coalition_id, 'on_track', goal_id, * exclude (coalition_id, goal_id) from goal_rows
    union all
    select coalition_id, 'on_track', goal_id, * exclude (coalition_id, goal_id) from measurement_rows
    union all
    select coalition_id, 'goals_on_track', null, * exclude (coalition_id, goal_id) from goal_rows
    union all
    select coalition_id, 'goals_on_track', null, * exclude (coalition_id, goal_id) from measurement_rows
    union all
    select coalition_id, 'goals_on_track', null, quarter, 'goals', sheet_row, null, reason, 'goal_id' from set_aside_goals
),

final as (
    select
        coalition_id,
        metric_id,
        dimension,
        quarter,
        tab,
        sheet_row,
        null::varchar as sheet_column,
        null::varchar as member_id,
        case when reason is null then role end as role,
        reason is null as included,
        reason,
        cell
    from figures
)

select * from final
