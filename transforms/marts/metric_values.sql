-- grain: one row per (metric_id, dimension, quarter): every metric's value and the n it rests on,
-- before the small-n rule. dimension is null for the overall figure; the published id is
-- metric_id[dimension]. Each formula lives in the mart named for the metric in
-- transforms/metrics.yml; this model only reshapes. Flags are 1 (true) or 0 (false).
with

meetings as (
    select coalition_id, 'meetings_held' as metric_id, kind as dimension, quarter, seq,
           meetings_held::double as value, meetings_held as n
    from marts.meetings_by_kind
    union all
    select coalition_id, 'meetings_held', null, quarter, seq, sum(meetings_held)::double, sum(meetings_held)
    from marts.meetings_by_kind group by coalition_id, quarter, seq
    union all
    select coalition_id, 'cadence_adherence', kind, quarter, seq, cadence_adherence, meetings_held
    from marts.meetings_by_kind where expected_per_quarter > 0
    union all
    -- overall: the mean of the kinds' adherence, over the kinds with an expected cadence
    select coalition_id, 'cadence_adherence', null, quarter, seq, avg(cadence_adherence order by kind), sum(meetings_held)
    from marts.meetings_by_kind where expected_per_quarter > 0 group by coalition_id, quarter, seq
),

attendance as (
    select coalition_id, 'attendance_rate' as metric_id, null as dimension, quarter, seq, attendance_rate as value,
           count_present + count_absent as n
    from marts.attendance_by_quarter
    union all
    select coalition_id, 'attendance_rate', kind, quarter, seq, attendance_rate, count_present + count_absent
    from marts.attendance_by_kind
    union all
    select coalition_id, 'member_attendance_rate', member_id, quarter, seq, attendance_rate, count_present + count_absent
    from marts.attendance_by_member
),

engagement as (
    select coalition_id, 'active_members' as metric_id, null as dimension, quarter, seq,
           active_members::double as value, count_roster as n
    from marts.engagement_by_quarter
    union all
    select coalition_id, 'engagement_rate', null, quarter, seq, engagement_rate, count_roster
    from marts.engagement_by_quarter
    union all
    select coalition_id, 'retention_rate', null, quarter, seq, retention_rate, count_active_last_quarter
    from marts.engagement_by_quarter
    union all
    select engagement.coalition_id, 'disengagement_alerts', null, engagement.quarter, engagement.seq,
           count(distinct alerts.member_id)::double, engagement.count_roster
    from marts.engagement_by_quarter as engagement
    left join marts.disengagement_alerts as alerts using (coalition_id, quarter)
    group by engagement.coalition_id, engagement.quarter, engagement.seq, engagement.count_roster
),

tasks as (
    select coalition_id, 'task_completion_rate' as metric_id, null as dimension, quarter, seq,
           task_completion_rate as value, count_due as n
    from marts.tasks_by_quarter
    union all
    select coalition_id, 'on_time_rate', null, quarter, seq, on_time_rate, count_completed_by_end
    from marts.tasks_by_quarter
    union all
    select coalition_id, 'overdue_open', null, quarter, seq, overdue_open::double, count_due_before_as_of
    from marts.tasks_by_quarter
    union all
    select coalition_id, 'raci_gaps', null, quarter, seq, raci_gaps::double, count_due
    from marts.tasks_by_quarter
    union all
    -- null with n > 0: tasks were due but the coalition declares no goal tie (unknown, not 0)
    select coalition_id, 'goal_focus_share', null, quarter, seq, goal_focus_share, count_due
    from marts.tasks_by_quarter
    union all
    select coalition_id, 'goal_tied_tasks', null, quarter, seq, count_goal_tied::double, count_due
    from marts.tasks_by_quarter
),

leadership as (
    select coalition_id, 'leadership_concentration' as metric_id, source as dimension, quarter, seq,
           leadership_concentration as value, count_items as n
    from marts.leadership_by_quarter
    union all
    select coalition_id, 'ownership_hhi', source, quarter, seq, ownership_hhi, count_items
    from marts.leadership_by_quarter
    union all
    select coalition_id, 'single_champion_risk', source, quarter, seq, single_champion_risk::integer::double, count_items
    from marts.leadership_by_quarter
    union all
    -- overall: the more concentrated of tasks and facilitation
    select coalition_id, 'leadership_concentration', null, quarter, seq, max(leadership_concentration), sum(count_items)
    from marts.leadership_by_quarter group by coalition_id, quarter, seq
    union all
    select coalition_id, 'ownership_hhi', null, quarter, seq, max(ownership_hhi), sum(count_items)
    from marts.leadership_by_quarter group by coalition_id, quarter, seq
    union all
    select coalition_id, 'single_champion_risk', null, quarter, seq, max(single_champion_risk::integer)::double, sum(count_items)
    from marts.leadership_by_quarter group by coalition_id, quarter, seq
),

