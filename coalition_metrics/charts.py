"""The quarterly report's charts: matplotlib figures returned as inline SVG strings.

``report_charts(con, quarter=..., settings=...)`` gives the six charts of the report, always all six
and in this order (a chart without data draws an explicit "no data" panel):

    satisfaction_trust, attendance_heatmap, task_trend, task_ownership, goal_progress, cadence

Each is a dict ``{"id", "title", "caption", "svg", "data"}``: ``svg`` is an ``<svg>`` element (no
XML prolog) with ``role="img"``, an ``aria-label`` and a ``<title>``, sized by its viewBox to the
width of its container; ``data`` is the list of rows the chart plots (plain values, for a data table
next to the chart and for tests).

The data comes from the SQL files in reports/chart_data/ over the marts; nothing here computes a
metric. Figures are ``matplotlib.figure.Figure`` objects (no pyplot, no global figure state), so
charts can be drawn from several threads. The SVG is deterministic: the same data gives the same
bytes (fixed ``svg.hashsalt``, no date in the metadata), and every element id is prefixed with the
chart id so several charts can share one HTML page. Series are told apart by line style, marker,
hatch and lightness, never by hue alone, so they survive grey-scale printing.
"""

from __future__ import annotations

import io
import re
import textwrap
import threading
from datetime import date, timedelta
from typing import Any, Callable

from .config import PROJECT_ROOT
from .errors import CoalitionError

CHART_DATA_DIR = PROJECT_ROOT / "reports" / "chart_data"
CHART_IDS = ("satisfaction_trust", "attendance_heatmap", "task_trend", "task_ownership",
             "goal_progress", "cadence")

FONT_FAMILY = "DejaVu Sans"  # shipped with matplotlib and in Debian's fonts-dejavu-core
WIDTH_IN = 7.0  # fits an A4 page's text width at 100 % scale
DARK, MID, LIGHT, PALE = "#1b2f5b", "#8a5a00", "#9aa7bf", "#e6e9ef"  # dark blue, dark amber, greys
INK = "#222222"

_SETUP_LOCK = threading.Lock()
_SET_UP = False


# ---- entry point -----------------------------------------------------------------------------

def report_charts(con, *, quarter: str, settings) -> list[dict[str, Any]]:
    """The report's six charts for ``quarter`` (a label in ref.quarters), in CHART_IDS order."""
    known = con.execute("select count(*) from ref.quarters where quarter = ?", [quarter]).fetchone()[0]
    if not known:
        first_last = con.execute("select min(quarter), max(quarter) from ref.quarters").fetchone()
        raise CoalitionError(
            f"No charts for quarter {quarter}: the database holds quarters {first_last[0]} to "
            f"{first_last[1]}. Pick one of those, or run the pipeline for {quarter} first."
        )
    builders: dict[str, Callable] = {
        "satisfaction_trust": satisfaction_trust_chart,
        "attendance_heatmap": attendance_heatmap_chart,
        "task_trend": task_trend_chart,
        "task_ownership": task_ownership_chart,
        "goal_progress": goal_progress_chart,
        "cadence": cadence_chart,
    }
    return [builders[chart_id](con, quarter, settings) for chart_id in CHART_IDS]


def chart_rows(con, name: str, quarter: str, **params) -> list[dict[str, Any]]:
    """Rows of reports/chart_data/<name>.sql for the quarter (and any other $parameters), as dicts."""
    sql = (CHART_DATA_DIR / f"{name}.sql").read_text(encoding="utf-8")
    cur = con.execute(sql, {"quarter": quarter, **params})
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, row)) for row in cur.fetchall()]


# ---- readable names ----------------------------------------------------------------------------

def item_name(item: str) -> str:
    """A survey item's short readable name: 'value_received' -> 'Value received'."""
    return item.replace("_", " ").strip().capitalize()


def kind_name(kind: str) -> str:
    """A meeting kind's readable name: 'quarterly_meeting' -> 'Quarterly meeting'."""
    return kind.replace("_", " ").strip().capitalize()


