-- grain: one row per (meeting, member) recorded in the attendance tab (long form: a sheet row;
-- grid form: a marked cell); status in either form is P/A/E, the words, TRUE/FALSE, yes/no or x
with

quarantined as (
    select coalition_id, sheet_row, "column", scope from quarantine.rows where tab = 'attendance'
),

source as (
    select * from raw.attendance a
    where not is_blank
      and (coalition_id, sheet_row) not in (select (coalition_id, sheet_row) from quarantined where scope = 'row')
      and not exists (
          select 1 from quarantined q
          where q.scope = 'cell' and q.coalition_id = a.coalition_id and q.sheet_row = a.sheet_row and q."column" = a.sheet_column
      )
),

renamed as (
    select
        coalition_id,
        trim(meeting_id) as meeting_id,
        trim(member_id) as member_id,
        -- both forms accept P/A/E, present/absent/excused, TRUE/FALSE, yes/no and x
        cm_attendance_mark(status) as status,
        ----------  lineage: the sheet row, and in grid form the meeting column of the cell
        sheet_row,
        sheet_column
    from source
)

select * from renamed
