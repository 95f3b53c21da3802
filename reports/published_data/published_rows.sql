-- The published figures an audience sees ($audience: 'funder', or null for every figure, as the
-- coordinator's report shows them), every quarter up to the run's, in registry order, the plain
-- figure before its dimensions, then by quarter, for each coalition of `scope` (keyed_reads.py).
-- Funders never see a coordinator metric, nor a figure the survey instrument keeps from them:
-- kept_from_funders is kept_from_funders.sql (render.published_rows_of defines it as a temp view).
-- Each row says whether a funder sees it (for_funder), so one query serves the report and the
-- funder files.
with

args as (
    select $audience::varchar as audience
),

published as (
    select
        published.*,
        metrics.audience,
        -- what a funder sees: a funder metric the instrument does not keep from funders
        metrics.audience = 'funder'
            and not exists (select 1 from kept_from_funders as kept
                            where kept.coalition_id = published.coalition_id
                              and ((kept.dimension_kind = metrics.dimension_kind
                                    and kept.dimension = published.dimension)
                                   or kept.role = metrics.role)) as for_funder
    from marts.published_metrics as published
    join scope on scope.coalition_id = published.coalition_id
    join ref.metrics as metrics on metrics.metric_id = published.metric_id
)

select
    published.coalition_id,
    published.published_id,
    published.metric_id,
    published.dimension,
    published.quarter,
    published.seq,
    published.value,
    published.n,
    published.suppressed,
    published.for_funder
from published
cross join args
where args.audience is null
   or (published.audience = args.audience and (args.audience <> 'funder' or published.for_funder))
order by published.coalition_id, published.metric_position, published.dimension is not null,
         published.dimension_position, published.dimension, published.seq
