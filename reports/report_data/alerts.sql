-- The report's disengagement alerts: one row per (member, reason) that fired in the report's
-- quarter (scope.quarter), with the member's organization, by organization, member and reason,
-- from marts.disengagement_alerts. For each coalition of `scope` (keyed_reads.py).
select
    alerts.coalition_id,
    alerts.member_id,
    members.organization,
    alerts.detail
from marts.disengagement_alerts as alerts
join scope on scope.coalition_id = alerts.coalition_id and scope.quarter = alerts.quarter
join staging.stg_members as members
  on members.coalition_id = alerts.coalition_id and members.member_id = alerts.member_id
order by alerts.coalition_id, members.organization, alerts.member_id, alerts.reason
