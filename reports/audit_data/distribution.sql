-- Audit pack, table "distribution": one row per (measure, wave, scale point): how many values
-- fall on each point of the scale, every point listed (0 when none). An item's value is its score
-- (the answer after reverse scoring); a scale's score (a mean of items) counts on the nearest
-- point, halves rounded up (3.5 -> 4; to 1e-9, as bands read a mean).
with

waves as (
    select quarter as wave, seq from ref.quarters
    where seq between (select seq from ref.quarters where quarter = $wave_from)
                  and (select seq from ref.quarters where quarter = $wave_to)
),

ranges as (
    select 'item' as kind, item as measure, position as measure_position, scale_min, scale_max
    from ref.survey_items
    union all
    select 'scale' as kind, scales.scale as measure, scales.position as measure_position,
           min(items.scale_min) as scale_min, max(items.scale_max) as scale_max
    from ref.survey_scales as scales
    join ref.survey_scale_items as scale_items using (scale)
    join ref.survey_items as items on items.item = scale_items.item
    group by scales.scale, scales.position
),

points as (
    select ranges.*, point.point
    from ranges
    cross join lateral (select unnest(range(ranges.scale_min, ranges.scale_max + 1)) as point) as point
),

counted as (
    select kind, measure, wave, cast(floor(value + 0.5 + 1e-9) as integer) as point, count(*) as count
    from audit_values
    group by all
),

totals as (
    select kind, measure, wave, count(*) as n from audit_values group by all
)

select
    points.kind,
    points.measure,
    points.measure_position,
    waves.wave,
    waves.seq,
    points.point,
    coalesce(totals.n, 0) as n,
    coalesce(counted.count, 0) as count,
    safe_ratio(coalesce(counted.count, 0), totals.n) as share,
    is_suppressed(coalesce(totals.n, 0)) as is_suppressed
from points
cross join waves
left join counted using (kind, measure, wave, point)
left join totals using (kind, measure, wave)
order by points.kind desc, points.measure_position, waves.seq, points.point
