"""The quarterly report's charts: SVG written directly (coalition_metrics/svg.py), inline in the page.

``report_charts(con, quarter=..., settings=...)`` gives the six charts of the report, always all six
and in this order (a chart without data draws an explicit "no data" panel):

    satisfaction_trust, attendance_heatmap, task_trend, task_ownership, goal_progress, cadence

Each is a dict ``{"id", "title", "caption", "svg", "data"}``: ``svg`` is an ``<svg>`` element (no
XML prolog) with ``role="img"``, an ``aria-label`` and a ``<title>``, sized by its viewBox to the
width of its container; ``data`` is the list of rows the chart plots (plain values, for a data table
next to the chart and for tests).

The data comes from the SQL files in reports/chart_data/ over the marts, keyed by coalition
(chart_data reads each chart once for several coalitions; keyed_reads.py); nothing here computes a
metric. No drawing library is involved (a run never imports matplotlib): each chart is a few dozen
SVG elements built as text, so drawing is a matter of milliseconds, the same data gives the same
bytes, and charts can be drawn from several threads. Every element id is prefixed with the chart id
so several charts can share one HTML page. Text is real ``<text>`` in the report's font (DejaVu
Sans), laid out with the font's character widths. Series are told apart by line style, marker,
hatch and lightness, never by hue alone, so they survive grey-scale printing.
"""

from __future__ import annotations

import functools
import textwrap
from datetime import date, timedelta
from typing import Any, Callable

from . import svg as S
from .config import PROJECT_ROOT
from .errors import CoalitionError
from .svg import Box, Canvas, Key, Scale

CHART_DATA_DIR = PROJECT_ROOT / "reports" / "chart_data"
CHART_IDS = ("satisfaction_trust", "attendance_heatmap", "task_trend", "task_ownership",
             "goal_progress", "cadence")

FONT_FAMILY = S.FONT_FAMILY
W = S.WIDTH
DARK, MID, LIGHT, PALE = "#1b2f5b", "#8a5a00", "#9aa7bf", "#e6e9ef"  # dark blue, dark amber, greys
INK = S.INK
DASHED = "6.66 2.88"  # a 1.8-wide dashed line
# ColorBrewer's sequential "Blues" (9 classes), interpolated linearly: the heatmap's 0 % .. 100 %
BLUES = ("#f7fbff", "#deebf7", "#c6dbef", "#9ecae1", "#6baed6", "#4292c6", "#2171b5", "#08519c", "#08306b")
TOP = 24.0  # the top of a plot under the chart's title


# ---- entry point -----------------------------------------------------------------------------

def report_charts(con, *, quarter: str, settings, data: dict[str, list[dict[str, Any]]] | None = None
                  ) -> list[dict[str, Any]]:
    """The report's six charts for ``quarter`` (a label in ref.quarters), in CHART_IDS order.
    ``data``: this coalition's rows of every chart (chart_data read them with other coalitions'),
    else they are read now."""
    known = con.execute("select count(*) from ref.quarters where quarter = ?", [quarter]).fetchone()[0]
    if not known:
        first_last = con.execute("select min(quarter), max(quarter) from ref.quarters").fetchone()
        raise CoalitionError(
            f"No charts for quarter {quarter}: the database holds quarters {first_last[0]} to "
            f"{first_last[1]}. Pick one of those, or run the pipeline for {quarter} first."
        )
    if data is None:
        from .keyed_reads import current_coalition

        cid = current_coalition(con)
        data = chart_data(con, [(cid, quarter, settings)])[cid]
    builders: dict[str, Callable] = {
        "satisfaction_trust": satisfaction_trust_chart,
        "attendance_heatmap": attendance_heatmap_chart,
        "task_trend": task_trend_chart,
        "task_ownership": task_ownership_chart,
        "goal_progress": goal_progress_chart,
        "cadence": cadence_chart,
    }
    return [builders[chart_id](con, quarter, settings, data[chart_id]) for chart_id in CHART_IDS]


