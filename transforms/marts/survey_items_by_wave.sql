-- grain: one row per (wave, item); a wave is the quarter a response's timestamp falls in.
-- mean, n, sample standard deviation, 95% t-interval and top-2-box share (the top two points of
-- the item's scale, ref.survey_items) over the answers given; a blank answer is item non-response.
with

answers as (
    select * from staging.stg_survey_answers
    where (coalition_id, wave) in (select (coalition_id, quarter) from ref.quarters)
),

items as (
    select coalition_id, item, position from ref.survey_items
),

grid as (
    select quarters.coalition_id, quarters.quarter as wave, quarters.seq, items.item, items.position as item_position
    from ref.quarters as quarters
    join items using (coalition_id)
),

stats as (
    select
        coalition_id,
        wave,
        item,
        count(score) as n,
        -- in response order: the same sums, to the last bit, whatever order a join delivered the rows
        -- in (a portfolio's database and a single run's give byte-identical figures)
        avg(score order by response_id) as mean,
        stddev_samp(score order by response_id) as sd,
        count(score) filter (where score >= scales.scale_max - 1) as count_top2
    from answers
    join ref.survey_items as scales using (coalition_id, item)
    group by coalition_id, wave, item
),

summarized as (
    select
        grid.coalition_id,
        grid.wave,
        grid.seq,
        grid.item,
        grid.item_position,
        coalesce(stats.n, 0) as n,
        stats.mean,
        stats.sd,
        stats.mean - t_interval_half(t.t975, stats.sd, stats.n) as ci_low,
        stats.mean + t_interval_half(t.t975, stats.sd, stats.n) as ci_high,
        safe_ratio(stats.count_top2, stats.n) as top2_share,
        is_suppressed_below(stats.n, params.small_n) as is_suppressed
    from grid
    join ref.params as params using (coalition_id)
    left join stats using (coalition_id, wave, item)
    left join ref.t_critical as t on t.df = stats.n - 1
)

select * from summarized
