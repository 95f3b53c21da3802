-- Chart "satisfaction and trust by wave": every wave up to the report's quarter ($quarter), for the
-- items [survey] satisfaction_item and trust_item name ($first_item, $second_item; null = none), from marts.survey_items_by_wave (mean, 95% t-interval, n and the
-- small-n flag are computed there, not here).
select
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
where items.item in ($first_item, $second_item)
  and items.seq <= (select seq from ref.quarters where quarter = $quarter)
order by items.item_position, items.seq
