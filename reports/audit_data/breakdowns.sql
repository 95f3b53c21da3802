-- Audit pack, table "breakdowns": one row per (measure, wave, dimension, group), dimension being
-- the member's size tier or sector (members tab). n, mean, sample sd and top-2-box share of the
-- group's values; a group with fewer than [metrics] small_n values is suppressed (shown "n<5").
-- Besides each wave, the waves of the range pooled (wave '<from>..<to>', seq 0, listed last): with
-- a few members per group, a single wave rarely reaches small_n. Pooled values count a member once
-- per wave answered. An anonymous survey has no members to group by, so no rows.
with

member_values as (
    select audit_values.*, members.size_tier, members.sector
    from audit_values
    join staging.stg_members as members using (member_id)
),

per_wave_and_pooled as (
    select * from member_values
    union all
    select * replace ($wave_from || '..' || $wave_to as wave, 0 as seq) from member_values
),

by_group as (
    select 'size_tier' as dimension, coalesce(size_tier, '(not given)') as "group", * exclude (size_tier, sector)
    from per_wave_and_pooled
    union all
    select 'sector' as dimension, coalesce(sector, '(not given)') as "group", * exclude (size_tier, sector)
    from per_wave_and_pooled
),

stats as (
    select
        kind, measure, measure_position, wave, seq, dimension, "group",
        count(value) as n,
        avg(value) as mean,
        stddev_samp(value) as sd,
        safe_ratio(count(value) filter (where value >= scale_max - 1), count(value)) as top2_share
    from by_group
    group by all
)

select *, is_suppressed(n) as is_suppressed
from stats
order by kind desc, measure_position, seq = 0, seq, dimension desc, "group"
