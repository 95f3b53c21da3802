-- grain: one row per (quarter, member on the roster of that quarter)
-- roster: joined_on <= quarter end and (left_on empty or left_on >= quarter start)
with

quarters as (
    select * from ref.quarters
),

members as (
    select * from staging.stg_members
),

joined as (
    select
        quarters.coalition_id,
        quarters.quarter,
        quarters.seq,
        members.member_id,
        members.organization,
        members.size_tier,
        members.sheet_row
    from quarters
    join members
      on members.coalition_id = quarters.coalition_id
     and members.joined_on <= quarters.end_on
     and (members.left_on is null or members.left_on >= quarters.start_on)
)

select * from joined
