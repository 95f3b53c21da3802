-- grain: one row per (quarter, source) with source 'tasks' (tasks owned: owner_id of the tasks due
-- in the quarter) or 'facilitation' (facilitator_id of the meetings held in the quarter up to
-- as_of); the per-member shares are marts.ownership_by_member. leadership_concentration = the
-- largest single member's share; ownership_hhi = the sum of the squared shares of every member;
-- single_champion_risk when the largest share exceeds [metrics] champion_share.
with

quarters as (
    select coalition_id, quarter, seq, start_on, end_on, as_of from ref.quarters
),

sources as (
    select unnest(['tasks', 'facilitation']) as source
),

shares as (
    select coalition_id, quarter, source, member_id, count_items, share from marts.ownership_by_member
),

summary as (
    select
        coalition_id,
        quarter,
        source,
        sum(count_items) as count_items,
        max(share) as leadership_concentration,
        -- the sum of the squared shares, summed as integers (sum of squared counts / squared total)
        -- so the figure does not depend on the order the rows are added in
        sum(count_items * count_items)::double / (sum(count_items) * sum(count_items)) as ownership_hhi,
        first(member_id order by share desc, member_id) as top_member_id
    from shares
    group by coalition_id, quarter, source
),

final as (
    select
        quarters.coalition_id,
        quarters.quarter,
        quarters.seq,
        sources.source,
        coalesce(summary.count_items, 0) as count_items,
        summary.leadership_concentration,
        summary.ownership_hhi,
        summary.top_member_id,
        case when summary.leadership_concentration is not null
             then summary.leadership_concentration > params.champion_share end
            as single_champion_risk
    from quarters
    join ref.params as params using (coalition_id)
    cross join sources
    left join summary
      on summary.coalition_id = quarters.coalition_id and summary.quarter = quarters.quarter
     and summary.source = sources.source
)

select * from final
