-- The report's scale table: each composite scale ([survey_scales]) of the report quarter's wave
-- (scope.quarter) with n, mean, 95% interval, band and the small-n flag, in the instrument's scale
-- order, from marts.survey_scales_by_wave. For each coalition of `scope` (keyed_reads.py).
select
    scales.coalition_id,
    scales.scale,
    scales.n,
    scales.mean,
    scales.ci_low,
    scales.ci_high,
    scales.band,
    scales.is_suppressed
from marts.survey_scales_by_wave as scales
join scope on scope.coalition_id = scales.coalition_id and scope.quarter = scales.wave
order by scales.coalition_id, scales.scale_position
