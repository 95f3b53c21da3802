-- Chart "satisfaction and trust by wave": every wave up to the report's quarter (scope.quarter),
-- for the items [survey] satisfaction_item and trust_item name (scope.first_item,
-- scope.second_item; null = none), from marts.survey_items_by_wave (mean, 95% t-interval, n and
-- the small-n flag are computed there, not here). For each coalition of `scope` (keyed_reads.py).
select
    items.coalition_id,
    items.wave,
    items.seq,
    items.item,
    items.item_position,
    items.n,
    items.mean,
    items.ci_low,
    items.ci_high,
    items.is_suppressed
from marts.survey_items_by_wave as items
join scope on scope.coalition_id = items.coalition_id
join ref.quarters as report
  on report.coalition_id = scope.coalition_id and report.quarter = scope.quarter
where items.item in (scope.first_item, scope.second_item)
  and items.seq <= report.seq
order by items.coalition_id, items.item_position, items.seq
