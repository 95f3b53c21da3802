-- grain: one row per goal (accepted rows of the goals tab)
with

source as (
    select * from raw.goals
    where not is_blank
      and (coalition_id, sheet_row) not in (select (coalition_id, sheet_row) from quarantine.rows where tab = 'goals')
),

renamed as (
    select
        coalition_id,
        trim(goal_id) as goal_id,
        trim(statement) as statement,
        nullif(trim(unit), '') as unit,
        cm_enum(direction) as direction,
        cm_number(baseline) as baseline,
        cm_date(baseline_on) as baseline_on,
        cm_number(target) as target,
        cm_date(target_on) as target_on,
        sheet_row
    from source
)

select * from renamed
