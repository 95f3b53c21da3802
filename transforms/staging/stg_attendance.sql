-- grain: one row per (meeting, member) recorded in the attendance tab
with

source as (
    select * from raw.attendance
    where not is_blank
      and sheet_row not in (select sheet_row from quarantine.rows where tab = 'attendance')
),

renamed as (
    select
        trim(meeting_id) as meeting_id,
        trim(member_id) as member_id,
        cm_enum(status) as status,
        sheet_row
    from source
)

select * from renamed
