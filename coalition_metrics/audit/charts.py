"""The audit pack's charts, drawn with the report's conventions (coalition_metrics/charts.py: inline,
deterministic SVG, ids prefixed by the chart id, series told apart by lightness and hatching as well
as hue): for each item and scale, the distribution per wave as diverging stacked bars, and the mean
with its 95% interval over the waves. A wave under the small-n rule draws no value, only "n<5".
"""

from __future__ import annotations

from typing import Any

from ..charts import DARK, INK, MID, _runs
from .mpl import _figure, figure_svg

# Five steps from disagreement (amber, hatched) to agreement (blue); other scale lengths sample them.
NEGATIVE = ("#8a5a00", "#d9a441", "#f0d9a8")
NEUTRAL = "#d0d0d0"
POSITIVE = ("#c6d4ee", "#6f8cc4", "#1b2f5b")


def _colours(points: list[int]) -> list[tuple[str, str | None]]:
    """(face colour, hatch) for each scale point, low to high: the points below the middle amber and
    hatched, darkest at the bottom; the middle point grey; those above blue, darkest at the top."""
    k, half = len(points), len(points) // 2

    def step(shades: tuple[str, ...], i: int) -> str:  # i = 0 .. half-1, light to dark
        return shades[-1] if half == 1 else shades[round(i / (half - 1) * (len(shades) - 1))]

    out: list[tuple[str, str | None]] = []
    for i in range(k):
        if i < half:
            out.append((step(NEGATIVE[::-1], half - 1 - i), "///"))
        elif k % 2 == 1 and i == half:
            out.append((NEUTRAL, None))
        else:
            out.append((step(POSITIVE, i - (k - half)), None))
    return out


def chart_id(prefix: str, kind: str, measure: str) -> str:
    return f"{prefix}-{kind}-{measure or 'all'}"


def distribution_chart(rows: list[dict[str, Any]], kind: str, measure: str, name: str, small_n: int,
                       labels: dict[int, str] | None = None, reverse: bool = False) -> dict[str, Any]:
    """Diverging stacked bars: one bar per wave, the shares of each scale point, the points below the
    scale's middle to the left of 0 and those above to the right (a middle point straddles 0)."""
    cid = chart_id("dist", kind, measure)
    mine = [r for r in rows if r["kind"] == kind and r["measure"] == measure]
    waves = list(dict.fromkeys(r["wave"] for r in mine))
    points = sorted({r["point"] for r in mine})
    colours = _colours(points)
    k = len(points)
    fig = _figure(1.2 + 0.32 * len(waves))
    ax = fig.add_subplot()
    for y, wave in enumerate(waves):
        cells = {r["point"]: r for r in mine if r["wave"] == wave}
        first = cells[points[0]]
        if first["is_suppressed"] or not first["n"]:
            text = f"n<{small_n}: not shown" if first["n"] else "no answers"
            ax.text(0, y, text, ha="center", va="center", fontsize=7.5, color="#444444", gid=f"{cid}-small-{wave}")
            continue
        shares = [cells[p]["share"] * 100 for p in points]
        half = k // 2
        middle = shares[half] if k % 2 == 1 else 0.0
        left = -(sum(shares[:half]) + middle / 2)
        for i, p in enumerate(points):
            face, hatch = colours[i]
            ax.barh(y, shares[i], left=left, height=0.66, color=face, edgecolor="white", linewidth=0.5,
                    hatch=hatch, gid=f"{cid}-{wave}-{p}")
            if shares[i] >= 9:
                ax.text(left + shares[i] / 2, y, f"{shares[i]:.0f}", ha="center", va="center", fontsize=6.5,
                        color="white" if face in (NEGATIVE[0], POSITIVE[-1], POSITIVE[1]) else INK)
            left += shares[i]
    ax.axvline(0, color="#555555", linewidth=0.8)
    ax.set_yticks(range(len(waves)))
    ns = {r["wave"]: r["n"] for r in mine}
    ax.set_yticklabels([f"{w} (n={ns[w]})" for w in waves])
    ax.invert_yaxis()
    ax.set_xlim(-100, 100)
    ax.set_xticks([-100, -50, 0, 50, 100])
    ax.set_xticklabels(["100%", "50%", "0", "50%", "100%"])
    ax.set_xlabel("Share of answers (%), below the scale's middle to the left, above it to the right")
    ax.set_title(f"{measure}: answers by wave", loc="left")
    from matplotlib.patches import Patch

    handles = [Patch(facecolor=c, hatch=h, edgecolor="white", label=(labels or {}).get(p, str(p)))
               for p, (c, h) in zip(points, colours)]
    fig.legend(handles=handles, loc="outside lower center", ncols=min(k, 7), frameon=False,
               title="Scale point" + (" (a scale's score on its nearest point)" if kind == "scale" else
                                      " (score of a reverse-scored item: min + max - answer)" if reverse else ""))
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    label = f"Distribution of {name} by wave"
    caption = (f"Each bar: one wave's answers as shares of each scale point; numbers are percentages. Waves with "
               f"fewer than {small_n} answers are not shown (small-n rule).")
    return {"id": cid, "title": label, "caption": caption, "svg": figure_svg(fig, cid, f"{label}. {caption}")}


