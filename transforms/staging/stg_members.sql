-- grain: one row per member (accepted rows of the members tab); typed values from parsed.members
-- (parsed once, by validation, with the coalition's own date format)
with

source as (
    select raw.*, parsed.size_tier as size_tier__value, parsed.role as role__value,
           parsed.joined_on as joined_on__value, parsed.left_on as left_on__value
    from raw.members as raw
    join parsed.members as parsed using (coalition_id, sheet_row)
    where not raw.is_blank
      and not exists (
          select 1 from quarantine.rows as q
          where q.coalition_id = raw.coalition_id and q.tab = 'members' and q.sheet_row = raw.sheet_row
      )
),

renamed as (
    select
        coalition_id,
        ----------  ids
        cm_trim(member_id) as member_id,
        ----------  text
        cm_trim(organization) as organization,
        nullif(cm_trim(sector), '') as sector,
        size_tier__value as size_tier,
        coalesce(role__value, 'member') as role,
        ----------  dates
        joined_on__value as joined_on,
        left_on__value as left_on,
        ----------  lineage
        sheet_row
    from source
)

select * from renamed
