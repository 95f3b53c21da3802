-- Rules used by more than one model, defined once. (cm_trim, trimming as validation trims, is built
-- from parsing.WHITESPACE in transform.register_functions, beside the cm_* functions.)

-- The small-n rule (docs/data-contract.md): a survey figure over fewer than ref.params.small_n responses is
-- published as suppressed, never as a number. n = 0 is "no data", not suppressed. The models pass the
-- coalition's small_n (ref.params joined on coalition_id); is_suppressed(n) is for a reader seeing one
-- coalition (coalition_db.coalition_view: ref.params is its one row).
create or replace macro is_suppressed_below(n, small_n) as (
    coalesce(n, 0) > 0 and n < small_n
);

create or replace macro is_suppressed(n) as (
    is_suppressed_below(n, (select small_n from ref.params))
);

-- The quarter a date falls in, labelled as quarters.py labels it (Quarter.of(d, fs).label): 2026-Q3 for
-- calendar quarters (fs = 1), else the fiscal year named by the calendar year it ends in (FY2027-Q1 for
-- July-September 2026 with fs = 7). fs is the coalition's ref.params.fiscal_year_start_month.
create or replace macro fiscal_quarter(d, fs) as (
    case when d is null then null
         when fs = 1 then year(d)::varchar || '-Q' || ((month(d) - 1) // 3 + 1)::varchar
         else 'FY' || (year(d) + case when month(d) >= fs then 1 else 0 end)::varchar
              || '-Q' || (((month(d) - fs + 12) % 12) // 3 + 1)::varchar
    end
);

-- A rate whose denominator is zero is null ("no data"), never 0.
create or replace macro safe_ratio(numerator, denominator) as (
    case when coalesce(denominator, 0) = 0 then null else numerator::double / denominator end
);

-- attendance_rate = present / (present + absent): excused is left out of numerator and
-- denominator (docs/metrics.md); null when nobody was expected (or all were excused).
create or replace macro attendance_rate(present, absent) as (
    safe_ratio(present, present + absent)
);

-- goal_progress = (value - baseline) / (target - baseline), direction-aware: the sign follows the
-- goal's direction, so a decrease goal moving down makes progress; not clipped; null when the
-- value is null or target = baseline.
create or replace macro goal_progress(direction, value, baseline, target) as (
    case when target <> baseline
         then (case when direction = 'decrease' then -1 else 1 end) * (value - baseline) / abs(target - baseline)
    end
);

-- Half the width of a 95% t-interval of a mean: t(0.975, n - 1) * sd / sqrt(n), with t975 from
-- ref.t_critical (df = n - 1). The interval is mean -/+ this; the items' and the scales' both use it.
create or replace macro t_interval_half(t975, sd, n) as (
    t975 * sd / sqrt(n)
);
