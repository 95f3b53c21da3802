-- grain: one row per (quarter, milestone kind)
-- milestones[kind] = milestones of that kind dated in the quarter up to its as_of;
-- quick_win_in_first_quarter = a quick_win dated within 3 months of the earliest member joined_on,
-- on or before the quarter's as_of (the same for every kind of a quarter).
with

quarters as (
    select coalition_id, quarter, seq, start_on, as_of from ref.quarters
),

kinds as (
    select value as kind from ref.enum_values where enum = 'milestone_kind'
),

milestones as (
    select * from staging.stg_milestones
),

counts as (
    select quarters.coalition_id, quarters.quarter, milestones.kind, count(*) as milestones
    from quarters
    join milestones
      on milestones.coalition_id = quarters.coalition_id
     and milestones.milestone_on between quarters.start_on and quarters.as_of
    group by quarters.coalition_id, quarters.quarter, milestones.kind
),

first_join as (
    select coalition_id, min(joined_on) as first_joined_on from staging.stg_members group by coalition_id
),

quick_win as (
    select
        quarters.coalition_id,
        quarters.quarter,
        count(milestones.kind) > 0 as quick_win_in_first_quarter
    from quarters
    left join first_join using (coalition_id)
    left join milestones
      on milestones.coalition_id = quarters.coalition_id
     and milestones.kind = 'quick_win'
     and milestones.milestone_on between first_join.first_joined_on
                                     and first_join.first_joined_on + interval 3 month
     and milestones.milestone_on <= quarters.as_of
    group by quarters.coalition_id, quarters.quarter
),

final as (
    select
        quarters.coalition_id,
        quarters.quarter,
        quarters.seq,
        kinds.kind,
        coalesce(counts.milestones, 0) as milestones,
        quick_win.quick_win_in_first_quarter
    from quarters
    cross join kinds
    left join counts
      on counts.coalition_id = quarters.coalition_id and counts.quarter = quarters.quarter and counts.kind = kinds.kind
    join quick_win on quick_win.coalition_id = quarters.coalition_id and quick_win.quarter = quarters.quarter
)

select * from final
