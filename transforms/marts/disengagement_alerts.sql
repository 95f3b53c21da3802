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

recent as (
    select
        on_roster.coalition_id,
        on_roster.quarter,
        on_roster.member_id,
        expected.meeting_id,
        expected.meeting_on,
        expected.status,
        row_number() over (
            partition by on_roster.coalition_id, on_roster.quarter, on_roster.member_id
            order by expected.meeting_on desc, expected.meeting_id desc
        ) as recency
    from on_roster
    join marts.expected_attendance as expected
      on expected.coalition_id = on_roster.coalition_id
     and expected.member_id = on_roster.member_id
     and expected.meeting_on <= on_roster.as_of
     and expected.status <> 'excused'
),

streaks as (
    select
        recent.coalition_id,
        quarter,
        member_id,
        'absent_streak' as reason,
        format('absent from the last {} expected meetings (since {})', count(*), min(meeting_on)) as detail
    from recent
    join params on params.coalition_id = recent.coalition_id
    where recency <= params.alert_absences
    group by recent.coalition_id, quarter, member_id, params.alert_absences
    having count(*) = params.alert_absences
       and count(*) filter (where status = 'absent') = count(*)
),

alerts as (
    select * from drops
    union all
    select * from streaks
)

select * from alerts
