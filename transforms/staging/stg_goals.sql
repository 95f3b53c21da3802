-- grain: one row per goal (accepted rows of the goals tab); typed values from parsed.goals
with

source as (
    select raw.*, parsed.direction as direction__value, parsed.baseline as baseline__value,
           parsed.baseline_on as baseline_on__value, parsed.target as target__value,
           parsed.target_on as target_on__value
    from raw.goals as raw
    join parsed.goals as parsed using (coalition_id, sheet_row)
    where not raw.is_blank
      and not exists (
          select 1 from quarantine.rows as q
          where q.coalition_id = raw.coalition_id and q.tab = 'goals' and q.sheet_row = raw.sheet_row
      )
),

renamed as (
    select
        coalition_id,
        cm_trim(goal_id) as goal_id,
        cm_trim(statement) as statement,
        nullif(cm_trim(unit), '') as unit,
        direction__value as direction,
        baseline__value as baseline,
        baseline_on__value as baseline_on,
        target__value as target,
        target_on__value as target_on,
        sheet_row
    from source
)

select * from renamed
