-- grain: one row per (meeting of a counted kind held up to the quarter's as_of, member on the
-- roster on the meeting date). A member expected but with no attendance row counts as absent.
with

quarters as (
    select coalition_id, quarter, as_of from ref.quarters
),

meetings as (
    select meetings.*
    from staging.stg_meetings as meetings
    join quarters using (coalition_id, quarter)
    where meetings.is_counted_kind
      and meetings.meeting_on <= quarters.as_of
),

members as (
    select * from staging.stg_members
),

attendance as (
    select * from staging.stg_attendance
),

expected as (
    select
        meetings.coalition_id,
        meetings.quarter,
        meetings.meeting_id,
        meetings.meeting_on,
        meetings.kind,
        members.member_id,
        coalesce(attendance.status, 'absent') as status,
        attendance.meeting_id is null as is_missing_row,
        ----------  lineage (transforms/lineage/): the rows this expected attendance rests on
        meetings.sheet_row as meeting_sheet_row,
        attendance.sheet_row as attendance_sheet_row,
        attendance.sheet_column as attendance_sheet_column
    from meetings
    join members
      on members.coalition_id = meetings.coalition_id
     and members.joined_on <= meetings.meeting_on
     and (members.left_on is null or members.left_on >= meetings.meeting_on)
    left join attendance
      on attendance.coalition_id = meetings.coalition_id
     and attendance.meeting_id = meetings.meeting_id
     and attendance.member_id = members.member_id
)

select * from expected
