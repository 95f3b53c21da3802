-- Audit pack, table "measures": one row per (measure, wave) in range, every wave listed (n = 0
-- when no one answered). mean, sample sd (n - 1), 95% t-interval (ref.t_critical), top-2-box share
-- (values in the top two points of the scale: >= scale_max - 1), the wave's response rate
-- (marts.survey_response_rate: respondents / roster) and, for a scale, the band its mean falls in
-- (ref.survey_scale_bands: the first band by min descending whose min <= mean).
with

waves as (
    select quarter as wave, seq from ref.quarters
    where seq between (select seq from ref.quarters where quarter = $wave_from)
                  and (select seq from ref.quarters where quarter = $wave_to)
),

measures as (
    select 'item' as kind, item as measure, position as measure_position from ref.survey_items
    union all
    select 'scale' as kind, scale as measure, position as measure_position from ref.survey_scales
),

stats as (
    select
        kind, measure, wave,
        count(value) as n,
        avg(value) as mean,
        stddev_samp(value) as sd,
        count(value) filter (where value >= scale_max - 1) as count_top2
    from audit_values
    group by kind, measure, wave
),

summarized as (
    select
        measures.kind,
        measures.measure,
        measures.measure_position,
        waves.wave,
        waves.seq,
        coalesce(stats.n, 0) as n,
        rates.response_rate,
        stats.mean,
        stats.sd,
        stats.mean - t.t975 * stats.sd / sqrt(stats.n) as ci_low,
        stats.mean + t.t975 * stats.sd / sqrt(stats.n) as ci_high,
        safe_ratio(stats.count_top2, stats.n) as top2_share,
        is_suppressed(coalesce(stats.n, 0)) as is_suppressed
    from measures
    cross join waves
    left join stats using (kind, measure, wave)
    left join ref.t_critical as t on t.df = stats.n - 1
    left join marts.survey_response_rate as rates on rates.wave = waves.wave
),

banded as (
    select
        summarized.*,
        (select bands.label from ref.survey_scale_bands as bands
         where summarized.kind = 'scale' and bands.scale = summarized.measure and bands.min <= summarized.mean
         order by bands.min desc limit 1) as band
    from summarized
)

select * from banded
order by kind desc, measure_position, seq