def member_label(organization: str) -> str:
    """A member's organization as an axis label: at most two lines of 34 characters (a longer name is
    cut at a word with an ellipsis, a line break typed in the cell is a space), so a long name never
    pushes the plot off the figure or gets clipped at its edge."""
    return short_text(organization or "", width=34, lines=2)


def short_text(text: str, width: int = 48, lines: int = 2) -> str:
    """Text wrapped to ``lines`` lines of ``width`` characters, cut at a word with an ellipsis."""
    wrapped = textwrap.wrap(" ".join(text.split()), width=width)
    if len(wrapped) > lines:
        last = textwrap.shorten(" ".join(wrapped[lines - 1:]), width=width, placeholder=" …")
        wrapped = wrapped[: lines - 1] + [last]
    return "\n".join(wrapped)


def _pct(value: float) -> str:
    return f"{value:.0%}"


# ---- matplotlib set-up and SVG output ------------------------------------------------------------

def _setup() -> None:
    """The few rcParams the SVG backend reads at save time (it takes no per-call option for them),
    set once per process to constant values."""
    global _SET_UP
    with _SETUP_LOCK:
        if _SET_UP:
            return
        import matplotlib

        matplotlib.rcParams.update({
            "svg.hashsalt": "coalition-metrics",
            "svg.fonttype": "none",
            # Every label is the coalition's own text (organizations, goals, questions); a "$" in it is
            # a dollar sign, never matplotlib mathtext (which would garble "$5 and $10" or fail on it).
            "text.parse_math": False,
            "font.family": "sans-serif",
            "font.sans-serif": [FONT_FAMILY],
            "font.size": 9,
            "axes.titlesize": 10,
            "axes.labelsize": 9,
            "xtick.labelsize": 8,
            "ytick.labelsize": 8,
            "legend.fontsize": 8,
            "hatch.linewidth": 0.8,
            "axes.edgecolor": "#555555",
            "axes.labelcolor": INK,
            "text.color": INK,
            "xtick.color": "#444444",
            "ytick.color": "#444444",
        })
        _SET_UP = True


def _figure(height_in: float):
    _setup()
    from matplotlib.figure import Figure

    return Figure(figsize=(WIDTH_IN, height_in), layout="constrained")


_ID_RE = re.compile(r'\bid="([^"]+)"')


def figure_svg(fig, chart_id: str, label: str) -> str:
    """The figure as an embeddable, deterministic <svg> element with ids prefixed by chart_id."""
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None, "Format": None, "Type": None})
    svg = buf.getvalue()
    svg = svg[svg.index("<svg"):]  # drop the XML prolog and DOCTYPE
    svg = re.sub(r"<metadata>.*?</metadata>\s*", "", svg, flags=re.S)
    found = _ID_RE.findall(svg)
    if len(found) != len(set(found)):
        repeated = sorted({i for i in found if found.count(i) > 1})
        raise AssertionError(f"chart {chart_id}: repeated element ids {repeated}")
    ids = set(found)
    if ids:
        names = "|".join(re.escape(i) for i in sorted(ids, key=len, reverse=True))
        svg = re.sub(rf'\bid="({names})"', lambda m: f'id="{chart_id}-{m.group(1)}"', svg)
        svg = re.sub(rf'(href="#|url\(#)({names})([")])',
                     lambda m: f"{m.group(1)}{chart_id}-{m.group(2)}{m.group(3)}", svg)
    head_end = svg.index(">")
    head = svg[:head_end]
    head = re.sub(r'\s(width|height)="[^"]*"', "", head)
    esc = _xml_escape(label)
    head += (f' width="100%" style="height:auto;max-width:100%;display:block" role="img" '
             f'aria-label="{esc}" data-chart="{chart_id}"')
    return f"{head}>\n <title>{esc}</title>{svg[head_end + 1:]}".rstrip() + "\n"


def _xml_escape(text: str) -> str:
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))


def _chart(chart_id: str, title: str, caption: str, fig, data: list[dict[str, Any]]) -> dict[str, Any]:
    svg = figure_svg(fig, chart_id, f"{title}. {caption}")
    return {"id": chart_id, "title": title, "caption": caption, "svg": svg, "data": data}


