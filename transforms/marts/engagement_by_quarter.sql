-- grain: one row per quarter
-- active_members = roster members present at least once at a counted meeting in the quarter;
-- engagement_rate = active / roster; retention_rate = members active last quarter who are active
-- this quarter / members active last quarter (null in the first quarter).
-- A quarter with no meeting of a counted kind up to its as_of measured no one: active_members,
-- engagement_rate and retention_rate are null ("no data") then, never 0.
with

counted_meetings as (
    select quarters.coalition_id, quarters.quarter, count(meetings.meeting_id) as count_counted_meetings
    from ref.quarters as quarters
    left join staging.stg_meetings as meetings
      on meetings.coalition_id = quarters.coalition_id
     and meetings.quarter = quarters.quarter
     and meetings.is_counted_kind
     and meetings.meeting_on <= quarters.as_of
    group by quarters.coalition_id, quarters.quarter
),

roster as (
    select coalition_id, quarter, seq, member_id from marts.roster_by_quarter
),

active as (
    select distinct coalition_id, quarter, member_id
    from marts.expected_attendance
    where status = 'present'
),

per_quarter as (
    select
        quarters.coalition_id,
        quarters.quarter,
        quarters.seq,
        count(roster.member_id) as count_roster,
        count(active.member_id) as active_members
    from ref.quarters as quarters
    left join roster on roster.coalition_id = quarters.coalition_id and roster.quarter = quarters.quarter
    left join active
      on active.coalition_id = roster.coalition_id and active.quarter = roster.quarter and active.member_id = roster.member_id
    group by quarters.coalition_id, quarters.quarter, quarters.seq
),

retention as (
    select
        this_q.coalition_id,
        this_q.quarter,
        count(before.member_id) as count_active_last_quarter,
        count(still.member_id) as count_retained
    from ref.quarters as this_q
    left join ref.quarters as last_q on last_q.coalition_id = this_q.coalition_id and last_q.seq = this_q.seq - 1
    left join active as before on before.coalition_id = last_q.coalition_id and before.quarter = last_q.quarter
    left join active as still
      on still.coalition_id = this_q.coalition_id and still.quarter = this_q.quarter and still.member_id = before.member_id
    group by this_q.coalition_id, this_q.quarter
),

rated as (
    select
        per_quarter.coalition_id,
        per_quarter.quarter,
        per_quarter.seq,
        per_quarter.count_roster,
        counted_meetings.count_counted_meetings,
        case when counted_meetings.count_counted_meetings > 0 then per_quarter.active_members end as active_members,
        case when counted_meetings.count_counted_meetings > 0
             then safe_ratio(per_quarter.active_members, per_quarter.count_roster) end as engagement_rate,
        retention.count_active_last_quarter,
        retention.count_retained,
        case when per_quarter.seq > 1 and counted_meetings.count_counted_meetings > 0
             then safe_ratio(retention.count_retained, retention.count_active_last_quarter) end as retention_rate
    from per_quarter
    join retention using (coalition_id, quarter)
    join counted_meetings using (coalition_id, quarter)
)

select * from rated