def chart_data(con, coalitions: list[tuple[str, str, Any]]) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """The rows of every chart (reports/chart_data/<chart>.sql, one query per chart for all of them)
    for each (coalition id, report quarter, settings): coalition id -> chart id -> rows as dicts.
    The satisfaction chart's items are the coalition's [survey] satisfaction_item and trust_item."""
    from .keyed_reads import keyed_rows

    scope = [{"coalition_id": cid, "quarter": quarter, "first_item": settings.instrument.satisfaction_item,
              "second_item": settings.instrument.trust_item} for cid, quarter, settings in coalitions]
    out: dict[str, dict[str, list[dict[str, Any]]]] = {cid: {} for cid, _, _ in coalitions}
    for chart_id in CHART_IDS:
        sql = (CHART_DATA_DIR / f"{chart_id}.sql").read_text(encoding="utf-8")
        for cid, rows in keyed_rows(con, sql, scope).items():
            out[cid][chart_id] = rows
    return out


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


# ---- shared pieces ---------------------------------------------------------------------------------

def _chart(chart_id: str, title: str, caption: str, canvas: Canvas, data: list[dict[str, Any]]) -> dict[str, Any]:
    svg = canvas.svg(f"{title}. {caption}")
    return {"id": chart_id, "title": title, "caption": caption, "svg": svg, "data": data}


def _no_data(chart_id: str, title: str, message: str) -> dict[str, Any]:
    c = Canvas(chart_id)
    box = Box(6, TOP, W - 6, TOP + 86)
    S.title(c, box.left, title)
    S.frame(c, box, color="#999999", dash="3 3")
    c.text(W / 2, box.top + 34, "No data", 13, anchor="middle", color="#555555", bold=True, valign="middle",
           gid="nodata")
    c.lines(W / 2, box.top + 54, S.fit_lines(message, box.width - 30, 8.5, lines=3), 8.5, anchor="middle",
            color="#444444")
    c.height = box.bottom + 6
    return _chart(chart_id, title, f"No data: {message}", c, [])


def _plain(value):
    """A JSON-friendly value (dates as ISO text)."""
    if isinstance(value, date):
        return value.isoformat()
    return value


def _plain_rows(rows: list[dict], keys: tuple[str, ...]) -> list[dict]:
    return [{k: _plain(r[k]) for k in keys} for r in rows]


def _left_margin(tick_labels: list[str], axis_label: bool = True) -> float:
    """The plot's left edge: room for a vertical axis label, the tick labels and the tick marks."""
    return 6 + (S.LABEL_SIZE + 6 if axis_label else 0) + S.y_tick_width(tick_labels) + S.TICK + 4


def _runs(xs: list[int]) -> list[list[int]]:
    runs: list[list[int]] = []
    for x in xs:
        if runs and x == runs[-1][-1] + 1:
            runs[-1].append(x)
        else:
            runs.append([x])
    return runs


# ---- 1. satisfaction and trust by wave -----------------------------------------------------------

