-- Chart "cadence by kind": meetings held in the report's quarter ($quarter) up to its as_of against
-- the expected number (ref.cadence, prorated to date), every kind of the contract in the
-- contract's order, from marts.meetings_by_kind.
select
    meetings.kind,
    meetings.meetings_held,
    meetings.expected_per_quarter,
    meetings.expected_to_date,
    meetings.cadence_adherence,
    quarters.as_of < quarters.end_on as is_to_date
from marts.meetings_by_kind as meetings
join ref.quarters as quarters using (quarter)
left join ref.enum_values as kinds on kinds.enum = 'kind' and kinds.value = meetings.kind
where meetings.quarter = $quarter
order by kinds.position nulls last, meetings.kind
