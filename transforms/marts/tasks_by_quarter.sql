-- grain: one row per quarter
-- task_completion_rate = tasks due in the quarter (up to as_of) completed by as_of / tasks due;
-- on_time_rate = of those completed, the ones completed on or before due_on;
-- overdue_open = tasks due before as_of with no completed_on on or before as_of (any quarter);
-- raci_gaps = tasks due in the quarter with no accountable_id, or an owner or accountable who is
-- not on the quarter's roster;
-- goal_focus_share = tasks due in the quarter tied to a goal (staging.stg_tasks.tied_goal_id: own
-- goal_id, else the workstream's [workstreams] goal) / tasks due in the quarter, and
-- count_goal_tied its numerator. Both are null (unknown, not 0) when the coalition declares no
-- tie at all: no task has a goal_id and [workstreams] is empty (ref.workstreams has no row).
with

quarters as (
    select coalition_id, quarter, seq, start_on, end_on, as_of from ref.quarters
),

tasks as (
    select * from staging.stg_tasks
),

roster as (
    select coalition_id, quarter, member_id from marts.roster_by_quarter
),

due as (
    select
        quarters.coalition_id,
        quarters.quarter,
        tasks.task_id,
        tasks.completed_on is not null and tasks.completed_on <= quarters.as_of as is_completed,
        tasks.completed_on is not null and tasks.completed_on <= quarters.as_of
            and tasks.completed_on <= tasks.due_on as is_on_time,
        tasks.accountable_id is null
            or tasks.owner_id not in (select member_id from roster
                                     where roster.coalition_id = quarters.coalition_id and roster.quarter = quarters.quarter)
            or tasks.accountable_id not in (select member_id from roster
                                            where roster.coalition_id = quarters.coalition_id and roster.quarter = quarters.quarter)
            as is_raci_gap,
        tasks.tied_goal_id is not null as is_goal_tied
    from quarters
    join tasks on tasks.coalition_id = quarters.coalition_id and tasks.due_on between quarters.start_on and quarters.as_of
),

due_counts as (
    select
        coalition_id,
        quarter,
        count(*) as count_due,
        count(*) filter (where is_completed) as count_completed_by_end,
        count(*) filter (where is_on_time) as count_on_time,
        count(*) filter (where is_raci_gap) as raci_gaps,
        count(*) filter (where is_goal_tied) as count_goal_tied
    from due
    group by coalition_id, quarter
),

overdue as (
    select
        quarters.coalition_id,
        quarters.quarter,
        count(tasks.task_id) as count_due_before_as_of,
        count(tasks.task_id) filter (
            where tasks.completed_on is null or tasks.completed_on > quarters.as_of
        ) as overdue_open
    from quarters
    left join tasks on tasks.coalition_id = quarters.coalition_id and tasks.due_on < quarters.as_of
    group by quarters.coalition_id, quarters.quarter
),

declared as (
    select
        params.coalition_id,
        exists (select 1 from ref.workstreams where workstreams.coalition_id = params.coalition_id)
        or exists (select 1 from staging.stg_tasks as tasks
                   where tasks.coalition_id = params.coalition_id and tasks.goal_id is not null) as is_goal_tie_declared
    from ref.params as params
),

rated as (
    select
        quarters.coalition_id,
        quarters.quarter,
        quarters.seq,
        coalesce(due_counts.count_due, 0) as count_due,
        coalesce(due_counts.count_completed_by_end, 0) as count_completed_by_end,
        coalesce(due_counts.count_on_time, 0) as count_on_time,
        safe_ratio(due_counts.count_completed_by_end, due_counts.count_due) as task_completion_rate,
        safe_ratio(due_counts.count_on_time, due_counts.count_completed_by_end) as on_time_rate,
        overdue.count_due_before_as_of,
        overdue.overdue_open,
        coalesce(due_counts.raci_gaps, 0) as raci_gaps,
        declared.is_goal_tie_declared,
        case when declared.is_goal_tie_declared then coalesce(due_counts.count_goal_tied, 0) end as count_goal_tied,
        case when declared.is_goal_tie_declared
             then safe_ratio(due_counts.count_goal_tied, due_counts.count_due) end as goal_focus_share
    from quarters
    left join due_counts using (coalition_id, quarter)
    join overdue using (coalition_id, quarter)
    join declared using (coalition_id)
)

select * from rated