def _no_data(chart_id: str, title: str, message: str) -> dict[str, Any]:
    fig = _figure(1.6)
    ax = fig.add_subplot()
    ax.set_title(title, loc="left")
    ax.set_xticks([])
    ax.set_yticks([])
    for side in ax.spines.values():
        side.set_linestyle((0, (3, 3)))
        side.set_edgecolor("#999999")
    ax.text(0.5, 0.5, "No data", transform=ax.transAxes, ha="center", va="center", fontsize=13,
            fontweight="bold", color="#555555", gid="nodata")
    ax.text(0.5, 0.22, message, transform=ax.transAxes, ha="center", va="center", fontsize=8.5,
            color="#444444", wrap=True)
    return _chart(chart_id, title, f"No data: {message}", fig, [])


def _plain(value):
    """A JSON-friendly value (dates as ISO text)."""
    if isinstance(value, date):
        return value.isoformat()
    return value


def _plain_rows(rows: list[dict], keys: tuple[str, ...]) -> list[dict]:
    return [{k: _plain(r[k]) for k in keys} for r in rows]


# ---- 1. satisfaction and trust by wave -----------------------------------------------------------

def satisfaction_trust_chart(con, quarter: str, settings) -> dict[str, Any]:
    chart_id = "satisfaction_trust"
    # the two lines are the items [survey] satisfaction_item and trust_item name (either may be none)
    roles = [settings.instrument.satisfaction_item, settings.instrument.trust_item]
    named = [i for i in dict.fromkeys(roles) if i]
    title = (" and ".join([item_name(named[0])] + [item_name(i).lower() for i in named[1:]]) if named
             else "Satisfaction and trust") + " by survey wave"
    if not named:
        return _no_data(chart_id, title, "the survey declares no satisfaction or trust item ([survey] "
                                         "satisfaction_item and trust_item are empty).")
    rows = chart_rows(con, chart_id, quarter, first_item=roles[0], second_item=roles[1])
    small_n = int(settings.small_n)
    items = [i for i in named if any(r["item"] == i for r in rows)]
    if not items or not any(r["n"] for r in rows):
        return _no_data(chart_id, title, f"no survey answers to the {' or '.join(item_name(i).lower() for i in named)} "
                                         f"item{'s' if len(named) > 1 else ''} up to {quarter}.")
    waves = sorted({(r["seq"], r["wave"]) for r in rows})
    x_of = {w: i for i, (_, w) in enumerate(waves)}
    by_item = {i: [r for r in rows if r["item"] == i] for i in items}
    scale = [settings.item_scale(i) for i in items]
    y_min, y_max = min(s[0] for s in scale), max(s[1] for s in scale)
    look = [dict(color=DARK, linestyle="-", marker="o", band=dict(facecolor=DARK, alpha=0.16)),
            dict(color=MID, linestyle="--", marker="s",
                 band=dict(facecolor="none", edgecolor=MID, hatch="////", alpha=0.55, linewidth=0))]
    styles = {item: look[named.index(item)] for item in items}

    fig = _figure(3.6)
    ax = fig.add_subplot()
    for item in items:
        st = styles[item]
        dodge = 0.0 if len(items) == 1 else (-0.06 if item == items[0] else 0.06)
        shown = [r for r in by_item[item] if r["n"] and not r["is_suppressed"] and r["mean"] is not None]
        xs = [x_of[r["wave"]] + dodge for r in shown]
        # a band and a line per run of consecutive shown waves: no value is drawn across a gap; a
        # wave alone between gaps gets its interval as a whisker
        for run in _runs([x_of[r["wave"]] for r in shown]):
            sel = [r for r in shown if x_of[r["wave"]] in run]
            run = [x + dodge for x in run]
            lo = [r["ci_low"] if r["ci_low"] is not None else r["mean"] for r in sel]
            hi = [r["ci_high"] if r["ci_high"] is not None else r["mean"] for r in sel]
            if len(run) == 1:
                ax.vlines(run, lo, hi, color=st["color"], linestyle=st["linestyle"], linewidth=1.2, zorder=2)
                continue
            ax.fill_between(run, lo, hi, zorder=1, **st["band"])
            ax.plot(run, [r["mean"] for r in sel], color=st["color"], linestyle=st["linestyle"], linewidth=1.8,
                    zorder=3)
        ax.plot(xs, [r["mean"] for r in shown], linestyle="none", marker=st["marker"], markersize=6,
                color=st["color"], markeredgecolor="white", markeredgewidth=0.8, zorder=4,
                gid=f"points-{item}", label=f"{item_name(item)} (mean, 95% interval)")
        supp = [r for r in by_item[item] if r["is_suppressed"]]
        if supp:
            ax.plot([x_of[r["wave"]] for r in supp], [y_min + 0.12 * (1 + items.index(item))] * len(supp),
                    linestyle="none", marker=st["marker"], markersize=6, markerfacecolor="white",
                    markeredgecolor=st["color"], markeredgewidth=1.3, zorder=4,
                    gid=f"suppressed-{item}", label=f"{item_name(item)}: n<{small_n}, not shown")
    for seq, wave in waves:
        wave_rows = [r for r in rows if r["wave"] == wave]
        if any(r["is_suppressed"] for r in wave_rows):
            ax.text(x_of[wave], y_min + 0.12 * (len(items) + 1) + 0.05, f"n<{small_n}", ha="center",
                    va="bottom", fontsize=7.5, color="#333333", gid=f"small-n-{wave}")
    ax.set_xticks(range(len(waves)))
    ax.set_xticklabels([f"{w}\n{_wave_n(rows, w, items, small_n)}" for _, w in waves])
    ax.set_xlim(-0.5, len(waves) - 0.5)
    ax.set_ylim(y_min, y_max)
    ax.set_yticks(range(y_min, y_max + 1))
    ax.set_ylabel(f"Mean answer ({y_min}–{y_max} scale)")
    ax.set_xlabel("Survey wave (quarter) and responses n"
                  + (f" ({' / '.join(item_name(i).lower() for i in items)})" if len(items) == 2 else ""))
    ax.set_title(title, loc="left")
    ax.grid(axis="y", color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
    fig.legend(loc="outside lower center", ncols=2, frameon=False)

    questions = "; ".join(f"{item_name(i)}: “{settings.survey_items[i]}”" for i in items)
    bands = ", ".join(f"{'shaded band' if styles[i] is look[0] else 'hatched'} for {item_name(i).lower()}"
                      for i in items)
    caption = (f"Mean answer per wave with its 95% t-interval ({bands}), n = responses answering the item. Waves with fewer than {small_n} responses are "
               f"suppressed (small-n rule): marked with a hollow marker and “n<{small_n}” at the bottom, no "
               f"value drawn. {questions}")
    data = _plain_rows(rows, ("wave", "item", "n", "mean", "ci_low", "ci_high", "is_suppressed"))
    for d in data:
        if d["is_suppressed"]:
            d["mean"] = d["ci_low"] = d["ci_high"] = None  # never leaves as a number
    return _chart(chart_id, title, caption, fig, data)


def _runs(xs: list[int]) -> list[list[int]]:
    runs: list[list[int]] = []
    for x in xs:
        if runs and x == runs[-1][-1] + 1:
            runs[-1].append(x)
        else:
            runs.append([x])
    return runs


def _wave_n(rows, wave, items, small_n) -> str:
    ns = []
    for item in items:
        r = next(r for r in rows if r["wave"] == wave and r["item"] == item)
        ns.append(f"<{small_n}" if r["is_suppressed"] else str(r["n"]))
    if len(set(ns)) == 1:
        return f"n{ns[0]}" if ns[0].startswith("<") else f"n={ns[0]}"
    return "n=" + "/".join(ns)


# ---- 2. attendance heatmap --------------------------------------------------------------------------

def attendance_heatmap_chart(con, quarter: str, settings) -> dict[str, Any]:
    chart_id = "attendance_heatmap"
    title = "Attendance by member and month"
    rows = chart_rows(con, chart_id, quarter)
    if not rows or not any(r["count_expected"] for r in rows):
        return _no_data(chart_id, title,
                        f"no counted meetings with expected members in the 12 months up to {quarter}.")
    import numpy as np
    from matplotlib.patches import Rectangle

    members = list(dict.fromkeys((r["member_id"], r["organization"]) for r in rows))
    months = sorted({r["month"] for r in rows})
    cell = {(r["member_id"], r["month"]): r for r in rows}
    grid = np.full((len(members), len(months)), np.nan)
    for i, (mid, _) in enumerate(members):
        for j, m in enumerate(months):
            rate = cell[(mid, m)]["attendance_rate"]
            if rate is not None:
                grid[i, j] = rate * 100

    # at least tall enough for the vertical axis and colour-bar labels (a coalition of one or two members)
    fig = _figure(max(2.4, 1.3 + 0.3 * len(members)))
    ax = fig.add_subplot()
    cmap = _cmap("Blues")
    mesh = ax.imshow(np.ma.masked_invalid(grid), cmap=cmap, vmin=0, vmax=100, aspect="auto",
                     interpolation="nearest")
    for i, (mid, _) in enumerate(members):
        for j, m in enumerate(months):
            r = cell[(mid, m)]
            if r["attendance_rate"] is None:
                ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, facecolor="white", edgecolor="#b0b0b0",
                                       hatch="////", linewidth=0))
                if r["count_expected"]:
                    ax.text(j, i, "exc.", ha="center", va="center", fontsize=6.5, color="#333333", in_layout=False)
                continue
            value = r["attendance_rate"] * 100
            ax.text(j, i, f"{value:.0f}%", ha="center", va="center", fontsize=7,
                    color="white" if value >= 55 else INK, gid=f"cell-{mid}-{m.isoformat()}", in_layout=False)
    ax.set_yticks(range(len(members)))
    ax.set_yticklabels([member_label(org) for _, org in members])
    meetings = {r["month"]: r["count_meetings"] for r in rows}
    ax.set_xticks(range(len(months)))
    ax.set_xticklabels([f"{m:%b}\n{m:%Y}\nn={meetings[m]}" for m in months])
    ax.tick_params(length=0)
    ax.set_xlabel("Calendar month (n = counted meetings held)")
    ax.set_ylabel("Member organization")
    ax.set_title(title, loc="left")
    for side in ax.spines.values():
        side.set_visible(False)
    bar = fig.colorbar(mesh, ax=ax, fraction=0.04, pad=0.01)
    bar.set_label("Attendance rate (%)")
    first, last = months[0], months[-1]
    as_of = con.execute("select as_of from ref.quarters where quarter = ?", [quarter]).fetchone()[0]
    caption = (f"Each cell: the member's attendance rate at counted meetings "
               f"({', '.join(kind_name(k) for k in settings.counted_kinds).lower()}) in that calendar month, "
               f"present / (present + absent), excused left out. The {_months(len(months))} {first:%B %Y} to "
               f"{last:%B %Y} (up to {as_of.isoformat()}). Hatched: the member was not expected that month "
               f"(not yet joined, left, or no counted meeting); “exc.”: excused from every meeting. "
               f"{len(members)} members.")
    data = [{"member_id": r["member_id"], "organization": r["organization"], "month": r["month"].isoformat(),
             "count_expected": r["count_expected"], "count_present": r["count_present"],
             "count_absent": r["count_absent"], "count_excused": r["count_excused"],
             "attendance_rate": r["attendance_rate"]} for r in rows]
    return _chart(chart_id, title, caption, fig, data)