def satisfaction_trust_chart(con, quarter: str, settings, rows: list[dict[str, Any]]) -> dict[str, Any]:
    chart_id = "satisfaction_trust"
    # the two lines are the items [survey] satisfaction_item and trust_item name (either may be none)
    roles = [settings.instrument.satisfaction_item, settings.instrument.trust_item]
    named = [i for i in dict.fromkeys(roles) if i]
    title = (" and ".join([item_name(named[0])] + [item_name(i).lower() for i in named[1:]]) if named
             else "Satisfaction and trust") + " by survey wave"
    if not named:
        return _no_data(chart_id, title, "the survey declares no satisfaction or trust item ([survey] "
                                         "satisfaction_item and trust_item are empty).")
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

    c = Canvas(chart_id)
    y_ticks = list(range(y_min, y_max + 1))
    box = Box(_left_margin([str(t) for t in y_ticks]), TOP, W - 8, TOP + 170)
    xpos = Scale(-0.5, len(waves) - 0.5, box.left, box.right)
    ypos = Scale(y_min, y_max, box.bottom, box.top)
    look = [dict(color=DARK, dash=None, shape="o", fill=DARK, opacity=0.16),
            dict(color=MID, dash=DASHED, shape="s", fill=None, opacity=0.55)]
    styles = {item: look[named.index(item)] for item in items}
    if look[1] in styles.values():
        look[1]["fill"] = c.hatch(MID, "/", 6.0, 0.8)

    S.title(c, box.left, title)
    S.y_axis(c, box, ypos, y_ticks)
    c.open("series", clip=c.clip("plot", box))
    for item in items:
        st = styles[item]
        dodge = 0.0 if len(items) == 1 else (-0.06 if item == items[0] else 0.06)
        shown = [r for r in by_item[item] if r["n"] and not r["is_suppressed"] and r["mean"] is not None]
        # a band and a line per run of consecutive shown waves: no value is drawn across a gap; a
        # wave alone between gaps gets its interval as a whisker
        for run in _runs([x_of[r["wave"]] for r in shown]):
            sel = [r for r in shown if x_of[r["wave"]] in run]
            xs = [xpos(x + dodge) for x in run]
            lo = [ypos(r["ci_low"] if r["ci_low"] is not None else r["mean"]) for r in sel]
            hi = [ypos(r["ci_high"] if r["ci_high"] is not None else r["mean"]) for r in sel]
            if len(run) == 1:
                c.line(xs[0], lo[0], xs[0], hi[0], st["color"], 1.2, st["dash"])
                continue
            c.area(list(zip(xs, hi)) + list(zip(xs, lo))[::-1], st["fill"], st["opacity"])
            c.path([(x, ypos(r["mean"])) for x, r in zip(xs, sel)], st["color"], 1.8, st["dash"])
    c.close()
    for item in items:
        st = styles[item]
        dodge = 0.0 if len(items) == 1 else (-0.06 if item == items[0] else 0.06)
        shown = [r for r in by_item[item] if r["n"] and not r["is_suppressed"] and r["mean"] is not None]
        mark = c.marker(st["shape"], st["color"])
        c.open(f"points-{item}")
        for r in shown:
            c.use(mark, xpos(x_of[r["wave"]] + dodge), ypos(r["mean"]))
        c.close()
        supp = [r for r in by_item[item] if r["is_suppressed"]]
        if supp:
            hollow = c.marker(st["shape"], st["color"], hollow=True)
            c.open(f"suppressed-{item}")
            for r in supp:  # side by side at the bottom, where no value is
                c.use(hollow, xpos(x_of[r["wave"]] + dodge * 2), box.bottom - 7)
            c.close()
    for seq, wave in waves:
        if any(r["is_suppressed"] for r in rows if r["wave"] == wave):
            c.text(xpos(x_of[wave]), box.bottom - 15, f"n<{small_n}", 7.5, anchor="middle", color="#333333",
                   valign="bottom", gid=f"small-n-{wave}")
    S.frame(c, box)
    low = S.x_axis(c, box, [xpos(i) for i in range(len(waves))],
                   [[w, _wave_n(rows, w, items, small_n)] for _, w in waves])
    S.axis_label_left(c, box, f"Mean answer ({y_min}–{y_max} scale)")
    low = S.axis_label_bottom(c, box, "Survey wave (quarter) and responses n"
                              + (f" ({' / '.join(item_name(i).lower() for i in items)})" if len(items) == 2 else ""),
                              low + 6)
    keys = [Key(f"{item_name(i)} (mean, 95% interval)", line=(styles[i]["color"], 1.8, styles[i]["dash"]),
                marker=c.marker(styles[i]["shape"], styles[i]["color"])) for i in items]
    keys += [Key(f"{item_name(i)}: n<{small_n}, not shown", marker=c.marker(styles[i]["shape"], styles[i]["color"], True))
             for i in items if any(r["is_suppressed"] for r in by_item[i])]
    c.height = S.legend(c, keys, (box.left + box.right) / 2, low + 5, ncols=min(2, len(keys)), align="middle") + 6

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
    return _chart(chart_id, title, caption, c, data)


def _wave_n(rows, wave, items, small_n) -> str:
    ns = []
    for item in items:
        r = next(r for r in rows if r["wave"] == wave and r["item"] == item)
        ns.append(f"<{small_n}" if r["is_suppressed"] else str(r["n"]))
    if len(set(ns)) == 1:
        return f"n{ns[0]}" if ns[0].startswith("<") else f"n={ns[0]}"
    return "n=" + "/".join(ns)


# ---- 2. attendance heatmap --------------------------------------------------------------------------

