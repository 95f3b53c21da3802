-- grain: one row per quarter
-- active_members = roster members present at least once at a counted meeting in the quarter;
-- engagement_rate = active / roster; retention_rate = members active last quarter who are active
-- this quarter / members active last quarter (null in the first quarter).
with

roster as (
    select quarter, seq, member_id from marts.roster_by_quarter
),

active as (
    select distinct quarter, member_id
    from marts.expected_attendance
    where status = 'present'
),

per_quarter as (
    select
        quarters.quarter,
        quarters.seq,
        count(roster.member_id) as count_roster,
        count(active.member_id) as active_members
    from ref.quarters as quarters
    left join roster on roster.quarter = quarters.quarter
    left join active on active.quarter = roster.quarter and active.member_id = roster.member_id
    group by quarters.quarter, quarters.seq
),

retention as (
    select
        this_q.quarter,
        count(before.member_id) as count_active_last_quarter,
        count(still.member_id) as count_retained
    from ref.quarters as this_q
    left join ref.quarters as last_q on last_q.seq = this_q.seq - 1
    left join active as before on before.quarter = last_q.quarter
    left join active as still on still.quarter = this_q.quarter and still.member_id = before.member_id
    group by this_q.quarter
),

rated as (
    select
        per_quarter.*,
        safe_ratio(active_members, count_roster) as engagement_rate,
        retention.count_active_last_quarter,
        retention.count_retained,
        case when per_quarter.seq > 1
             then safe_ratio(retention.count_retained, retention.count_active_last_quarter) end as retention_rate
    from per_quarter
    join retention using (quarter)
)

select * from rated
