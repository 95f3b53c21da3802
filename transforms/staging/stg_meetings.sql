-- grain: one row per meeting (accepted rows of the meetings tab)
with

source as (
    select * from raw.meetings
    where not is_blank
      and (coalition_id, sheet_row) not in (select (coalition_id, sheet_row) from quarantine.rows where tab = 'meetings')
),

renamed as (
    select
        coalition_id,
        trim(meeting_id) as meeting_id,
        cm_date(date) as meeting_on,
        fiscal_quarter(cm_date(date), params.fiscal_year_start_month) as quarter,
        cm_enum(kind) as kind,
        nullif(trim(committee), '') as committee,
        nullif(trim(facilitator_id), '') as facilitator_id,
        (coalition_id, cm_enum(kind)) in (select (coalition_id, kind) from ref.counted_kinds) as is_counted_kind,
        sheet_row
    from source
    join ref.params as params using (coalition_id)
)

select * from renamed
