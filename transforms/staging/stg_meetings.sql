-- grain: one row per meeting (accepted rows of the meetings tab)
with

source as (
    select * from raw.meetings
    where not is_blank
      and sheet_row not in (select sheet_row from quarantine.rows where tab = 'meetings')
),

renamed as (
    select
        trim(meeting_id) as meeting_id,
        cm_date(date) as meeting_on,
        cm_quarter(cm_date(date)) as quarter,
        cm_enum(kind) as kind,
        nullif(trim(committee), '') as committee,
        nullif(trim(facilitator_id), '') as facilitator_id,
        cm_enum(kind) in (select kind from ref.counted_kinds) as is_counted_kind,
        sheet_row
    from source
)

select * from renamed
