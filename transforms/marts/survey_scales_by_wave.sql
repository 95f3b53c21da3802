-- grain: one row per (wave, scale); a wave is the quarter a response's timestamp falls in.
-- mean, n, sample standard deviation and 95% t-interval of the respondents' scale scores
-- (marts.survey_scale_scores), and the band of the mean: the first of the scale's bands, by min
-- descending (ref.survey_scale_bands), whose min <= the mean (to 1e-9, instrument.BAND_TOLERANCE:
-- a mean of exactly 3.0 that float arithmetic gives as 2.9999999999999996 is 3.0); null below every
-- band or with no scores. is_suppressed: fewer than small_n scores (the small-n rule).
with

scores as (
    select * from marts.survey_scale_scores
    where (coalition_id, wave) in (select (coalition_id, quarter) from ref.quarters)
),

grid as (
    select quarters.coalition_id, quarters.quarter as wave, quarters.seq, scales.scale, scales.position as scale_position
    from ref.quarters as quarters
    join ref.survey_scales as scales using (coalition_id)
),

stats as (
    select
        coalition_id,
        wave,
        scale,
        count(score) as n,
        -- in response order: the same sums whatever order the rows came in (survey_items_by_wave.sql)
        avg(score order by response_id) as mean,
        stddev_samp(score order by response_id) as sd
    from scores
    group by coalition_id, wave, scale
),

summarized as (
    select
        grid.coalition_id,
        grid.wave,
        grid.seq,
        grid.scale,
        grid.scale_position,
        coalesce(stats.n, 0) as n,
        stats.mean,
        stats.sd,
        stats.mean - t_interval_half(t.t975, stats.sd, stats.n) as ci_low,
        stats.mean + t_interval_half(t.t975, stats.sd, stats.n) as ci_high,
        is_suppressed_below(stats.n, params.small_n) as is_suppressed
    from grid
    join ref.params as params using (coalition_id)
    left join stats using (coalition_id, wave, scale)
    left join ref.t_critical as t on t.df = stats.n - 1
),

banded as (
    select
        summarized.*,
        (select bands.label from ref.survey_scale_bands as bands
         where bands.coalition_id = summarized.coalition_id and bands.scale = summarized.scale and bands.min <= summarized.mean + 1e-9
         order by bands.min desc limit 1) as band
    from summarized
)

select coalition_id, wave, seq, scale, scale_position, n, mean, sd, ci_low, ci_high, band, is_suppressed from banded