@functools.lru_cache(maxsize=4096)
def blues(share: float) -> str:
    """The heatmap colour of a rate 0..1 (BLUES interpolated); each rate's colour computed once."""
    pos = min(max(share, 0.0), 1.0) * (len(BLUES) - 1)
    i = min(int(pos), len(BLUES) - 2)
    a, b = BLUES[i], BLUES[i + 1]
    t = pos - i
    mix = [round(int(a[k:k + 2], 16) * (1 - t) + int(b[k:k + 2], 16) * t) for k in (1, 3, 5)]
    return "#" + "".join(f"{v:02x}" for v in mix)


def attendance_heatmap_chart(con, quarter: str, settings, rows: list[dict[str, Any]]) -> dict[str, Any]:
    chart_id = "attendance_heatmap"
    title = "Attendance by member and month"
    if not rows or not any(r["count_expected"] for r in rows):
        return _no_data(chart_id, title,
                        f"no counted meetings with expected members in the 12 months up to {quarter}.")
    members = list(dict.fromkeys((r["member_id"], r["organization"]) for r in rows))
    months = sorted({r["month"] for r in rows})
    cell = {(r["member_id"], r["month"]): r for r in rows}
    labels = [member_label(org).split("\n") for _, org in members]

    c = Canvas(chart_id)
    label_w = max(S.text_width(line, S.TICK_SIZE) for lines in labels for line in lines)
    bar_w, bar_ticks_w = 10.0, S.text_width("100", S.TICK_SIZE)
    right = W - 6 - (S.LABEL_SIZE + 4) - 4 - bar_ticks_w - S.TICK - 3 - bar_w - 10
    # at least tall enough for the vertical axis and colour-bar labels (a coalition of one or two members)
    box = Box(6 + S.LABEL_SIZE + 6 + label_w + 5, TOP, right, TOP + max(115.0, 22.0 * len(members)))
    row_h, col_w = box.height / len(members), box.width / len(months)
    size = min(7.0, 0.9 * col_w / (S.text_width("100%", 1.0)))

    S.title(c, box.left, title)
    for i, (mid, _) in enumerate(members):
        y = box.top + i * row_h
        for j, m in enumerate(months):
            x = box.left + j * col_w
            r = cell[(mid, m)]
            if r["attendance_rate"] is None:
                c.rect(x, y, col_w, row_h, c.hatch("#b0b0b0", "/", 6.0, 0.8))
                if r["count_expected"]:
                    c.text(x + col_w / 2, y + row_h / 2, "exc.", size - 0.5, anchor="middle", color="#333333",
                           valign="middle")
                continue
            value = r["attendance_rate"] * 100
            c.rect(x, y, col_w + 0.3, row_h + 0.3, blues(r["attendance_rate"]))  # no hairline seams
            c.text(x + col_w / 2, y + row_h / 2, f"{value:.0f}%", size, anchor="middle", valign="middle",
                   color="#ffffff" if value >= 55 else INK, gid=f"cell-{mid}-{m.isoformat()}")
        c.lines(box.left - 5, y + row_h / 2, labels[i], S.TICK_SIZE, valign="middle", anchor="end",
                color=S.TICK_INK)
    meetings = {r["month"]: r["count_meetings"] for r in rows}
    month_labels = [[f"{m:%b}", f"{m:%Y}", f"n={meetings[m]}"] for m in months]
    low = S.x_axis(c, box, [box.left + (j + 0.5) * col_w for j in range(len(months))], month_labels,
                   marks=False, size=S.label_size(month_labels, col_w, least=6.0), thin=False)
    S.axis_label_left(c, box, "Member organization")
    low = S.axis_label_bottom(c, box, "Calendar month (n = counted meetings held)", low + 6)
    # the colour bar: 0 % at the bottom, 100 % at the top
    bar = Box(box.right + 10, box.top, box.right + 10 + bar_w, box.bottom)
    slices = 60  # bands rather than an SVG gradient, which WeasyPrint paints only on a PDF's first page
    for k in range(slices):
        top_k = bar.bottom - (k + 1) * bar.height / slices
        c.rect(bar.left, top_k, bar_w, bar.height / slices + (0.3 if k < slices - 1 else 0),
               blues((k + 0.5) / slices))
    S.frame(c, bar)
    ypos = Scale(0, 100, bar.bottom, bar.top)
    for t in range(0, 101, 20):
        c.line(bar.right, ypos(t), bar.right + S.TICK, ypos(t), S.TICK_INK)
        c.text(bar.right + S.TICK + 3, ypos(t), str(t), S.TICK_SIZE, color=S.TICK_INK, valign="middle")
    c.text(W - 6 - 0.24 * S.LABEL_SIZE, (bar.top + bar.bottom) / 2, "Attendance rate (%)", S.LABEL_SIZE,
           anchor="middle", rotate=True)
    c.height = low + 6

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
    return _chart(chart_id, title, caption, c, data)


