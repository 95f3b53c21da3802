-- The report's survey table: each item of the report quarter's wave (scope.quarter) with n, mean,
-- SD, 95% interval, top-2-box share and the small-n flag, in the instrument's item order, from
-- marts.survey_items_by_wave. For each coalition of `scope` (keyed_reads.py).
select
    items.coalition_id,
    items.item,
    items.n,
    items.mean,
    items.sd,
    items.ci_low,
    items.ci_high,
    items.top2_share,
    items.is_suppressed
from marts.survey_items_by_wave as items
join scope on scope.coalition_id = items.coalition_id and scope.quarter = items.wave
order by items.coalition_id, items.item_position
