-- Audit pack, table "breakdowns": one row per (measure, wave, dimension, group), dimension being
-- the member's size tier or sector (members tab). n, mean, sample sd and top-2-box share of the
-- group's values; a group with fewer than [metrics] small_n values is suppressed (shown "n<5").
-- An anonymous survey has no members to group by, so no rows.
with

member_values as (
    select audit_values.*, members.size_tier, members.sector
    from audit_values
    join staging.stg_members as members using (member_id)
),

by_group as (
    select 'size_tier' as dimension, coalesce(size_tier, '(not given)') as "group", * exclude (size_tier, sector)
    from member_values
    union all
    select 'sector' as dimension, coalesce(sector, '(not given)') as "group", * exclude (size_tier, sector)
    from member_values
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
order by kind desc, measure_position, seq, dimension desc, "group"
