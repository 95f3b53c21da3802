-- grain: one row per task (accepted rows of the tasks tab)
with

source as (
    select * from raw.tasks
    where not is_blank
      and sheet_row not in (select sheet_row from quarantine.rows where tab = 'tasks')
),

renamed as (
    select
        ----------  ids
        trim(task_id) as task_id,
        nullif(trim(owner_id), '') as owner_id,
        nullif(trim(accountable_id), '') as accountable_id,
        ----------  text
        trim(title) as title,
        nullif(trim(workstream), '') as workstream,
        nullif(trim(status), '') as status,
        ----------  dates
        cm_date(created_on) as created_on,
        cm_date(due_on) as due_on,
        cm_date(completed_on) as completed_on,
        cm_quarter(cm_date(due_on)) as due_quarter,
        sheet_row
    from source
)

select * from renamed
