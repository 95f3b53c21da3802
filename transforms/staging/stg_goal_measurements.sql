-- grain: one row per goal measurement (accepted rows of the goal_measurements tab)
with

source as (
    select * from raw.goal_measurements
    where not is_blank
      and (coalition_id, sheet_row) not in (select (coalition_id, sheet_row) from quarantine.rows where tab = 'goal_measurements')
),

renamed as (
    select
        coalition_id,
        trim(goal_id) as goal_id,
        cm_date(measured_on) as measured_on,
        cm_number(value) as value,
        nullif(trim(note), '') as note,
        sheet_row
    from source
)

select * from renamed
