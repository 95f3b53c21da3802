-- grain: one row per (metric_id, quarter): every metric's value and the n it rests on, before the
-- small-n rule. Each metric's formula lives in the mart named in transforms/metrics.yml.
with

attendance as (
    select 'attendance_rate' as metric_id, quarter, seq, attendance_rate as value,
           count_present + count_absent as n, false as is_survey
    from marts.attendance_by_quarter
),

engagement as (
    select 'engagement_rate' as metric_id, quarter, seq, engagement_rate as value,
           count_roster as n, false as is_survey
    from marts.engagement_by_quarter
),

tasks as (
    select 'task_completion_rate' as metric_id, quarter, seq, task_completion_rate as value,
           count_due as n, false as is_survey
    from marts.tasks_by_quarter
),

satisfaction as (
    select 'satisfaction_mean' as metric_id, wave as quarter, seq, mean as value,
           n, true as is_survey
    from marts.survey_items_by_wave
    where item = 'satisfaction'
),

unioned as (
    select * from attendance
    union all select * from engagement
    union all select * from tasks
    union all select * from satisfaction
)

select * from unioned