def _months(count: int) -> str:
    return "month" if count == 1 else f"{count} months"


# ---- 3. task completion and on-time trend ---------------------------------------------------------

def task_trend_chart(con, quarter: str, settings, rows: list[dict[str, Any]]) -> dict[str, Any]:
    chart_id = "task_trend"
    title = "Task completion and on-time rate by quarter"
    if not any(r["count_due"] for r in rows):
        return _no_data(chart_id, title, f"no tasks due in any quarter up to {quarter}.")
    c = Canvas(chart_id)
    ticks = list(range(0, 101, 20))
    box = Box(_left_margin([f"{t}%" for t in ticks]), TOP, W - 8, TOP + 160)
    xpos = Scale(-0.5, len(rows) - 0.5, box.left, box.right)
    ypos = Scale(0, 118, box.bottom, box.top)
    series = (
        ("task_completion_rate", "Completed (of tasks due)", DARK, None, "o"),
        ("on_time_rate", "On time (of tasks completed)", MID, DASHED, "s"),
    )
    S.title(c, box.left, title)
    S.y_axis(c, box, ypos, ticks, [f"{t}%" for t in ticks])
    for key, _, color, dash, _ in series:
        pts = [(x, r[key] * 100) for x, r in enumerate(rows) if r[key] is not None]
        for run in _runs([x for x, _ in pts]):
            if len(run) > 1:
                c.path([(xpos(x), ypos(v)) for x, v in pts if x in run], color, 1.8, dash)
    for key, _, color, _, shape in series:
        mark = c.marker(shape, color)
        c.open(f"points-{key}")
        for x, r in enumerate(rows):
            if r[key] is not None:
                c.use(mark, xpos(x), ypos(r[key] * 100))
        c.close()
    current = next(i for i, r in enumerate(rows) if r["quarter"] == quarter)
    shown = [(rows[current][key], color) for key, _, color, _, _ in series if rows[current][key] is not None]
    ys = [ypos(v * 100) for v, _ in shown]
    if len(ys) == 2 and abs(ys[0] - ys[1]) < 10:  # two labels 10 apart, the higher value above
        mid, up = (ys[0] + ys[1]) / 2, shown[0][0] >= shown[1][0]
        ys = [mid - 5, mid + 5] if up else [mid + 5, mid - 5]
    for (value, color), y in zip(shown, ys):
        c.text(xpos(current) + 6, y, _pct(value), 7.5, color=color, bold=True, valign="middle")
    S.frame(c, box)
    low = S.x_axis(c, box, [xpos(x) for x in range(len(rows))], [[r["quarter"], f"n={r['count_due']}"] for r in rows])
    S.axis_label_left(c, box, "Share of tasks (%)")
    low = S.axis_label_bottom(c, box, "Quarter (n = tasks due in the quarter)", low + 6)
    S.legend(c, [Key(label, line=(color, 1.8, dash), marker=c.marker(shape, color))
                 for _, label, color, dash, shape in series], box.left + 8, box.top + 2, ncols=2, backdrop=True)
    c.height = low + 6
    caption = ("Completed: tasks due in the quarter that were completed by its end (or by as_of for a "
               "quarter to date), of the n tasks due. On time: of those completed, the ones completed on or "
               "before their due date. A quarter with no tasks due has no point.")
    data = _plain_rows(rows, ("quarter", "count_due", "count_completed_by_end", "count_on_time",
                              "task_completion_rate", "on_time_rate"))
    return _chart(chart_id, title, caption, c, data)


# ---- 4. task ownership share by member -------------------------------------------------------------

