-- grain: one row per member (accepted rows of the members tab)
with

source as (
    select * from raw.members
    where not is_blank
      and (coalition_id, sheet_row) not in (select (coalition_id, sheet_row) from quarantine.rows where tab = 'members')
),

renamed as (
    select
        coalition_id,
        ----------  ids
        trim(member_id) as member_id,
        ----------  text
        trim(organization) as organization,
        nullif(trim(sector), '') as sector,
        cm_enum(size_tier) as size_tier,
        coalesce(cm_enum(role), 'member') as role,
        ----------  dates
        cm_date(joined_on) as joined_on,
        cm_date(left_on) as left_on,
        ----------  lineage
        sheet_row
    from source
)

select * from renamed