def _months(count: int) -> str:
    return "month" if count == 1 else f"{count} months"


def _cmap(name: str):
    import matplotlib

    return matplotlib.colormaps[name].resampled(256)


# ---- 3. task completion and on-time trend ---------------------------------------------------------

def task_trend_chart(con, quarter: str, settings) -> dict[str, Any]:
    chart_id = "task_trend"
    title = "Task completion and on-time rate by quarter"
    rows = chart_rows(con, chart_id, quarter)
    if not any(r["count_due"] for r in rows):
        return _no_data(chart_id, title, f"no tasks due in any quarter up to {quarter}.")
    fig = _figure(3.2)
    ax = fig.add_subplot()
    xs = list(range(len(rows)))
    series = (
        ("task_completion_rate", "Completed (of tasks due)", dict(color=DARK, linestyle="-", marker="o")),
        ("on_time_rate", "On time (of tasks completed)", dict(color=MID, linestyle="--", marker="s")),
    )
    for key, label, st in series:
        pts = [(x, r[key] * 100) for x, r in zip(xs, rows) if r[key] is not None]
        for run in _runs([x for x, _ in pts]):
            ax.plot(run, [v for x, v in pts if x in run], linewidth=1.8, color=st["color"],
                    linestyle=st["linestyle"], zorder=2)
        ax.plot([x for x, _ in pts], [v for _, v in pts], linestyle="none", marker=st["marker"], markersize=6,
                color=st["color"], markeredgecolor="white", markeredgewidth=0.8, zorder=3,
                gid=f"points-{key}", label=label)
    current = next(i for i, r in enumerate(rows) if r["quarter"] == quarter)
    for key, _, st in series:
        value = rows[current][key]
        if value is not None:
            ax.annotate(_pct(value), (current, value * 100), xytext=(6, 0 if key == "task_completion_rate" else -11),
                        textcoords="offset points", fontsize=7.5, color=st["color"], fontweight="bold")
    ax.set_xticks(xs)
    ax.set_xticklabels([f"{r['quarter']}\nn={r['count_due']}" for r in rows])
    ax.set_xlim(-0.5, len(rows) - 0.5)
    ax.set_ylim(0, 118)
    ax.set_yticks(range(0, 101, 20))
    ax.set_yticklabels([f"{v}%" for v in range(0, 101, 20)])
    ax.set_ylabel("Share of tasks (%)")
    ax.set_xlabel("Quarter (n = tasks due in the quarter)")
    ax.set_title(title, loc="left")
    ax.grid(axis="y", color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
    ax.legend(loc="upper left", ncols=2, frameon=False)
    caption = ("Completed: tasks due in the quarter that were completed by its end (or by as_of for a "
               "quarter to date), of the n tasks due. On time: of those completed, the ones completed on or "
               "before their due date. A quarter with no tasks due has no point.")
    data = _plain_rows(rows, ("quarter", "count_due", "count_completed_by_end", "count_on_time",
                              "task_completion_rate", "on_time_rate"))
    return _chart(chart_id, title, caption, fig, data)


# ---- 4. task ownership share by member -------------------------------------------------------------

def task_ownership_chart(con, quarter: str, settings) -> dict[str, Any]:
    chart_id = "task_ownership"
    title = f"Task ownership by member, {quarter}"
    rows = chart_rows(con, chart_id, quarter)
    if not rows:
        return _no_data(chart_id, title, f"no tasks with an owner are due in {quarter}.")
    threshold = float(settings.data["metrics"]["champion_share"])
    total = sum(r["count_items"] for r in rows)
    fig = _figure(1.2 + 0.32 * len(rows))
    ax = fig.add_subplot()
    ys = list(range(len(rows)))
    over = [r["share"] > threshold for r in rows]
    bars = ax.barh(ys, [r["share"] * 100 for r in rows], height=0.62,
                   color=[DARK if o else LIGHT for o in over], edgecolor=[DARK if o else "#5a6680" for o in over],
                   hatch=None)
    for bar, r in zip(bars, rows):
        bar.set_gid(f"bar-{r['member_id']}")
    for bar, o in zip(bars, over):
        if o:
            bar.set_hatch("xx")
            bar.set_edgecolor("white")
    for y, r in zip(ys, rows):
        ax.text(r["share"] * 100 + 1, y, f"{r['share']:.0%} ({r['count_items']})", va="center", fontsize=7.5,
                in_layout=False)
    ax.axvline(threshold * 100, color=INK, linestyle=(0, (4, 2)), linewidth=1.2, gid="threshold")
    ax.text(threshold * 100 + 0.8, -0.8, f"single-champion threshold {threshold:.0%}",
            fontsize=7.5, va="center", ha="left", color=INK)
    ax.set_yticks(ys)
    ax.set_yticklabels([member_label(r["organization"]) for r in rows])
    ax.invert_yaxis()
    top = max(max(r["share"] for r in rows), threshold) * 100
    ax.set_xlim(0, min(100, top + 25) if top < 80 else 115)
    ax.set_ylim(len(rows) - 0.5, -1.1)
    ax.set_xlabel(f"Share of the {total} tasks due in {quarter} that the member owns (%)")
    ax.set_title(title, loc="left")
    ax.grid(axis="x", color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
    caption = (f"Each bar: the member's share of the quarter's tasks by owner (tasks due in {quarter}, "
               f"n = {total}; the count in brackets). The dashed line is the single-champion threshold "
               f"([metrics] champion_share = {threshold:.0%}); a bar beyond it is dark and cross-hatched.")
    data = _plain_rows(rows, ("member_id", "organization", "count_items", "share"))
    return _chart(chart_id, title, caption, fig, data)


# ---- 5. goal progress against the expected trajectory ------------------------------------------------

def goal_progress_chart(con, quarter: str, settings) -> dict[str, Any]:
    chart_id = "goal_progress"
    title = "Goal progress against the expected trajectory"
    rows = chart_rows(con, chart_id, quarter)
    goals = list(dict.fromkeys(r["goal_id"] for r in rows))
    if not goals:
        return _no_data(chart_id, title, "the goals tab has no goals.")
    import matplotlib.dates as mdates

    fig = _figure(0.6 + 2.5 * len(goals))
    axes = fig.subplots(len(goals), 1, squeeze=False)[:, 0]
    data = []
    for ax, goal_id in zip(axes, goals):
        grows = [r for r in rows if r["goal_id"] == goal_id]
        g = grows[0]
        margin = float(g["on_track_margin"])
        start, end, as_of = g["baseline_on"], g["target_on"], g["as_of"]
        right = max(end, as_of)
        if end > start:
            ax.plot([start, end], [0, 100], color="#555555", linestyle=(0, (5, 3)), linewidth=1.3,
                    label="Expected (straight line baseline → target)", gid=f"expected-{goal_id}")
            ax.fill_between([start, end], [-margin * 100, (1 - margin) * 100], [0, 100], color=PALE,
                            linewidth=0, zorder=0, label=f"On track: within {margin:.0%} below expected")
        meas = [r for r in grows if r["measured_on"] is not None and r["progress"] is not None]
        if meas:
            ax.plot([r["measured_on"] for r in meas], [r["progress"] * 100 for r in meas], color=DARK,
                    linewidth=1.8, marker="o", markersize=5, markeredgecolor="white", markeredgewidth=0.8,
                    label=f"Measured (n={len(meas)})", gid=f"measured-{goal_id}", zorder=3)
        else:
            ax.text(0.5, 0.55, "no measurement yet" if g["target"] != g["baseline"] else
                    "target equals baseline: progress undefined", transform=ax.transAxes, ha="center",
                    fontsize=8.5, color="#444444")
        ax.axvline(as_of, color=INK, linestyle=":", linewidth=1)
        late = (as_of - start) > (right - start) / 2
        ax.annotate(f"as of {as_of.isoformat()}", (as_of, 1.0), xycoords=("data", "axes fraction"),
                    xytext=(-3 if late else 3, -3), textcoords="offset points", ha="right" if late else "left",
                    va="top", fontsize=7)
        values = [r["progress"] * 100 for r in meas] + [0, 100, -margin * 100]
        ax.set_ylim(min(values) - 8, max(values) + 12)
        ax.set_xlim(start - timedelta(days=20), right + timedelta(days=20))
        ax.xaxis.set_major_locator(mdates.MonthLocator(bymonth=(1, 7)))
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%b %Y"))
        ax.set_ylabel("Progress to target (%)")
        ax.grid(color="#e4e4e4", linewidth=0.6)
        ax.set_axisbelow(True)
        unit = f" {g['unit']}" if g["unit"] else ""
        status = _goal_status(g)
        ax.set_title(f"{short_text(g['statement'], 95, 2)}\n"
                     f"baseline {_num(g['baseline'])} → target {_num(g['target'])}{unit}; {status}",
                     loc="left", fontsize=8.5)
        ax.legend(loc="lower right", fontsize=7, frameon=False)  # below the rising expected line
        for r in grows:
            data.append({"goal_id": goal_id, "statement": g["statement"], "measured_on": _plain(r["measured_on"]),
                         "value": r["value"], "progress": r["progress"]})
    axes[-1].set_xlabel("Date")
    fig.suptitle(title, x=0.01, ha="left", fontsize=10)
    caption = ("Per goal: progress measured as (value − baseline) / (target − baseline), direction-aware, so "
               "0% is the baseline and 100% the target; n = measurements up to the quarter's as_of. The dashed "
               "line is the expected straight path from baseline date (0%) to target date (100%); the shaded "
               f"band below it is the on-track margin ([metrics] on_track_margin = {margin:.0%}).")
    return _chart(chart_id, title, caption, fig, data)


def _goal_status(g: dict) -> str:
    if g["quarter_progress"] is None:
        return "no measurement yet" if g["target"] != g["baseline"] else "target equals baseline"
    if g["quarter_expected"] is None:
        return f"progress {g['quarter_progress']:.0%} (no expected path: target date not after baseline date)"
    return (f"progress {g['quarter_progress']:.0%} vs expected {g['quarter_expected']:.0%}: "
            + ("on track" if g["on_track"] else "behind"))


def _num(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


# ---- 6. cadence by kind ------------------------------------------------------------------------------

def cadence_chart(con, quarter: str, settings) -> dict[str, Any]:
    chart_id = "cadence"
    title = f"Meetings held against the expected cadence, {quarter}"
    rows = chart_rows(con, chart_id, quarter)
    if not rows or not any(r["meetings_held"] or r["expected_per_quarter"] for r in rows):
        return _no_data(chart_id, title, f"no meetings held and no expected cadence in {quarter}.")
    to_date = rows[0]["is_to_date"]
    fig = _figure(3.0)
    ax = fig.add_subplot()
    xs = list(range(len(rows)))
    w = 0.38
    held = ax.bar([x - w / 2 for x in xs], [r["meetings_held"] for r in rows], width=w, color=DARK,
                  label="Held")
    for bar, r in zip(held, rows):
        bar.set_gid(f"held-{r['kind']}")
    expected = [r["expected_to_date"] if r["expected_per_quarter"] else 0 for r in rows]
    ax.bar([x + w / 2 for x in xs], expected, width=w, color="white", edgecolor="#555555", hatch="///",
           linewidth=1, label="Expected" + (" (to date)" if to_date else ""))
    top = max([r["meetings_held"] for r in rows] + expected + [1])
    for x, r, b in zip(xs, rows, held):
        ax.text(x - w / 2, r["meetings_held"] + top * 0.02, str(r["meetings_held"]), ha="center", va="bottom",
                fontsize=7.5, in_layout=False)
        if r["expected_per_quarter"]:
            ax.text(x + w / 2, r["expected_to_date"] + top * 0.02, _num(r["expected_to_date"]), ha="center",
                    va="bottom", fontsize=7.5, in_layout=False)
        else:
            ax.text(x + w / 2, top * 0.02, "no set\ncadence", ha="center", va="bottom", fontsize=6.5,
                    color="#444444", in_layout=False)
    ax.set_xticks(xs)
    ax.set_xticklabels([kind_name(r["kind"]) + ("" if r["cadence_adherence"] is None else
                                                 f"\nadherence {r['cadence_adherence']:.0%}") for r in rows])
    ax.set_ylim(0, top * 1.25)
    ax.set_ylabel("Meetings (count)")
    ax.set_xlabel("Meeting kind")
    ax.set_title(title, loc="left")
    ax.grid(axis="y", color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
    ax.legend(loc="upper right", frameon=False)
    total = sum(r["meetings_held"] for r in rows)
    caption = (f"Meetings of each kind held in {quarter}" + (" up to as_of" if to_date else "")
               + f" (n = {total}) against the expected number per quarter ([cadence] in the config"
               + (", prorated to the days elapsed" if to_date else "")
               + "); adherence = min(1, held / expected). Kinds with no set cadence show held only.")
    data = _plain_rows(rows, ("kind", "meetings_held", "expected_per_quarter", "expected_to_date",
                              "cadence_adherence"))
    return _chart(chart_id, title, caption, fig, data)