def task_ownership_chart(con, quarter: str, settings, rows: list[dict[str, Any]]) -> dict[str, Any]:
    chart_id = "task_ownership"
    title = f"Task ownership by member, {quarter}"
    if not rows:
        return _no_data(chart_id, title, f"no tasks with an owner are due in {quarter}.")
    threshold = float(settings.data["metrics"]["champion_share"])
    total = sum(r["count_items"] for r in rows)
    labels = [member_label(r["organization"]).split("\n") for r in rows]
    c = Canvas(chart_id)
    label_w = max(S.text_width(line, S.TICK_SIZE) for lines in labels for line in lines)
    step, head = 23.0, 16.0  # a row per member; room above the first for the threshold's label
    box = Box(6 + label_w + S.TICK + 4, TOP, W - 8, TOP + head + step * len(rows))
    top = max(max(r["share"] for r in rows), threshold) * 100
    x_max = min(100, top + 25) if top < 80 else 115
    xpos = Scale(0, x_max, box.left, box.right)
    ticks = S.nice_ticks(0, min(x_max, 100), 7)

    S.title(c, box.left, title)
    S.x_grid(c, box, [xpos(t) for t in ticks])
    for i, (r, lines) in enumerate(zip(rows, labels)):
        y = box.top + head + (i + 0.5) * step
        over = r["share"] > threshold
        width = xpos(r["share"] * 100) - box.left
        c.open(f"bar-{r['member_id']}")
        if over:
            c.rect(box.left, y - 0.31 * step, width, 0.62 * step, DARK)
            c.rect(box.left, y - 0.31 * step, width, 0.62 * step, c.hatch("#ffffff", "x", 6.0, 0.8))
        else:
            c.rect(box.left, y - 0.31 * step, width, 0.62 * step, LIGHT, stroke="#5a6680")
        c.close()
        c.text(box.left + width + 3, y, f"{r['share']:.0%} ({r['count_items']})", 7.5, valign="middle")
        c.line(box.left - S.TICK, y, box.left, y, S.TICK_INK)
        c.lines(box.left - S.TICK - 3, y, lines, S.TICK_SIZE, valign="middle", anchor="end", color=S.TICK_INK)
    tx = xpos(threshold * 100)
    c.line(tx, box.top, tx, box.bottom, INK, 1.2, dash="4.8 2.4", gid="threshold")
    label = f"single-champion threshold {threshold:.0%}"
    if tx + 3 + S.text_width(label, 7.5) <= box.right - 2:
        c.text(tx + 3, box.top + head / 2, label, 7.5, valign="middle")
    else:
        c.text(tx - 3, box.top + head / 2, label, 7.5, anchor="end", valign="middle")
    S.frame(c, box)
    low = S.x_axis(c, box, [xpos(t) for t in ticks], [[S.tick_text(t)] for t in ticks])
    low = S.axis_label_bottom(c, box, f"Share of the {total} tasks due in {quarter} that the member owns (%)", low + 6)
    c.height = low + 6
    caption = (f"Each bar: the member's share of the quarter's tasks by owner (tasks due in {quarter}, "
               f"n = {total}; the count in brackets). The dashed line is the single-champion threshold "
               f"([metrics] champion_share = {threshold:.0%}); a bar beyond it is dark and cross-hatched.")
    data = _plain_rows(rows, ("member_id", "organization", "count_items", "share"))
    return _chart(chart_id, title, caption, c, data)


# ---- 5. goal progress against the expected trajectory ------------------------------------------------

def goal_progress_chart(con, quarter: str, settings, rows: list[dict[str, Any]]) -> dict[str, Any]:
    chart_id = "goal_progress"
    title = "Goal progress against the expected trajectory"
    goals = list(dict.fromkeys(r["goal_id"] for r in rows))
    if not goals:
        return _no_data(chart_id, title, "the goals tab has no goals.")
    c = Canvas(chart_id)
    c.text(6, 14, title, S.TITLE_SIZE)
    y = TOP
    data = []
    margin = 0.0
    for k, goal_id in enumerate(goals):
        grows = [r for r in rows if r["goal_id"] == goal_id]
        g = grows[0]
        meas = [r for r in grows if r["measured_on"] is not None and r["progress"] is not None]
        y = _goal_panel(c, k, g, meas, y, last=k == len(goals) - 1) + 12
        margin = float(g["on_track_margin"])
        for r in grows:
            data.append({"goal_id": goal_id, "statement": g["statement"], "measured_on": _plain(r["measured_on"]),
                         "value": r["value"], "progress": r["progress"]})
    c.height = y - 6
    caption = ("Per goal: progress measured as (value − baseline) / (target − baseline), direction-aware, so "
               "0% is the baseline and 100% the target; n = measurements up to the quarter's as_of. The dashed "
               "line is the expected straight path from baseline date (0%) to target date (100%); the shaded "
               f"band below it is the on-track margin ([metrics] on_track_margin = {margin:.0%}).")
    return _chart(chart_id, title, caption, c, data)


