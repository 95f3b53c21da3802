-- grain: one row per task (accepted rows of the tasks tab)
-- tied_goal_id: the goal the task serves: its own goal_id when filled in (it wins), else the goal
-- its workstream is mapped to in [workstreams] (ref.workstreams, matched by cm_enum as enumerations
-- are: trimmed, case-folded, spaces, hyphens and underscores alike); null when neither ties it to a goal (no goal_id, a workstream mapped
-- to "", not in [workstreams], or blank).
with

source as (
    select * from raw.tasks
    where not is_blank
      and (coalition_id, sheet_row) not in (select (coalition_id, sheet_row) from quarantine.rows where tab = 'tasks')
),

renamed as (
    select
        coalition_id,
        ----------  ids
        trim(task_id) as task_id,
        nullif(trim(owner_id), '') as owner_id,
        nullif(trim(accountable_id), '') as accountable_id,
        nullif(trim(goal_id), '') as goal_id,
        ----------  text
        trim(title) as title,
        nullif(trim(workstream), '') as workstream,
        cm_enum(workstream) as workstream_key,
        nullif(trim(status), '') as status,
        ----------  dates
        cm_date(created_on) as created_on,
        cm_date(due_on) as due_on,
        cm_date(completed_on) as completed_on,
        fiscal_quarter(cm_date(due_on), params.fiscal_year_start_month) as due_quarter,
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
