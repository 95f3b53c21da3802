"""Student's t, the one place the figures take it from: the 95% critical values of ref.t_critical
(load.load_t_critical) and the two-sided p-value of Welch's test (the cm_t_two_sided_ps SQL function,
transform.register_functions: every tested pair of a build in one call).

Both are scipy.special's functions, the very ones scipy.stats.t.ppf and .sf call (equal bit for bit,
tests/test_deferred.py): importing scipy.special costs 0.3 s, scipy.stats 1-1.2 s."""

from __future__ import annotations


def t_quantile(q: float, dfs):
    """t.ppf(q, df) for each df, as floats."""
    from scipy.special import stdtrit

    return stdtrit(dfs, q).astype(float)


def two_sided_p(t_stat: float | None, df: float | None) -> float | None:
    """2 * t.sf(|t_stat|, df); None without a test: t null or NaN, df null or not above 0."""
    return two_sided_ps([t_stat], [df])[0]


def two_sided_ps(t_stats, dfs) -> list[float | None]:
    """two_sided_p of each (t_stat, df) pair, as one array operation: the same function of each
    element as one call per pair, so equal bit for bit (tests/test_deferred.py)."""
    import numpy as np
    from scipy.special import stdtr

    present = np.array([t is not None and df is not None for t, df in zip(t_stats, dfs)], dtype=bool)
    t = np.array([np.nan if v is None else v for v in t_stats], dtype=float)
    df = np.array([np.nan if v is None else v for v in dfs], dtype=float)
    with np.errstate(invalid="ignore"):
        tested = present & ~np.isnan(t) & ~(df <= 0)
    p = np.full(len(t), np.nan)
    p[tested] = 2 * stdtr(df[tested], -np.abs(t[tested]))
    return [float(v) if ok else None for v, ok in zip(p.tolist(), tested.tolist())]
