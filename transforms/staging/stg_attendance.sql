-- grain: one row per (meeting, member) recorded in the attendance tab (long form: a sheet row;
-- grid form: a marked cell); status in either form is P/A/E, the words, TRUE/FALSE, yes/no or x,
-- read once by validation (parsed.attendance.status: present/absent/excused)
with

quarantined as (
    select coalition_id, sheet_row, "column", scope from quarantine.rows where tab = 'attendance'
),

source as (
    select a.*, parsed.status as status__value
    from raw.attendance a
    join parsed.attendance as parsed
      on parsed.coalition_id = a.coalition_id and parsed.sheet_row = a.sheet_row
     and parsed.sheet_column is not distinct from a.sheet_column
    where not a.is_blank
      and not exists (
          select 1 from quarantined q
          where q.scope = 'row' and q.coalition_id = a.coalition_id and q.sheet_row = a.sheet_row
      )
      and not exists (
          select 1 from quarantined q
          where q.scope = 'cell' and q.coalition_id = a.coalition_id and q.sheet_row = a.sheet_row
            and q."column" = a.sheet_column
      )
),

renamed as (
    select
        coalition_id,
        cm_trim(meeting_id) as meeting_id,
        cm_trim(member_id) as member_id,
        -- both forms accept P/A/E, present/absent/excused, TRUE/FALSE, yes/no and x
        status__value as status,
        ----------  lineage: the sheet row, and in grid form the meeting column of the cell
        sheet_row,
        sheet_column
    from source
)

select * from renamed
