-- grain: one row per quarter
-- attendance_rate = present / (present + absent) over expected attendances at counted meetings;
-- excused is left out of numerator and denominator.
with

quarters as (
    select coalition_id, quarter, seq from ref.quarters
),

counts as (
    select
        coalition_id,
        quarter,
        count(distinct meeting_id) as count_meetings,
        count(*) filter (where status = 'present') as count_present,
        count(*) filter (where status = 'absent') as count_absent,
        count(*) filter (where status = 'excused') as count_excused
    from marts.expected_attendance
    group by coalition_id, quarter
),

rated as (
    select
        quarters.coalition_id,
        quarters.quarter,
        quarters.seq,
        coalesce(counts.count_meetings, 0) as count_meetings,
        coalesce(counts.count_present, 0) as count_present,
        coalesce(counts.count_absent, 0) as count_absent,
        coalesce(counts.count_excused, 0) as count_excused,
        attendance_rate(counts.count_present, counts.count_absent) as attendance_rate
    from quarters
    left join counts using (coalition_id, quarter)
)

select * from rated
