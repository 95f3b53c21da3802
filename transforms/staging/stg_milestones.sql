-- grain: one row per milestone (accepted rows of the milestones tab)
with

source as (
    select * from raw.milestones
    where not is_blank
      and sheet_row not in (select sheet_row from quarantine.rows where tab = 'milestones')
),

renamed as (
    select
        cm_date(date) as milestone_on,
        cm_quarter(cm_date(date)) as quarter,
        cm_enum(kind) as kind,
        trim(description) as description,
        nullif(trim(member_ids), '') as member_ids,
        sheet_row
    from source
)

select * from renamed
