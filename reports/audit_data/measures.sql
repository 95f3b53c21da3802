-- Audit pack, table "measures": one row per (measure, wave) in range, every wave listed (n = 0
-- when no one answered). The figures are the published ones: an item's n, mean, sample sd, 95%
-- t-interval, top-2-box share and small-n flag from marts.survey_items_by_wave; a scale's n, mean,
-- sd, interval, band and flag from marts.survey_scales_by_wave, with its top-2-box share (scores in
-- the top two points of the scale: >= scale_max - 1) counted here from audit_values. The wave's
-- response rate from marts.survey_response_rate (respondents / roster).
with

waves as (
    select quarter as wave, seq from ref.quarters
    where seq between (select seq from ref.quarters where quarter = $wave_from)
                  and (select seq from ref.quarters where quarter = $wave_to)
),

items as (
    select
        'item' as kind, item as measure, item_position as measure_position, wave, seq,
        n, mean, sd, ci_low, ci_high, top2_share, null::varchar as band, is_suppressed
    from marts.survey_items_by_wave
),

scale_top2 as (
    select measure, wave, safe_ratio(count(*) filter (where value >= scale_max - 1), count(*)) as top2_share
    from audit_values
    where kind = 'scale'
    group by measure, wave
),

scales as (
    select
        'scale' as kind, scales.scale as measure, scales.scale_position as measure_position, scales.wave,
        scales.seq, scales.n, scales.mean, scales.sd, scales.ci_low, scales.ci_high, scale_top2.top2_share,
        scales.band, scales.is_suppressed
    from marts.survey_scales_by_wave as scales
    left join scale_top2 on scale_top2.measure = scales.scale and scale_top2.wave = scales.wave
)

select
    measures.kind, measures.measure, measures.measure_position, measures.wave, measures.seq,
    measures.n, rates.response_rate, measures.mean, measures.sd, measures.ci_low, measures.ci_high,
    measures.top2_share, measures.band, measures.is_suppressed
from (select * from scales union all select * from items) as measures
join waves using (wave)
left join marts.survey_response_rate as rates using (wave)
order by measures.kind desc, measures.measure_position, measures.seq
