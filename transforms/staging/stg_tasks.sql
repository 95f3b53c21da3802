-- grain: one row per task (accepted rows of the tasks tab); typed values from parsed.tasks
-- tied_goal_id: the goal the task serves: its own goal_id when filled in (it wins), else the goal
-- its workstream is mapped to in [workstreams] (ref.workstreams, matched by the workstream's key as
-- enumerations are: trimmed, case-folded, spaces, hyphens and underscores alike; parsed.tasks.workstream_key);
-- null when neither ties it to a goal (no goal_id, a workstream mapped to "", not in [workstreams], or blank).
with

source as (
    select raw.*, parsed.workstream_key, parsed.created_on as created_on__value,
           parsed.due_on as due_on__value, parsed.completed_on as completed_on__value
    from raw.tasks as raw
    join parsed.tasks as parsed using (coalition_id, sheet_row)
    where not raw.is_blank
      and not exists (
          select 1 from quarantine.rows as q
          where q.coalition_id = raw.coalition_id and q.tab = 'tasks' and q.sheet_row = raw.sheet_row
      )
),

renamed as (
    select
        coalition_id,
        ----------  ids
        cm_trim(task_id) as task_id,
        nullif(cm_trim(owner_id), '') as owner_id,
        nullif(cm_trim(accountable_id), '') as accountable_id,
        nullif(cm_trim(goal_id), '') as goal_id,
        ----------  text
        cm_trim(title) as title,
        nullif(cm_trim(workstream), '') as workstream,
        workstream_key,
        nullif(cm_trim(status), '') as status,
        ----------  dates
        created_on__value as created_on,
        due_on__value as due_on,
        completed_on__value as completed_on,
        fiscal_quarter(due_on__value, params.fiscal_year_start_month) as due_quarter,
        sheet_row
    from source
    join ref.params as params using (coalition_id)
),

tied as (
    select
        renamed.*,
        coalesce(renamed.goal_id, workstreams.goal_id) as tied_goal_id
    from renamed
    left join ref.workstreams as workstreams using (coalition_id, workstream_key)
)

select * from tied
