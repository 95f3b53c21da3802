-- Chart "task completion and on-time trend": every quarter up to the report's quarter
-- (scope.quarter), from marts.tasks_by_quarter, for each coalition of `scope` (keyed_reads.py).
select
    tasks.coalition_id,
    tasks.quarter,
    tasks.seq,
    tasks.count_due,
    tasks.count_completed_by_end,
    tasks.count_on_time,
    tasks.task_completion_rate,
    tasks.on_time_rate
from marts.tasks_by_quarter as tasks
join scope on scope.coalition_id = tasks.coalition_id
join ref.quarters as report
  on report.coalition_id = scope.coalition_id and report.quarter = scope.quarter
where tasks.seq <= report.seq
order by tasks.coalition_id, tasks.seq
