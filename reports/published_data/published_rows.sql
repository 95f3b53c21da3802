-- The published figures an audience sees ($audience: 'funder', or null for every figure, as the
-- coordinator's report shows them), every quarter up to the run's, in registry order, the plain
-- figure before its dimensions, then by quarter. Funders never see a coordinator metric, nor a
-- figure the survey instrument keeps from them: kept_from_funders is the temp view of
-- kept_from_funders.sql that render.published_rows creates before running this query.
with

args as (
    select $audience::varchar as audience
)

select
    published.published_id,
    published.metric_id,
    published.dimension,
    published.quarter,
    published.seq,
    published.value,
    published.n,
    published.suppressed
from marts.published_metrics as published
join ref.metrics as metrics using (metric_id)
cross join args
where args.audience is null
   or (metrics.audience = args.audience
       and (args.audience <> 'funder'
            or not exists (select 1 from kept_from_funders as kept
                           where (kept.dimension_kind = metrics.dimension_kind and kept.dimension = published.dimension)
                              or kept.role = metrics.role)))
order by published.metric_position, published.dimension is not null, published.dimension_position,
         published.dimension, published.seq
