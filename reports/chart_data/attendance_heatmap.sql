-- Chart "attendance heatmap": one row per (member, calendar month) for the 12 calendar months up
-- to the month of the report quarter's as_of ($quarter) (fewer when the coalition's first counted
-- meeting is later than the first of them), for every member whose membership
-- overlaps those months. Rates are over the member's expected attendances at counted meetings
-- (marts.expected_attendance), by the attendance_rate macro; count_expected = 0 means the member
-- was not expected at any counted meeting that month (not yet joined, left, or no meeting).
with

bounds as (
    select
        date_trunc('month', as_of) - interval 11 month as first_month,
        date_trunc('month', as_of) as last_month,
        as_of
    from ref.quarters
    where quarter = $quarter
),

-- no column for the months before the coalition's first counted meeting
months as (
    select month
    from (
        select unnest(generate_series(bounds.first_month, bounds.last_month, interval 1 month))::date as month
        from bounds
    )
    where month >= (select date_trunc('month', min(meeting_on))::date from marts.expected_attendance)
),

members as (
    select members.member_id, members.organization
    from staging.stg_members as members, bounds
    where members.joined_on <= bounds.as_of
      and (members.left_on is null or members.left_on >= bounds.first_month)
),

counts as (
    select
        expected.member_id,
        date_trunc('month', expected.meeting_on)::date as month,
        count(*) as count_expected,
        count(*) filter (where expected.status = 'present') as count_present,
        count(*) filter (where expected.status = 'absent') as count_absent,
        count(*) filter (where expected.status = 'excused') as count_excused
    from marts.expected_attendance as expected, bounds
    where expected.meeting_on between bounds.first_month and bounds.as_of
    group by all
),

meetings as (
    select date_trunc('month', meeting_on)::date as month, count(distinct meeting_id) as count_meetings
    from marts.expected_attendance, bounds
    where meeting_on between bounds.first_month and bounds.as_of
    group by all
)

select
    members.member_id,
    members.organization,
    months.month,
    coalesce(meetings.count_meetings, 0) as count_meetings,
    coalesce(counts.count_expected, 0) as count_expected,
    coalesce(counts.count_present, 0) as count_present,
    coalesce(counts.count_absent, 0) as count_absent,
    coalesce(counts.count_excused, 0) as count_excused,
    attendance_rate(counts.count_present, counts.count_absent) as attendance_rate
from members
cross join months
left join counts using (member_id, month)
left join meetings using (month)
order by members.organization, members.member_id, months.month
