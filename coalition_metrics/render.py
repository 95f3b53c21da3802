"""Render: marts + registry -> the values the report and the funder files show.

Templates get a plain dict; they contain no SQL, and formatting comes from each metric's unit.
"""

from __future__ import annotations

import functools
from typing import Any

from .config import PROJECT_ROOT
from .registry import definition_values, load_registry, suppressed_label

TEMPLATES_DIR = PROJECT_ROOT / "reports" / "templates"
PUBLISHED_DATA_DIR = PROJECT_ROOT / "reports" / "published_data"


def published_rows(con, audience: str | None = None) -> list[dict[str, Any]]:
    """Every published figure (plain and metric[dimension] ids) for every quarter up to the run's,
    in registry order, the plain figure before its dimensions, then by quarter, of the coalition
    ``con`` shows. With audience = "funder", only what funders see: reports/published_data/
    published_rows.sql filters by audience and leaves out what the instrument keeps from funders
    (coordinator_only). Each row's ``for_funder`` says whether funders see it, so the rows of every
    figure also give the funders' (the same rows, in the same order, as audience = "funder")."""
    from .keyed_reads import current_coalition
    from .report_reads import published_rows_of

    cid = current_coalition(con)
    return published_rows_of(con, [cid], audience)[cid]


def coordinator_only(con) -> set[tuple[str | None, str | None]]:
    """What the survey instrument keeps from funders, for the coalition ``con`` shows: ('item', code)
    and ('scale', code) for items and scales declared funder = false, and (role, None) for a
    [survey] role (satisfaction_item, voice_item) whose item is funder = false, since the figures
    resting on it show that item."""
    from .keyed_reads import current_coalition, keyed_rows

    cid = current_coalition(con)
    sql = (PUBLISHED_DATA_DIR / "kept_from_funders.sql").read_text(encoding="utf-8")
    rows = keyed_rows(con, f"select * from ({sql}) as kept where coalition_id in (select coalition_id from scope)",
                      [{"coalition_id": cid}])[cid]
    return {(r["dimension_kind"], r["dimension"]) if r["role"] is None else (r["role"], None) for r in rows}


# ----------------------------------------------------------------------------------------------
def report_context(con, *, settings, coalition: str, quarter: str, as_of: str, run_id: str, snapshot_id: str,
                   validation_counts: dict, completeness: dict[str, Any], source: str,
                   rows: list[dict[str, Any]] | None = None,
                   chart_data: dict[str, list[dict[str, Any]]] | None = None,
                   tables: dict[str, list[dict[str, Any]]] | None = None) -> dict[str, Any]:
    """Everything quarterly.html.j2 shows, in the order it tells the quarter's story: completeness,
    headline tiles, pitfall watch, alerts, charts, survey, data quality, methods appendix.
    ``rows``, ``chart_data``, ``tables``: this coalition's published figures, chart rows and report
    tables as report_reads.read_many read them with other coalitions', else they are read now."""
    from .charts import report_charts
    from .pitfalls import pitfall_watch

    registry = load_registry()
    by_id: dict[str, list[dict]] = {}
    for r in published_rows(con) if rows is None else rows:
        by_id.setdefault(r["metric_id"], []).append(r)
    shown_ids: list[str] = []  # the registry metrics the report shows, for the methods appendix

    kpis = []
    for m in registry:
        if not m.headline:
            continue
        current, previous = _current_and_previous(by_id.get(m.id, []), quarter)
        kpis.append({"id": m.id, "name": m.name, "value": _shown(m, current, settings.small_n),
                     "n": current["n"] if current else None,
                     "verdict": headline_verdict(m, current, previous, settings.small_n)})
        shown_ids.append(m.id)

    pitfalls = pitfall_watch(by_id, quarter, settings)
    shown_ids += [mid for p in pitfalls for mid in p["metrics"]]

    charts = report_charts(con, quarter=quarter, settings=settings, data=chart_data)
    shown_ids += [mid for c in charts for mid in CHART_METRICS.get(c["id"], ())]
    if tables is None:
        from .keyed_reads import current_coalition
        from .report_reads import report_tables

        cid = current_coalition(con)
        tables = report_tables(con, [(cid, quarter)])[cid]
    survey = survey_table(tables["survey_items"], settings)
    shown_ids += ["item_mean", "item_sd", "item_ci_low", "item_ci_high", "item_top2", "response_rate"]
    scales = scale_table(tables["survey_scales"], settings)
    if scales:
        shown_ids += ["scale_mean", "scale_ci_low", "scale_ci_high"]

    (counts,) = tables["quarter_counts"]
    shown_ids += ["meetings_held", "active_members"]

    methods = [{"id": m.id, "name": m.name, "definition": m.described(settings), "unit": UNIT_WORDS[m.unit]}
               for m in registry if m.id in set(shown_ids)]
    return {
        "coalition": coalition, "quarter": quarter, "as_of": as_of, "run_id": run_id,
        "snapshot_id": snapshot_id, "source": source, "kpis": kpis, "pitfalls": pitfalls,
        "alerts": alert_rows(tables["alerts"]), "quoted": definition_values(settings), "charts": charts, "survey": survey, "scales": scales,
        "reversed_items": any(i.reverse for i in settings.instrument.items),
        "attendance": _counts(counts, "has_attendance", meetings="count_meetings", present="count_present",
                              absent="count_absent", excused="count_excused"),
        "engagement": _counts(counts, "has_engagement", roster="count_roster", active="active_members"),
        "tasks": _counts(counts, "has_tasks", due="count_due", completed="count_completed_by_end"),
        "completeness": completeness,
        "data_quality": [{"tab": t, **c} for t, c in validation_counts.items()],
        "methods": methods, "small_n": settings.small_n,
        # the answer scale of the survey table's Mean column: one for all items, or None (then per row)
        "survey_scale": next(iter({s["scale"] for s in survey})) if len({s["scale"] for s in survey}) == 1 else None,
    }


