-- The counts beside the report's headline figures for its quarter (scope.quarter): meetings and
-- attendances (marts.attendance_by_quarter), roster and active members
-- (marts.engagement_by_quarter), tasks due and completed (marts.tasks_by_quarter); a mart without
-- a row for the quarter gives nulls and has_<mart> false. For each coalition of `scope`
-- (keyed_reads.py); each mart has one row per coalition and quarter.
select
    scope.coalition_id,
    attendance.coalition_id is not null as has_attendance,
    attendance.count_meetings,
    attendance.count_present,
    attendance.count_absent,
    attendance.count_excused,
    engagement.coalition_id is not null as has_engagement,
    engagement.count_roster,
    engagement.active_members,
    tasks.coalition_id is not null as has_tasks,
    tasks.count_due,
    tasks.count_completed_by_end
from scope
left join marts.attendance_by_quarter as attendance
  on attendance.coalition_id = scope.coalition_id and attendance.quarter = scope.quarter
left join marts.engagement_by_quarter as engagement
  on engagement.coalition_id = scope.coalition_id and engagement.quarter = scope.quarter
left join marts.tasks_by_quarter as tasks
  on tasks.coalition_id = scope.coalition_id and tasks.quarter = scope.quarter
order by scope.coalition_id
