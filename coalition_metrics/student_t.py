"""Student's t, the one place the figures take it from: the 95% critical values of ref.t_critical
(load.load_t_critical) and the two-sided p-value of Welch's test (the cm_t_two_sided_p SQL function,
transform.register_functions).

Both are scipy.special's functions, the very ones scipy.stats.t.ppf and .sf call (equal bit for bit,
tests/test_deferred.py): importing scipy.special costs 0.3 s, scipy.stats 1-1.2 s."""

from __future__ import annotations


def t_quantile(q: float, dfs):
    """t.ppf(q, df) for each df, as floats."""
    from scipy.special import stdtrit

    return stdtrit(dfs, q).astype(float)


def two_sided_p(t_stat: float, df: float) -> float:
    """2 * t.sf(|t_stat|, df)."""
    from scipy.special import stdtr

    return float(2 * stdtr(df, -abs(t_stat)))