# The registry metrics each chart of charts.py plots (for the methods appendix).
CHART_METRICS = {
    "satisfaction_trust": ("item_mean", "item_ci_low", "item_ci_high"),
    "attendance_heatmap": ("member_attendance_rate",),
    "task_trend": ("task_completion_rate", "on_time_rate"),
    "task_ownership": ("leadership_concentration",),
    "goal_progress": ("goal_progress", "expected_progress", "on_track"),
    "cadence": ("meetings_held", "cadence_adherence"),
}

UNIT_WORDS = {"share": "share (shown as %)", "score": "mean on the answer scale", "difference": "difference of two means",
              "count": "count", "flag": "yes / no", "index": "index 0-1", "p_value": "p-value"}


def headline_verdict(m, current, previous, small_n: int) -> str:
    """The change from last quarter in plain words: 'up 6 points from last quarter'."""
    if current is None or (current["value"] is None and not current["suppressed"]):
        return "no data this quarter"
    if current["suppressed"]:
        return f"{suppressed_label(small_n)}: too few responses to show"
    if previous is None or previous["value"] is None:
        return "no figure last quarter to compare"
    if previous["suppressed"]:
        return f"last quarter {suppressed_label(small_n)}: no comparison"
    delta = float(current["value"]) - float(previous["value"])
    if m.unit == "share":
        points = round(delta * 100)
        if points == 0:
            return f"same as last quarter ({m.format(previous['value'])})"
        return f"{'up' if points > 0 else 'down'} {abs(points)} point{'s' if abs(points) != 1 else ''} from last quarter"
    if m.unit == "count":
        if round(delta) == 0:
            return "same as last quarter"
        return f"{'up' if delta > 0 else 'down'} {abs(delta):,.0f} from last quarter"
    if round(delta, 2) == 0:
        return f"same as last quarter ({m.format(previous['value'])})"
    return f"{'up' if delta > 0 else 'down'} {abs(delta):.2f} from last quarter ({m.format(previous['value'])})"


def completeness(validation) -> dict[str, Any]:
    """Rows set aside in total, and how many of them are to fix (QuarantinedCell.to_fix); the rest
    are kept for information (a superseded survey submission) or follow a row set aside in another
    tab (fixing that row fixes them)."""
    rows = {(q.tab, q.sheet_row) for q in validation.quarantined}
    to_fix = {(q.tab, q.sheet_row) for q in validation.quarantined if q.to_fix}
    info = {(q.tab, q.sheet_row) for q in validation.quarantined if q.severity == "info"} - to_fix
    return {"total": sum(t.rows_quarantined for t in validation.tabs.values()), "to_fix": len(to_fix),
            "info": len(info), "follow": len(rows - to_fix - info)}