def _goal_panel(c: Canvas, k: int, g: dict, meas: list[dict], y: float, last: bool) -> float:
    """One goal's panel from ``y`` down: its statement and status, then progress over time; returns
    the y below it."""
    goal_id = g["goal_id"]
    margin = float(g["on_track_margin"])
    start, end, as_of = g["baseline_on"], g["target_on"], g["as_of"]
    right = max(end, as_of)
    values = [r["progress"] * 100 for r in meas] + [0, 100, -margin * 100]
    lo, hi = min(values) - 8, max(values) + 12
    ticks = S.nice_ticks(lo, hi, 6)
    left = _left_margin([S.tick_text(t) for t in ticks])
    width = W - 8 - left
    unit = f" {g['unit']}" if g["unit"] else ""
    status = _goal_status(g)
    numbers = f"baseline {_num(g['baseline'])} → target {_num(g['target'])}{unit};"
    heading = S.fit_lines(g["statement"], width, 8.5, lines=2)
    if S.text_width(f"{numbers} {status}", 8.5) <= width:
        heading.append(f"{numbers} {status}")
    else:
        heading += [numbers] + S.fit_lines(status, width, 8.5, lines=1)
    y = c.lines(left, y + 6, heading, 8.5) + 6
    box = Box(left, y, W - 8, y + 130)
    x0, x1 = start - timedelta(days=20), right + timedelta(days=20)
    xpos = Scale(0, (x1 - x0).days, box.left, box.right)

    def X(d: date) -> float:
        return xpos((d - x0).days)

    ypos = Scale(lo, hi, box.bottom, box.top)
    months = [date(yr, mo, 1) for yr in range(x0.year, x1.year + 1) for mo in (1, 7) if x0 <= date(yr, mo, 1) <= x1]
    S.x_grid(c, box, [X(m) for m in months], "#e4e4e4")
    S.y_axis(c, box, ypos, ticks)
    c.open(f"panel-{k}", clip=c.clip(f"plot-{k}", box))
    keys = []
    if end > start:
        c.area([(X(start), ypos(-margin * 100)), (X(end), ypos((1 - margin) * 100)), (X(end), ypos(100)),
                (X(start), ypos(0))], PALE)
        c.path([(X(start), ypos(0)), (X(end), ypos(100))], "#555555", 1.3, "6.5 3.9", gid=f"expected-{goal_id}")
        keys += [Key("Expected (straight line baseline → target)", line=("#555555", 1.3, "6.5 3.9")),
                 Key(f"On track: within {margin:.0%} below expected", patch=(PALE, None, None))]
    c.close()
    if meas:
        mark = c.marker("o", DARK, size=5.0)
        c.open(f"measured-{goal_id}")
        points = [(X(r["measured_on"]), ypos(r["progress"] * 100)) for r in meas]
        if len(points) > 1:
            c.path(points, DARK, 1.8)
        for px, py in points:
            c.use(mark, px, py)
        c.close()
        keys.append(Key(f"Measured (n={len(meas)})", line=(DARK, 1.8, None), marker=mark))
    else:
        c.text((box.left + box.right) / 2, box.top + box.height * 0.45, "no measurement yet" if g["target"] != g["baseline"]
               else "target equals baseline: progress undefined", 8.5, anchor="middle", color="#444444",
               valign="middle")
    ax = X(as_of)
    c.line(ax, box.top, ax, box.bottom, INK, 1.0, dash="1 1.65")
    late = (as_of - start) > (right - start) / 2
    c.text(ax - 3 if late else ax + 3, box.top + 3, f"as of {as_of.isoformat()}", 7, anchor="end" if late else "start",
           valign="top")
    S.frame(c, box)
    low = S.x_axis(c, box, [X(m) for m in months], [[f"{m:%b %Y}"] for m in months])
    S.axis_label_left(c, box, "Progress to target (%)")
    if keys:  # below the rising expected line
        cols, height = S.legend_size(keys, 1)
        S.legend(c, keys, box.right - 6, box.bottom - 5 - height, align="end", gid=f"legend-{goal_id}",
                 backdrop=True)
    if last:
        low = S.axis_label_bottom(c, box, "Date", low + 6)
    return low


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

