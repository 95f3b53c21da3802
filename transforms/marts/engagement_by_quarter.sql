-- grain: one row per quarter
-- active_members = roster members present at least once at a counted meeting in the quarter;
-- engagement_rate = active / roster.
with

roster as (
    select quarter, seq, member_id from marts.roster_by_quarter
),

present as (
    select distinct quarter, member_id
    from marts.expected_attendance
    where status = 'present'
),

per_quarter as (
    select
        quarters.quarter,
        quarters.seq,
        count(roster.member_id) as count_roster,
        count(present.member_id) as active_members
    from ref.quarters as quarters
    left join roster on roster.quarter = quarters.quarter
    left join present on present.quarter = roster.quarter and present.member_id = roster.member_id
    group by quarters.quarter, quarters.seq
),

rated as (
    select *, safe_ratio(active_members, count_roster) as engagement_rate
    from per_quarter
)

select * from rated
