-- grain: one row per (wave, item)
-- change = mean this wave - mean of the last earlier wave with answers to the item, with Welch's
-- t-test p-value (two-sided; t and Welch-Satterthwaite df here, the t distribution's tail from
-- cm_t_two_sided_ps, called once with every tested pair). n = the smaller of the two waves' n, so
-- the small-n rule suppresses the change unless both waves have n >= small_n. Null in a wave with no
-- answers or with no earlier wave.
with

waves as (
    select coalition_id, wave, seq, item, n, mean, sd from marts.survey_items_by_wave
),

answered as (
    select * from waves where n > 0
),

last_seq as (
    select this_w.coalition_id, this_w.wave, this_w.item, max(answered.seq) as last_seq
    from waves as this_w
    left join answered
      on answered.coalition_id = this_w.coalition_id and answered.item = this_w.item and answered.seq < this_w.seq
    group by this_w.coalition_id, this_w.wave, this_w.item
),

paired as (
    select
        this_w.*,
        last_w.wave as last_wave,
        last_w.n as last_n,
        last_w.mean as last_mean,
        last_w.sd as last_sd
    from waves as this_w
    join last_seq using (coalition_id, wave, item)
    left join answered as last_w
      on last_w.coalition_id = this_w.coalition_id and last_w.item = this_w.item and last_w.seq = last_seq.last_seq
),

welch as (
    select
        *,
        case when n > 0 and last_n > 0 then mean - last_mean end as change,
        case when n > 0 and last_n > 0 then least(n, last_n) else 0 end as n_pair,
        sd * sd / n + last_sd * last_sd / last_n as se2
    from paired
),

tested as (
    select
        *,
        case when se2 > 0 then change / sqrt(se2) end as t_stat,
        case when se2 > 0 and n > 1 and last_n > 1
             then se2 * se2 / ((sd * sd / n) ^ 2 / (n - 1) + (last_sd * last_sd / last_n) ^ 2 / (last_n - 1))
        end as welch_df
    from welch
),

-- every (coalition, wave, item) with a t and a df, as one list: the p-values come back as a list in
-- the same order (the two unnests of one select pair up element by element)
pairs as (
    select list({'coalition_id': coalition_id, 'wave': wave, 'item': item, 't': t_stat, 'df': welch_df})
           as pairs
    from tested
    where t_stat is not null and welch_df is not null
),

p_values as (
    select unnest(pair) as pair, unnest(p_value) as p_value
    from (
        select pairs as pair, cm_t_two_sided_ps([p.t for p in pairs], [p.df for p in pairs]) as p_value
        from pairs
    )
),

final as (
    select
        tested.coalition_id, tested.wave, tested.seq, tested.item, tested.n, tested.last_wave, tested.last_n,
        tested.mean, tested.last_mean, tested.change, tested.n_pair, tested.t_stat, tested.welch_df,
        p_values.p_value
    from tested
    left join p_values
      on p_values.pair.coalition_id = tested.coalition_id
     and p_values.pair.wave = tested.wave
     and p_values.pair.item = tested.item
)

select * from final
