-- grain: one row per (quarter, member, reason)
-- A member on the roster at the quarter's as_of is flagged when
--   attendance_drop: their attendance rate fell by >= [metrics] alert_drop from last quarter, or
--   absent_streak:   they were absent from their last alert_absences expected meetings up to as_of
--                    (excused meetings are skipped; the streak may start in an earlier quarter).
with

params as (
    select alert_drop, alert_absences from ref.params
),

quarters as (
    select quarter, seq, as_of from ref.quarters
),

on_roster as (
    select quarters.quarter, quarters.seq, quarters.as_of, members.member_id
    from quarters
    join staging.stg_members as members
      on members.joined_on <= quarters.as_of
     and (members.left_on is null or members.left_on >= quarters.as_of)
),

rates as (
    select quarter, seq, member_id, attendance_rate from marts.attendance_by_member
),

drops as (
    select
        this_q.quarter,
        this_q.member_id,
        'attendance_drop' as reason,
        format('attendance fell from {:.0f}% to {:.0f}%', 100 * last_q.attendance_rate,
               100 * this_q.attendance_rate) as detail
    from rates as this_q
    join rates as last_q on last_q.member_id = this_q.member_id and last_q.seq = this_q.seq - 1
    join on_roster on on_roster.quarter = this_q.quarter and on_roster.member_id = this_q.member_id
    where this_q.attendance_rate <= last_q.attendance_rate - (select alert_drop from params) + 1e-9
),

meetings as (
    -- each member's non-excused expected meetings in order (meeting_on, meeting_id), one window
    -- pass: whether the last alert_absences of them up to this one were all missed, and since when
    select
        member_id,
        meeting_on,
        lead(meeting_on) over by_member as next_on,
        count(*) filter (where status = 'absent') over last_n = (select alert_absences from params) as ends_streak,
        min(meeting_on) over last_n as streak_since
    from marts.expected_attendance
    where status <> 'excused'
    window by_member as (partition by member_id order by meeting_on, meeting_id),
           last_n as (by_member rows between (select alert_absences from params) - 1 preceding and current row)
),

last_of_day as (
    -- a member's last meeting of each date, so "the last meeting up to as_of" is one row
    select member_id, meeting_on, ends_streak, streak_since
    from meetings
    where next_on is null or next_on > meeting_on
),

streaks as (
    -- each (quarter, member on the roster) with their last non-excused expected meeting up to as_of
    select
        on_roster.quarter,
        on_roster.member_id,
        'absent_streak' as reason,
        format('absent from the last {} expected meetings (since {})', params.alert_absences,
               last_of_day.streak_since) as detail
    from on_roster
    asof join last_of_day
      on last_of_day.member_id = on_roster.member_id
     and last_of_day.meeting_on <= on_roster.as_of
    cross join params
    where last_of_day.ends_streak
),

alerts as (
    select * from drops
    union all
    select * from streaks
)

select * from alerts