def cadence_chart(con, quarter: str, settings, rows: list[dict[str, Any]]) -> dict[str, Any]:
    chart_id = "cadence"
    title = f"Meetings held against the expected cadence, {quarter}"
    if not rows or not any(r["meetings_held"] or r["expected_per_quarter"] for r in rows):
        return _no_data(chart_id, title, f"no meetings held and no expected cadence in {quarter}.")
    to_date = rows[0]["is_to_date"]
    expected = [r["expected_to_date"] if r["expected_per_quarter"] else 0 for r in rows]
    top = max([r["meetings_held"] for r in rows] + expected + [1])
    ticks = S.nice_ticks(0, top * 1.2, 8, integer=True)
    c = Canvas(chart_id)
    box = Box(_left_margin([S.tick_text(t) for t in ticks]), TOP, W - 8, TOP + 140)
    xpos = Scale(-0.5, len(rows) - 0.5, box.left, box.right)
    ypos = Scale(0, max(top * 1.2, ticks[-1]), box.bottom, box.top)
    w = 0.38 * box.width / len(rows)
    hatch = c.hatch("#555555", "/", 6.0, 0.8)
    S.title(c, box.left, title)
    S.y_axis(c, box, ypos, ticks)
    for x, r, e in zip(range(len(rows)), rows, expected):
        cx = xpos(x)
        c.open(f"held-{r['kind']}")
        c.rect(cx - w, ypos(r["meetings_held"]), w, box.bottom - ypos(r["meetings_held"]), DARK)
        c.close()
        c.text(cx - w / 2, ypos(r["meetings_held"]) - 3, str(r["meetings_held"]), 7.5, anchor="middle")
        if r["expected_per_quarter"]:
            c.open(f"expected-{r['kind']}")
            c.rect(cx, ypos(e), w, box.bottom - ypos(e), "#ffffff", stroke="#555555", stroke_width=1)
            c.rect(cx, ypos(e), w, box.bottom - ypos(e), hatch)
            c.close()
            c.text(cx + w / 2, ypos(e) - 3, _num(e), 7.5, anchor="middle")
        else:
            c.lines(cx + w / 2, box.bottom - 3 - 6.5 * S.LINE_HEIGHT - S.CAP * 6.5, ["no set", "cadence"], 6.5,
                    anchor="middle", color="#444444")
    S.frame(c, box)
    kinds = [S.fit_lines(kind_name(r["kind"]), 0.95 * box.width / len(rows), S.TICK_SIZE)
             + ([] if r["cadence_adherence"] is None else [f"adherence {r['cadence_adherence']:.0%}"]) for r in rows]
    low = S.x_axis(c, box, [xpos(x) for x in range(len(rows))], kinds)
    S.axis_label_left(c, box, "Meetings (count)")
    low = S.axis_label_bottom(c, box, "Meeting kind", low + 6)
    S.legend(c, [Key("Held", patch=(DARK, None, None)),
                 Key("Expected" + (" (to date)" if to_date else ""), patch=("#ffffff", "#555555", hatch))],
             box.right, 4, ncols=2, align="end")
    c.height = low + 6
    total = sum(r["meetings_held"] for r in rows)
    caption = (f"Meetings of each kind held in {quarter}" + (" up to as_of" if to_date else "")
               + f" (n = {total}) against the expected number per quarter ([cadence] in the config"
               + (", prorated to the days elapsed" if to_date else "")
               + "); adherence = min(1, held / expected). Kinds with no set cadence show held only.")
    data = _plain_rows(rows, ("kind", "meetings_held", "expected_per_quarter", "expected_to_date",
                              "cadence_adherence"))
    return _chart(chart_id, title, caption, c, data)