def mean_chart(rows: list[dict[str, Any]], kind: str, measure: str, name: str, small_n: int,
               scale_range: tuple[int, int]) -> dict[str, Any]:
    """The mean per wave with its 95% t-interval (a band over consecutive shown waves, a whisker for
    a wave alone); a suppressed wave gets a hollow marker at the bottom and no value."""
    cid = chart_id("mean", kind, measure)
    mine = [r for r in rows if r["kind"] == kind and r["measure"] == measure]
    waves = [r["wave"] for r in mine]
    shown = [(i, r) for i, r in enumerate(mine) if r["n"] and not r["is_suppressed"] and r["mean"] is not None]
    lo_y, hi_y = scale_range
    fig = _figure(2.6)
    ax = fig.add_subplot()
    xs = [i for i, _ in shown]
    for run in _runs(xs):
        sel = [r for i, r in shown if i in run]
        lo = [r["ci_low"] if r["ci_low"] is not None else r["mean"] for r in sel]
        hi = [r["ci_high"] if r["ci_high"] is not None else r["mean"] for r in sel]
        if len(run) == 1:
            ax.vlines(run, lo, hi, color=DARK, linewidth=1.2, zorder=2)
            continue
        ax.fill_between(run, lo, hi, facecolor=DARK, alpha=0.16, zorder=1)
        ax.plot(run, [r["mean"] for r in sel], color=DARK, linewidth=1.8, zorder=3)
    ax.plot(xs, [r["mean"] for _, r in shown], linestyle="none", marker="o", markersize=6, color=DARK,
            markeredgecolor="white", markeredgewidth=0.8, zorder=4, gid=f"{cid}-points",
            label="mean, 95% interval")
    supp = [i for i, r in enumerate(mine) if r["n"] and r["is_suppressed"]]
    if supp:
        ax.plot(supp, [lo_y + 0.15] * len(supp), linestyle="none", marker="o", markersize=6,
                markerfacecolor="white", markeredgecolor=MID, markeredgewidth=1.3, zorder=4,
                gid=f"{cid}-suppressed", label=f"n<{small_n}: not shown")
    ax.set_xticks(range(len(waves)))
    ax.set_xticklabels([f"{r['wave']}\n" + (f"n<{small_n}" if r["is_suppressed"] and r["n"] else f"n={r['n']}")
                        for r in mine])
    ax.set_xlim(-0.5, len(waves) - 0.5)
    ax.set_ylim(lo_y, hi_y)
    ax.set_yticks(range(lo_y, hi_y + 1))
    ax.set_ylabel(f"Mean ({lo_y}–{hi_y})")
    ax.set_title(f"{measure}: mean and 95% interval by wave", loc="left")
    ax.grid(axis="y", color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
    fig.legend(loc="outside lower center", ncols=2, frameon=False)
    label = f"Mean of {name} by wave"
    caption = (f"Mean per wave with its 95% t-interval (shaded). Waves with fewer than {small_n} answers are "
               f"suppressed (hollow marker, no value).")
    return {"id": cid, "title": label, "caption": caption, "svg": figure_svg(fig, cid, f"{label}. {caption}")}
