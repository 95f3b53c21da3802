-- grain: one row per (quarter, attendance record) plus one per expected attendance with no record.
-- A record is a sheet row (long form) or a marked cell (grid form, sheet_column the meeting
-- column). A record counts in a quarter exactly when marts.expected_attendance counts it (matched by
-- its sheet row and cell): role present or absent; excused is left out. A member expected at a
-- meeting with no record counts as absent: that line points at the meeting's row of the meetings
-- tab (role 'absent (no attendance row)'). Every other record is listed with why it does not count.
-- The figures' lineage (attendance.sql, engagement.sql) selects from this table.
with

quarters as (
    select coalition_id, quarter, as_of from ref.quarters
),

records as (
    select
        raw.coalition_id,
        raw.sheet_row,
        raw.sheet_column,
        raw.is_blank,
        cm_trim(raw.meeting_id) as meeting_id,
        cm_trim(raw.member_id) as member_id,
        coalesce(row_q.reason, cell_q.reason) as quarantine_reason
    from raw.attendance as raw
    left join lineage.quarantined as row_q
      on row_q.coalition_id = raw.coalition_id and row_q.tab = 'attendance' and row_q.sheet_row = raw.sheet_row and row_q.sheet_column is null
    left join lineage.quarantined as cell_q
      on cell_q.coalition_id = raw.coalition_id and cell_q.tab = 'attendance' and cell_q.sheet_row = raw.sheet_row and cell_q.sheet_column = raw.sheet_column
),

meetings as (
    select coalition_id, meeting_id, meeting_on, quarter, kind, is_counted_kind from staging.stg_meetings
),

members as (
    select coalition_id, member_id, joined_on, left_on from staging.stg_members
),

expected as (
    select * from marts.expected_attendance
),

classified as (
    select
        quarters.coalition_id,
        quarters.quarter,
        'attendance' as tab,
        records.sheet_row,
        records.sheet_column,
        records.meeting_id,
        records.member_id,
        meetings.kind,
        meetings.meeting_on,
        expected.status,
        case
            when records.is_blank then 'blank row'
            when meetings.quarter is not null and meetings.quarter <> quarters.quarter
                then 'outside the quarter (meeting ' || records.meeting_id || ' on ' || meetings.meeting_on || ')'
            when records.quarantine_reason is not null then records.quarantine_reason
            when meetings.meeting_id is null
                then 'meeting not an accepted row of the meetings tab (' || coalesce(records.meeting_id, 'blank') || ')'
            when expected.status = 'excused' then 'excused'
            when expected.status is not null then null
            when meetings.meeting_on > quarters.as_of then 'after as_of (meeting on ' || meetings.meeting_on || ')'
            when not meetings.is_counted_kind then 'not a counted kind (' || meetings.kind || ')'
            when members.member_id is null
                then 'member not an accepted row of the members tab (' || coalesce(records.member_id, 'blank') || ')'
            when members.joined_on > meetings.meeting_on
                then 'not on the roster on the meeting date (' || meetings.meeting_on || '; joined ' || members.joined_on || ')'
            when members.left_on < meetings.meeting_on
                then 'not on the roster on the meeting date (' || meetings.meeting_on || '; left ' || members.left_on || ')'
            else 'not an expected attendance'
        end as reason
    from quarters
    join records using (coalition_id)
    left join meetings on meetings.coalition_id = records.coalition_id and meetings.meeting_id = records.meeting_id
    left join members on members.coalition_id = records.coalition_id and members.member_id = records.member_id
    left join expected
      on expected.coalition_id = quarters.coalition_id
     and expected.quarter = quarters.quarter
     and expected.attendance_sheet_row = records.sheet_row
     and expected.attendance_sheet_column is not distinct from records.sheet_column
),

no_record as (
    -- expected, no attendance row: absent (the meeting's row is the evidence)
    select
        coalition_id,
        quarter,
        'meetings' as tab,
        meeting_sheet_row as sheet_row,
        null::varchar as sheet_column,
        meeting_id,
        member_id,
        kind,
        meeting_on,
        status,
        null::varchar as reason
    from expected
    where is_missing_row
),

final as (
    select
        *,
        reason is null as included,
        case when reason is null
             then case when tab = 'meetings' then 'absent (no attendance row)' else status end
        end as role
    from (select * from classified union all select * from no_record)
)

select * from final
