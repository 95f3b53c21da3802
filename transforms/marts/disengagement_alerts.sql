-- grain: one row per (quarter, member, reason)
-- A member on the roster at the quarter's as_of is flagged when
--   attendance_drop: their attendance rate fell by >= [metrics] alert_drop from last quarter, or
--   absent_streak:   they were absent from their last alert_absences expected meetings up to as_of
--                    (excused meetings are skipped; the streak may start in an earlier quarter).
with

params as (
    select coalition_id, alert_drop, alert_absences from ref.params
),

quarters as (
    select coalition_id, quarter, seq, as_of from ref.quarters
),

on_roster as (
    select quarters.coalition_id, quarters.quarter, quarters.seq, quarters.as_of, members.member_id
    from quarters
    join staging.stg_members as members
      on members.coalition_id = quarters.coalition_id
     and members.joined_on <= quarters.as_of
     and (members.left_on is null or members.left_on >= quarters.as_of)
),

rates as (
    select coalition_id, quarter, seq, member_id, attendance_rate from marts.attendance_by_member
),

drops as (
    select
        this_q.coalition_id,
        this_q.quarter,
        this_q.member_id,
        'attendance_drop' as reason,
        format('attendance fell from {:.0f}% to {:.0f}%', 100 * last_q.attendance_rate,
               100 * this_q.attendance_rate) as detail
    from rates as this_q
    join rates as last_q
      on last_q.coalition_id = this_q.coalition_id and last_q.member_id = this_q.member_id and last_q.seq = this_q.seq - 1
    join on_roster
      on on_roster.coalition_id = this_q.coalition_id and on_roster.quarter = this_q.quarter
     and on_roster.member_id = this_q.member_id
    join params on params.coalition_id = this_q.coalition_id
    where this_q.attendance_rate <= last_q.attendance_rate - params.alert_drop + 1e-9
),

meetings as (
    -- each member's non-excused expected meetings in order (meeting_on, meeting_id), one window
    -- pass: whether the last alert_absences of them up to this one were all missed, and since when
    -- (the frame's length is the coalition's own alert_absences, a column of each row)
    select
        expected.coalition_id,
        expected.member_id,
        expected.meeting_on,
        lead(expected.meeting_on) over by_member as next_on,
        count(*) filter (where expected.status = 'absent') over last_n = params.alert_absences as ends_streak,
        min(expected.meeting_on) over last_n as streak_since
    from marts.expected_attendance as expected
    join params on params.coalition_id = expected.coalition_id
    where expected.status <> 'excused'
    window by_member as (partition by expected.coalition_id, expected.member_id
                         order by expected.meeting_on, expected.meeting_id),
           last_n as (by_member rows between params.alert_absences - 1 preceding and current row)
),

last_of_day as (
    -- a member's last meeting of each date, so "the last meeting up to as_of" is one row
    select coalition_id, member_id, meeting_on, ends_streak, streak_since
    from meetings
    where next_on is null or next_on > meeting_on
),

streaks as (
    -- each (quarter, member on the roster) with their last non-excused expected meeting up to as_of
    select
        on_roster.coalition_id,
        on_roster.quarter,
        on_roster.member_id,
        'absent_streak' as reason,
        format('absent from the last {} expected meetings (since {})', params.alert_absences,
               last_of_day.streak_since) as detail
    from on_roster
    asof join last_of_day
      on last_of_day.coalition_id = on_roster.coalition_id
     and last_of_day.member_id = on_roster.member_id
     and last_of_day.meeting_on <= on_roster.as_of
    join params on params.coalition_id = on_roster.coalition_id
    where last_of_day.ends_streak
),

alerts as (
    select * from drops
    union all
    select * from streaks
)

select * from alerts
