-- Chart "cadence by kind": meetings held in the report's quarter up to its as_of against the
-- expected number (ref.cadence, prorated to date), every kind of the contract in the contract's
-- order, from marts.meetings_by_kind. For each coalition of `scope` (its report quarter:
-- scope.quarter); every join is on coalition_id (keyed_reads.py).
select
    meetings.coalition_id,
    meetings.kind,
    meetings.meetings_held,
    meetings.expected_per_quarter,
    meetings.expected_to_date,
    meetings.cadence_adherence,
    quarters.as_of < quarters.end_on as is_to_date
from marts.meetings_by_kind as meetings
join scope
  on scope.coalition_id = meetings.coalition_id and scope.quarter = meetings.quarter
join ref.quarters as quarters
  on quarters.coalition_id = meetings.coalition_id and quarters.quarter = meetings.quarter
left join ref.enum_values as kinds on kinds.enum = 'kind' and kinds.value = meetings.kind
order by meetings.coalition_id, kinds.position nulls last, meetings.kind