def _counts(row: dict[str, Any], has_row: str, **names: str) -> dict[str, Any]:
    """The quarter's counts of one mart (reports/report_data/quarter_counts.sql), 0 each when the
    mart has no row for the quarter (``row[has_row]`` false)."""
    return {key: row[column] if row[has_row] else 0 for key, column in names.items()}


def alert_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Disengagement alerts (reports/report_data/alerts.sql), one row per member (by organization)
    with every reason that fired."""
    out: dict[str, dict] = {}
    for r in rows:
        out.setdefault(r["member_id"], {"organization": r["organization"], "reasons": []})["reasons"].append(r["detail"])
    return list(out.values())


def survey_table(rows: list[dict[str, Any]], settings) -> list[dict[str, Any]]:
    """The wave's survey items (reports/report_data/survey_items.sql) by their question text, with n,
    mean, SD, 95% interval, top-2-box."""
    questions = settings.survey_items
    out = []
    for r in rows:
        item, n, mean, sd, lo, hi, top2 = (r["item"], r["n"], r["mean"], r["sd"], r["ci_low"], r["ci_high"],
                                           r["top2_share"])
        it = settings.instrument.item(item)
        row = {"question": questions.get(item, item), "n": n, "scale": it.scale_text, "reverse": it.reverse,
               "funder": it.funder}
        if r["is_suppressed"]:
            row.update(mean=suppressed_label(settings.small_n), sd="", ci="", top2=suppressed_label(settings.small_n))
        elif not n:
            row.update(n=0, mean="no data", sd="", ci="", top2="")
        else:
            row.update(mean=f"{mean:.2f}", sd=f"{sd:.2f}" if sd is not None else "",
                       ci=f"{lo:.2f} - {hi:.2f}" if lo is not None and hi is not None else "", top2=f"{top2:.0%}")
        out.append(row)
    return out


def scale_table(rows: list[dict[str, Any]], settings) -> list[dict[str, Any]]:
    """The wave's composite scales ([survey_scales]; reports/report_data/survey_scales.sql): name,
    items, n, mean, 95% interval, band and the band rule; suppressed as every survey figure is (the
    band too, since it tells the mean)."""
    inst = settings.instrument
    out = []
    for r in rows:
        code, n, mean, lo, hi, band = r["scale"], r["n"], r["mean"], r["ci_low"], r["ci_high"], r["band"]
        sc = inst.scale(code)
        first = inst.item(sc.items[0])
        row = {"code": code, "name": sc.name, "n": n, "item_count": len(sc.items), "min_items": sc.min_items,
               "scale": first.scale_text, "rule": sc.band_rule() or "no bands declared", "funder": sc.funder,
               "questions": [inst.item(i).question.rstrip(".") + (" (reversed)" if inst.item(i).reverse else "")
                             for i in sc.items]}
        if r["is_suppressed"]:
            row.update(mean=suppressed_label(settings.small_n), ci="", band="")
        elif not n:
            row.update(n=0, mean="no data", ci="", band="")
        else:
            row.update(mean=f"{mean:.2f}", ci=f"{lo:.2f} - {hi:.2f}" if lo is not None and hi is not None else "",
                       band=band or ("below every band" if sc.bands else ""))
        out.append(row)
    return out


# The templates a run's pages use (with the parts they include), compiled ahead by the command
# while it waits for Great Expectations (cli._later_imports).
PAGE_TEMPLATES = ("quarterly.html.j2", "funder.html.j2", "data_quality.html.j2", "_completeness.html.j2",
                  "_methods.html.j2", "_style.css")


@functools.lru_cache(maxsize=None)
def template_env():
    """The one Jinja environment of the process: templates compile once, not once per page (a
    portfolio renders three pages per coalition; compiling them each time was a quarter of its run)."""
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
    )


def render_report(context: dict[str, Any]) -> str:
    return template_env().get_template("quarterly.html.j2").render(**context)


def _current_and_previous(series: list[dict], quarter: str):
    current = next((r for r in series if r["quarter"] == quarter), None)
    earlier = [r for r in series if current is not None and r["seq"] < current["seq"]]
    return current, (earlier[-1] if earlier else None)


def _shown(m, row, small_n: int) -> str:
    if row is None:
        return "no data"
    if row["suppressed"]:
        return suppressed_label(small_n)
    return m.format(row["value"])


