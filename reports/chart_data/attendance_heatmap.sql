-- Chart "attendance heatmap": one row per (member, calendar month) for the 12 calendar months up
-- to the month of the report quarter's as_of (fewer when the coalition's first counted meeting is
-- later than the first of them), for every member whose membership overlaps those months. Rates
-- are over the member's expected attendances at counted meetings (marts.expected_attendance), by
-- the attendance_rate macro; count_expected = 0 means the member was not expected at any counted
-- meeting that month (not yet joined, left, or no meeting). For each coalition of `scope` (its
-- report quarter: scope.quarter); every join is on coalition_id (keyed_reads.py).
with

bounds as (
    select
        quarters.coalition_id,
        date_trunc('month', quarters.as_of) - interval 11 month as first_month,
        date_trunc('month', quarters.as_of) as last_month,
        quarters.as_of
    from ref.quarters as quarters
    join scope on scope.coalition_id = quarters.coalition_id and scope.quarter = quarters.quarter
),

first_meeting as (
    select expected.coalition_id, date_trunc('month', min(expected.meeting_on))::date as month
    from marts.expected_attendance as expected
    join bounds on bounds.coalition_id = expected.coalition_id
    group by expected.coalition_id
),

-- no column for the months before the coalition's first counted meeting (none without a meeting)
months as (
    select every_month.coalition_id, every_month.month
    from (
        select
            bounds.coalition_id,
            unnest(generate_series(bounds.first_month, bounds.last_month, interval 1 month))::date as month
        from bounds
    ) as every_month
    join first_meeting on first_meeting.coalition_id = every_month.coalition_id
    where every_month.month >= first_meeting.month
),

members as (
    select members.coalition_id, members.member_id, members.organization
    from staging.stg_members as members
    join bounds on bounds.coalition_id = members.coalition_id
    where members.joined_on <= bounds.as_of
      and (members.left_on is null or members.left_on >= bounds.first_month)
),

counts as (
    select
        expected.coalition_id,
        expected.member_id,
        date_trunc('month', expected.meeting_on)::date as month,
        count(*) as count_expected,
        count(*) filter (where expected.status = 'present') as count_present,
        count(*) filter (where expected.status = 'absent') as count_absent,
        count(*) filter (where expected.status = 'excused') as count_excused
    from marts.expected_attendance as expected
    join bounds on bounds.coalition_id = expected.coalition_id
    where expected.meeting_on between bounds.first_month and bounds.as_of
    group by all
),

meetings as (
    select
        expected.coalition_id,
        date_trunc('month', expected.meeting_on)::date as month,
        count(distinct expected.meeting_id) as count_meetings
    from marts.expected_attendance as expected
    join bounds on bounds.coalition_id = expected.coalition_id
    where expected.meeting_on between bounds.first_month and bounds.as_of
    group by all
)

select
    members.coalition_id,
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
join months on months.coalition_id = members.coalition_id
left join counts
  on counts.coalition_id = members.coalition_id and counts.member_id = members.member_id
 and counts.month = months.month
left join meetings on meetings.coalition_id = members.coalition_id and meetings.month = months.month
order by members.coalition_id, members.organization, members.member_id, months.month
