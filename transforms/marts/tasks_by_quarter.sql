-- grain: one row per quarter
-- task_completion_rate = tasks due in the quarter completed by quarter end / tasks due in the quarter.
with

tasks as (
    select * from staging.stg_tasks
),

per_quarter as (
    select
        quarters.quarter,
        quarters.seq,
        count(tasks.task_id) as count_due,
        count(tasks.task_id) filter (where tasks.completed_on <= quarters.end_on) as count_completed_by_end
    from ref.quarters as quarters
    left join tasks on tasks.due_on between quarters.start_on and quarters.end_on
    group by quarters.quarter, quarters.seq
),

rated as (
    select *, safe_ratio(count_completed_by_end, count_due) as task_completion_rate
    from per_quarter
)

select * from rated
