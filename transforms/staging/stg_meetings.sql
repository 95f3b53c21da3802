-- grain: one row per meeting (accepted rows of the meetings tab); typed values from parsed.meetings
with

source as (
    select raw.*, parsed."date" as meeting_on, parsed.kind as kind__value
    from raw.meetings as raw
    join parsed.meetings as parsed using (coalition_id, sheet_row)
    where not raw.is_blank
      and not exists (
          select 1 from quarantine.rows as q
          where q.coalition_id = raw.coalition_id and q.tab = 'meetings' and q.sheet_row = raw.sheet_row
      )
),

renamed as (
    select
        coalition_id,
        cm_trim(meeting_id) as meeting_id,
        meeting_on,
        fiscal_quarter(meeting_on, params.fiscal_year_start_month) as quarter,
        kind__value as kind,
        nullif(cm_trim(committee), '') as committee,
        nullif(cm_trim(facilitator_id), '') as facilitator_id,
        (coalition_id, kind__value) in (select (coalition_id, kind) from ref.counted_kinds) as is_counted_kind,
        sheet_row
    from source
    join ref.params as params using (coalition_id)
)

select * from renamed
