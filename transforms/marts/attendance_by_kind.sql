-- grain: one row per (quarter, counted meeting kind)
-- attendance_rate[kind] = present / (present + absent) over expected attendances at meetings of
-- that kind; excused left out of numerator and denominator.
with

grid as (
    select quarters.coalition_id, quarters.quarter, quarters.seq, kinds.kind
    from ref.quarters as quarters
    join ref.counted_kinds as kinds using (coalition_id)
),

counts as (
    select
        coalition_id,
        quarter,
        kind,
        count(*) filter (where status = 'present') as count_present,
        count(*) filter (where status = 'absent') as count_absent,
        count(*) filter (where status = 'excused') as count_excused
    from marts.expected_attendance
    group by coalition_id, quarter, kind
),

rated as (
    select
        grid.coalition_id,
        grid.quarter,
        grid.seq,
        grid.kind,
        coalesce(counts.count_present, 0) as count_present,
        coalesce(counts.count_absent, 0) as count_absent,
        coalesce(counts.count_excused, 0) as count_excused,
        attendance_rate(counts.count_present, counts.count_absent) as attendance_rate
    from grid
    left join counts using (coalition_id, quarter, kind)
)

select * from rated
