-- grain: one row per (quarter, member on the roster of the quarter)
-- member attendance rate = present / (present + absent) over the member's expected attendances at
-- counted meetings; null when the member was expected at none (or excused from all).
with

roster as (
    select coalition_id, quarter, seq, member_id from marts.roster_by_quarter
),

counts as (
    select
        coalition_id,
        quarter,
        member_id,
        count(*) filter (where status = 'present') as count_present,
        count(*) filter (where status = 'absent') as count_absent,
        count(*) filter (where status = 'excused') as count_excused
    from marts.expected_attendance
    group by coalition_id, quarter, member_id
),

rated as (
    select
        roster.coalition_id,
        roster.quarter,
        roster.seq,
        roster.member_id,
        coalesce(counts.count_present, 0) as count_present,
        coalesce(counts.count_absent, 0) as count_absent,
        coalesce(counts.count_excused, 0) as count_excused,
        attendance_rate(counts.count_present, counts.count_absent) as attendance_rate
    from roster
    left join counts using (coalition_id, quarter, member_id)
)

select * from rated
