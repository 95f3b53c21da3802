"""The audit pack's statistical tests, over values that SQL returns (reports/audit_data/).

Each function takes plain lists of numbers and returns plain numbers (None where the test is not
defined), so the tests can compare them with scipy.stats and pymannkendall directly:

- ``wave_change``: Welch's t-test (``scipy.stats.ttest_ind(equal_var=False)``) and the Mann-Whitney
  U test (``scipy.stats.mannwhitneyu``), both two-sided, of one wave's values against another's;
- ``trend``: the Mann-Kendall test (``pymannkendall.original_test``) and Sen's slope
  (``pymannkendall.sens_slope``) over a series (the audit runs it on per-wave means);
- ``cronbach_alpha``: k/(k-1) * (1 - sum of the item variances / variance of the totals), sample
  variances (n - 1), over respondents who answered every item.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

MIN_TREND_POINTS = 3  # the Mann-Kendall test over fewer points says nothing


def _num(value) -> float | None:
    """A finite float, or None (scipy returns nan where a statistic is not defined)."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


@dataclass(frozen=True)
class Change:
    welch_t: float | None
    welch_df: float | None
    welch_p: float | None
    mwu_u: float | None
    mwu_p: float | None


def wave_change(current: Sequence[float], previous: Sequence[float]) -> Change:
    """Welch's t-test and the Mann-Whitney U test of ``current`` against ``previous`` (two-sided).

    mwu_u is U of ``current`` (the count of pairs where the current value is higher, ties counting
    half). Welch's t is not defined when a wave has one value or both waves have no spread."""
    import warnings

    from scipy import stats

    if not current or not previous:
        return Change(None, None, None, None, None)
    welch_t = welch_df = welch_p = None
    if len(current) > 1 and len(previous) > 1:
        with warnings.catch_warnings():
            # both waves without spread (every answer the same): t is not defined (nan, shown empty)
            warnings.simplefilter("ignore", RuntimeWarning)
            res = stats.ttest_ind(current, previous, equal_var=False)
        welch_t, welch_p, welch_df = _num(res.statistic), _num(res.pvalue), _num(res.df)
        if welch_t is None:
            welch_df = welch_p = None
    mwu = stats.mannwhitneyu(current, previous, alternative="two-sided")
    return Change(welch_t, welch_df, welch_p, _num(mwu.statistic), _num(mwu.pvalue))


@dataclass(frozen=True)
class Trend:
    points: int
    trend: str | None  # 'increasing', 'decreasing' or 'no trend' (at the 5% level)
    s: float | None
    z: float | None
    p: float | None
    tau: float | None
    sen_slope: float | None  # change per wave
    intercept: float | None


def trend(series: Sequence[float]) -> Trend:
    """Mann-Kendall (pymannkendall.original_test, alpha 0.05) and Sen's slope over ``series`` in
    time order; nothing when it has fewer than MIN_TREND_POINTS points."""
    if len(series) < MIN_TREND_POINTS:
        return Trend(len(series), None, None, None, None, None, None, None)
    import pymannkendall as mk

    res = mk.original_test(list(series))
    sen = mk.sens_slope(list(series))
    return Trend(len(series), res.trend, _num(res.s), _num(res.z), _num(res.p), _num(res.Tau),
                 _num(sen.slope), _num(sen.intercept))


def cronbach_alpha(responses: Sequence[Sequence[float]]) -> float | None:
    """Cronbach's alpha of complete responses (one row per respondent, one column per item).

    None with fewer than two items or two respondents, or when the totals do not vary."""
    if len(responses) < 2:
        return None
    k = len(responses[0])
    if k < 2 or any(len(r) != k for r in responses):
        return None
    from statistics import variance

    item_var = sum(variance([r[i] for r in responses]) for i in range(k))
    total_var = variance([sum(r) for r in responses])
    if total_var == 0:
        return None
    return k / (k - 1) * (1 - item_var / total_var)
