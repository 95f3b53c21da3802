-- grain: one row per (figure, quarter, sheet row): the rows behind the task figures of
-- marts/tasks_by_quarter.sql and the tasks side of leadership (marts/ownership_by_member.sql).
--   task_completion_rate, on_time_rate, raci_gaps, goal_focus_share, goal_tied_tasks: the tasks due
--     in the quarter up to as_of; raci_gaps also lists the quarter's roster (members rows).
--   overdue_open: the tasks due before as_of (any quarter).
--   leadership_concentration, ownership_hhi, single_champion_risk [tasks] (and plain): the owners
--     of the tasks due in the quarter (to its end).
-- Every row of the tasks tab is listed for every quarter, with why it is left out.
with

quarters as (
    select coalition_id, quarter, seq, start_on, end_on, as_of from ref.quarters
),

tasks as (
    select
        raw.coalition_id,
        raw.sheet_row,
        raw.is_blank,
        staged.sheet_row is not null as is_staged,
        staged.owner_id,
        staged.accountable_id,
        staged.goal_id,
        staged.tied_goal_id,
        coalesce(staged.due_on, cm_date(raw.coalition_id, raw.due_on)) as due_on,
        staged.completed_on,
        quarantined.reason as quarantine_reason
    from raw.tasks as raw
    left join staging.stg_tasks as staged using (coalition_id, sheet_row)
    left join lineage.quarantined as quarantined
      on quarantined.coalition_id = raw.coalition_id and quarantined.tab = 'tasks'
     and quarantined.sheet_row = raw.sheet_row
),

rows as (
    select
        quarters.coalition_id,
        quarters.quarter,
        quarters.as_of,
        tasks.* exclude (coalition_id),
        tasks.completed_on is not null and tasks.completed_on <= quarters.as_of as is_completed,
        case
            when tasks.is_blank then 'blank row'
            when tasks.due_on is not null and (tasks.due_on < quarters.start_on or tasks.due_on > quarters.end_on)
                then 'due outside the quarter (due ' || tasks.due_on || ')'
            when not tasks.is_staged then coalesce(tasks.quarantine_reason, 'not accepted by validation')
        end as reason_quarter,
        case
            when tasks.is_blank then 'blank row'
            when tasks.due_on is not null and tasks.due_on >= quarters.as_of
                then 'not due before as_of (due ' || tasks.due_on || ')'
            when not tasks.is_staged then coalesce(tasks.quarantine_reason, 'not accepted by validation')
        end as reason_overdue
    from quarters
    join tasks using (coalition_id)
),

due as (
    -- due in the quarter up to as_of (tasks_by_quarter.sql's "due")
    select
        *,
        coalesce(reason_quarter, case when due_on > as_of then 'due after as_of (due ' || due_on || ')' end) as reason_due
    from rows
),

roster as (
    select coalition_id, quarter, member_id, sheet_row from marts.roster_by_quarter
),

figures as (
    select coalition_id, 'task_completion_rate' as metric_id, quarter, sheet_row, owner_id as member_id,
           case when is_completed then 'completed by as_of' else 'not completed by as_of' end as role,
           reason_due as reason, 'completed_on' as cell, 'tasks' as tab
    from due
    union all
    select coalition_id, 'on_time_rate', quarter, sheet_row, owner_id,
           case when completed_on <= due_on then 'completed on time' else 'completed late' end,
           coalesce(reason_due, case when not is_completed then 'not completed by as_of' end),
           'completed_on', 'tasks'
    from due
    union all
    select coalition_id, 'overdue_open', quarter, sheet_row, owner_id,
           case when is_completed then 'completed by as_of' else 'open, overdue' end,
           reason_overdue, 'completed_on', 'tasks'
    from rows
    union all
    select due.coalition_id, 'raci_gaps', due.quarter, due.sheet_row, due.owner_id,
           case when due.accountable_id is null then 'gap: no accountable_id'
                when owner.member_id is null then 'gap: owner not on the roster'
                when accountable.member_id is null then 'gap: accountable not on the roster'
                else 'no gap' end,
           due.reason_due, 'accountable_id', 'tasks'
    from due
    left join roster as owner
      on owner.coalition_id = due.coalition_id and owner.quarter = due.quarter and owner.member_id = due.owner_id
    left join roster as accountable
      on accountable.coalition_id = due.coalition_id and accountable.quarter = due.quarter
     and accountable.member_id = due.accountable_id
    union all
    select coalition_id, 'raci_gaps', quarter, sheet_row, member_id, 'on the roster', null, 'member_id', 'members'
    from roster
    union all
    select coalition_id, metric_id, quarter, sheet_row, owner_id,
           case when goal_id is not null then 'tied to a goal (its goal_id)'
                when tied_goal_id is not null then 'tied to a goal (its workstream)'
                else 'not tied to a goal' end,
           reason_due, 'goal_id', 'tasks'
    from due
    cross join (values ('goal_focus_share'), ('goal_tied_tasks')) as metrics(metric_id)
    union all
    -- leadership [tasks]: owners of the tasks due in the quarter, to its end (not as_of)
    select coalition_id, metric_id, quarter, sheet_row, owner_id,
           'owned', coalesce(reason_quarter, case when owner_id is null then 'no owner' end), 'owner_id', 'tasks'
    from rows
    cross join (values ('leadership_concentration'), ('ownership_hhi'), ('single_champion_risk')) as metrics(metric_id)
),

per_source as (
    -- the leadership figures are per source: their rows are [tasks] and the plain figure's
    select figures.*, null::varchar as dimension from figures
    union all
    select figures.*, 'tasks' from figures
    where figures.metric_id in ('leadership_concentration', 'ownership_hhi', 'single_champion_risk')
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
        member_id,
        case when reason is null then role end as role,
        reason is null as included,
        reason,
        cell
    from per_source
)

select * from final