survey as (
    -- the satisfaction item is [survey] satisfaction_item (ref.params); none = no rows, "no data"
    select coalition_id, 'satisfaction_mean' as metric_id, null as dimension, wave as quarter, seq, mean as value, n
    from marts.survey_items_by_wave join ref.params using (coalition_id) where item = satisfaction_item
    union all
    select coalition_id, 'item_mean', item, wave, seq, mean, n from marts.survey_items_by_wave
    union all
    select coalition_id, 'item_sd', item, wave, seq, sd, n from marts.survey_items_by_wave
    union all
    select coalition_id, 'item_ci_low', item, wave, seq, ci_low, n from marts.survey_items_by_wave
    union all
    select coalition_id, 'item_ci_high', item, wave, seq, ci_high, n from marts.survey_items_by_wave
    union all
    select coalition_id, 'item_top2', item, wave, seq, top2_share, n from marts.survey_items_by_wave
    union all
    select coalition_id, 'satisfaction_change', null, wave, seq, change, n_pair
    from marts.survey_change_by_wave join ref.params using (coalition_id) where item = satisfaction_item
    union all
    select coalition_id, 'satisfaction_change_p', null, wave, seq, p_value, n_pair
    from marts.survey_change_by_wave join ref.params using (coalition_id) where item = satisfaction_item
    union all
    select coalition_id, 'item_change', item, wave, seq, change, n_pair from marts.survey_change_by_wave
    union all
    select coalition_id, 'item_change_p', item, wave, seq, p_value, n_pair from marts.survey_change_by_wave
    union all
    select coalition_id, 'scale_mean', scale, wave, seq, mean, n from marts.survey_scales_by_wave
    union all
    select coalition_id, 'scale_ci_low', scale, wave, seq, ci_low, n from marts.survey_scales_by_wave
    union all
    select coalition_id, 'scale_ci_high', scale, wave, seq, ci_high, n from marts.survey_scales_by_wave
    union all
    select coalition_id, 'response_rate', null, wave, seq, response_rate, count_roster from marts.survey_response_rate
    union all
    select coalition_id, 'voice_gap', null, wave, seq, voice_gap, n from marts.voice_gap_by_wave
),

goals as (
    select coalition_id, 'goal_progress' as metric_id, goal_id as dimension, quarter, seq, goal_progress as value,
           case when latest_value is null then 0 else 1 end as n
    from marts.goals_by_quarter
    union all
    select coalition_id, 'expected_progress', goal_id, quarter, seq, expected_progress, 1 from marts.goals_by_quarter
    union all
    select coalition_id, 'on_track', goal_id, quarter, seq, on_track::integer::double,
           case when latest_value is null then 0 else 1 end
    from marts.goals_by_quarter
    union all
    select quarters.coalition_id, 'goals_on_track', null, quarters.quarter, quarters.seq, avg(goals.on_track::integer), count(goals.on_track)
    from ref.quarters as quarters
    left join marts.goals_by_quarter as goals using (coalition_id, quarter)
    group by quarters.coalition_id, quarters.quarter, quarters.seq
),

milestones as (
    select coalition_id, 'milestones' as metric_id, kind as dimension, quarter, seq, milestones::double as value,
           milestones as n
    from marts.milestones_by_quarter
    union all
    select coalition_id, 'milestones', null, quarter, seq, sum(milestones)::double, sum(milestones)
    from marts.milestones_by_quarter group by coalition_id, quarter, seq
    union all
    select coalition_id, 'quick_win_in_first_quarter', null, quarter, seq,
           any_value(quick_win_in_first_quarter)::integer::double, null
    from marts.milestones_by_quarter group by coalition_id, quarter, seq
),

unioned as (
    select * from meetings
    union all select * from attendance
    union all select * from engagement
    union all select * from tasks
    union all select * from leadership
    union all select * from survey
    union all select * from goals
    union all select * from milestones
)

select
    coalition_id,
    metric_id,
    dimension,
    metric_id || coalesce('[' || dimension || ']', '') as published_id,
    quarter,
    seq,
    value,
    n
from unioned
