-- grain: one row per (quarter, source, member) with source 'tasks' (owner_id of the tasks due in
-- the quarter) or 'facilitation' (facilitator_id of the meetings held in the quarter up to as_of);
-- share = the member's items / all items of that source in the quarter. leadership_by_quarter
-- summarizes these shares (largest share, HHI); the report's ownership chart draws them.
with

quarters as (
    select coalition_id, quarter, seq, start_on, end_on, as_of from ref.quarters
),

owned as (
    select quarters.coalition_id, quarters.quarter, 'tasks' as source, tasks.owner_id as member_id
    from quarters
    join staging.stg_tasks as tasks
      on tasks.coalition_id = quarters.coalition_id and tasks.due_on between quarters.start_on and quarters.end_on
    where tasks.owner_id is not null
    union all
    select quarters.coalition_id, quarters.quarter, 'facilitation' as source, meetings.facilitator_id as member_id
    from quarters
    join staging.stg_meetings as meetings
      on meetings.coalition_id = quarters.coalition_id and meetings.quarter = quarters.quarter and meetings.meeting_on <= quarters.as_of
    where meetings.facilitator_id is not null
),

per_member as (
    select coalition_id, quarter, source, member_id, count(*) as count_items
    from owned
    group by coalition_id, quarter, source, member_id
),

shares as (
    select
        per_member.coalition_id,
        per_member.quarter,
        quarters.seq,
        per_member.source,
        per_member.member_id,
        per_member.count_items,
        per_member.count_items
            / sum(per_member.count_items) over (partition by per_member.coalition_id, per_member.quarter, per_member.source) as share
    from per_member
    join quarters using (coalition_id, quarter)
)

select * from shares
