-- grain: one row per milestone (accepted rows of the milestones tab)
with

source as (
    select * from raw.milestones
    where not is_blank
      and (coalition_id, sheet_row) not in (select (coalition_id, sheet_row) from quarantine.rows where tab = 'milestones')
),

renamed as (
    select
        coalition_id,
        cm_date(date) as milestone_on,
        fiscal_quarter(cm_date(date), params.fiscal_year_start_month) as quarter,
        cm_enum(kind) as kind,
        trim(description) as description,
        nullif(trim(member_ids), '') as member_ids,
        sheet_row
    from source
    join ref.params as params using (coalition_id)
)

select * from renamed
