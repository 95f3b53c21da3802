-- grain: one row per milestone (accepted rows of the milestones tab); typed values from parsed.milestones
with

source as (
    select raw.*, parsed."date" as milestone_on, parsed.kind as kind__value
    from raw.milestones as raw
    join parsed.milestones as parsed using (coalition_id, sheet_row)
    where not raw.is_blank
      and not exists (
          select 1 from quarantine.rows as q
          where q.coalition_id = raw.coalition_id and q.tab = 'milestones' and q.sheet_row = raw.sheet_row
      )
),

renamed as (
    select
        coalition_id,
        milestone_on,
        fiscal_quarter(milestone_on, params.fiscal_year_start_month) as quarter,
        kind__value as kind,
        cm_trim(description) as description,
        nullif(cm_trim(member_ids), '') as member_ids,
        sheet_row
    from source
    join ref.params as params using (coalition_id)
)

select * from renamed
