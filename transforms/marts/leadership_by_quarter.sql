-- grain: one row per (quarter, source) with source 'tasks' (tasks owned: owner_id of the tasks due
-- in the quarter) or 'facilitation' (facilitator_id of the meetings held in the quarter up to
-- as_of). leadership_concentration = the largest single member's share; ownership_hhi = the sum of
-- the squared shares of every member; single_champion_risk when the largest share exceeds
-- [metrics] champion_share.
with

quarters as (
    select quarter, seq, start_on, end_on, as_of from ref.quarters
),

sources as (
    select unnest(['tasks', 'facilitation']) as source
),

owned as (
    select quarters.quarter, 'tasks' as source, tasks.owner_id as member_id
    from quarters
    join staging.stg_tasks as tasks on tasks.due_on between quarters.start_on and quarters.end_on
    where tasks.owner_id is not null
    union all
    select quarters.quarter, 'facilitation' as source, meetings.facilitator_id as member_id
    from quarters
    join staging.stg_meetings as meetings
      on meetings.quarter = quarters.quarter and meetings.meeting_on <= quarters.as_of
    where meetings.facilitator_id is not null
),

per_member as (
    select quarter, source, member_id, count(*) as count_items
    from owned
    group by quarter, source, member_id
),

shares as (
    select
        *,
        count_items / sum(count_items) over (partition by quarter, source) as share
    from per_member
),

summary as (
    select
        quarter,
        source,
        sum(count_items) as count_items,
        max(share) as leadership_concentration,
        sum(share * share) as ownership_hhi,
        first(member_id order by share desc, member_id) as top_member_id
    from shares
    group by quarter, source
),

final as (
    select
        quarters.quarter,
        quarters.seq,
        sources.source,
        coalesce(summary.count_items, 0) as count_items,
        summary.leadership_concentration,
        summary.ownership_hhi,
        summary.top_member_id,
        case when summary.leadership_concentration is not null
             then summary.leadership_concentration > (select champion_share from ref.params) end
            as single_champion_risk
    from quarters
    cross join sources
    left join summary on summary.quarter = quarters.quarter and summary.source = sources.source
)

select * from final
