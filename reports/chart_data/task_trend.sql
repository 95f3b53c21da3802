-- Chart "task completion and on-time trend": every quarter up to the report's quarter ($quarter),
-- from marts.tasks_by_quarter.
select
    quarter,
    seq,
    count_due,
    count_completed_by_end,
    count_on_time,
    task_completion_rate,
    on_time_rate
from marts.tasks_by_quarter
where seq <= (select seq from ref.quarters where quarter = $quarter)
order by seq
