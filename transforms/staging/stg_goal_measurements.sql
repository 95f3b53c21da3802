-- grain: one row per goal measurement (accepted rows of the goal_measurements tab); typed values
-- from parsed.goal_measurements
with

source as (
    select raw.*, parsed.measured_on as measured_on__value, parsed."value" as value__value
    from raw.goal_measurements as raw
    join parsed.goal_measurements as parsed using (coalition_id, sheet_row)
    where not raw.is_blank
      and not exists (
          select 1 from quarantine.rows as q
          where q.coalition_id = raw.coalition_id and q.tab = 'goal_measurements' and q.sheet_row = raw.sheet_row
      )
),

renamed as (
    select
        coalition_id,
        cm_trim(goal_id) as goal_id,
        measured_on__value as measured_on,
        value__value as "value",
        nullif(cm_trim(note), '') as note,
        sheet_row
    from source
)

select * from renamed
