"""Render: marts + registry -> the values the report and the funder files show.

Templates get a plain dict; they contain no SQL, and formatting comes from each metric's unit.
"""

from __future__ import annotations

from typing import Any

from .config import PROJECT_ROOT
from .registry import SECTIONS, load_registry

TEMPLATES_DIR = PROJECT_ROOT / "reports" / "templates"


def published_rows(con, audience: str | None = None) -> list[dict[str, Any]]:
    """Every published figure (plain and metric[dimension] ids) for every quarter up to the run's,
    in registry order, the plain figure before its dimensions, then by quarter."""
    registry = {m.id: m for m in load_registry()}
    rows = con.execute(
        """select published_id, metric_id, dimension, quarter, seq, value, n, suppressed
           from marts.published_metrics
           order by metric_position, dimension is not null, dimension_position, dimension, seq"""
    ).fetchall()
    out = []
    for pid, metric_id, dimension, quarter, seq, value, n, suppressed in rows:
        m = registry[metric_id]
        if audience and m.audience != audience:
            continue
        out.append({"metric_id": pid, "base_id": metric_id, "dimension": dimension, "quarter": quarter,
                    "seq": seq, "value": value, "n": int(n) if n is not None else None,
                    "suppressed": bool(suppressed), "metric": m})
    return out


# ----------------------------------------------------------------------------------------------
def report_context(con, *, coalition: str, quarter: str, as_of: str, run_id: str, snapshot_id: str,
                   validation_counts: dict, quarantined: list[dict], source: str) -> dict[str, Any]:
    registry = load_registry()
    rows = published_rows(con)
    quarters = [q for (q,) in con.execute("select quarter from ref.quarters order by seq").fetchall()]
    by_id: dict[str, list[dict]] = {}
    for r in rows:
        by_id.setdefault(r["metric_id"], []).append(r)

    kpis, trends = [], []
    for m in registry:
        if not m.headline:
            continue
        series = by_id.get(m.id, [])
        current, previous = _current_and_previous(series, quarter)
        kpis.append({
            "id": m.id, "name": m.name, "definition": m.definition,
            "value": _shown(m, current), "n": current["n"] if current else None,
            "previous": _shown(m, previous), "change": _change(m, current, previous),
        })
        trends.append({"id": m.id, "name": m.name, "bars": _bars(m, series),
                       "cells": [_shown(m, next((r for r in series if r["quarter"] == q), None)) for q in quarters]})

    sections: dict[str, list[dict]] = {}
    for pid, series in by_id.items():
        m = series[0]["metric"]
        current, previous = _current_and_previous(series, quarter)
        if current is None:
            continue
        sections.setdefault(m.section, []).append({
            "id": pid, "name": m.name + (f" [{series[0]['dimension']}]" if series[0]["dimension"] else ""),
            "definition": m.definition, "value": _shown(m, current), "previous": _shown(m, previous),
            "n": current["n"], "audience": m.audience,
        })
    all_metrics = [{"section": sec, "rows": sections[sec]} for sec in SECTIONS if sec in sections]
    alerts = [
        {"member_id": mid, "organization": org, "reason": reason, "detail": detail}
        for mid, org, reason, detail in con.execute(
            """select a.member_id, m.organization, a.reason, a.detail
               from marts.disengagement_alerts as a join staging.stg_members as m using (member_id)
               where a.quarter = ? order by a.member_id, a.reason""", [quarter]).fetchall()
    ]

    items = con.execute(
        """select item, n, mean, sd, ci_low, ci_high, top2_share, is_suppressed
           from marts.survey_items_by_wave where wave = ? order by item_position""",
        [quarter],
    ).fetchall()
    survey = []
    for item, n, mean, sd, lo, hi, top2, suppressed in items:
        if suppressed:
            survey.append({"item": item, "n": n, "mean": "n<5", "sd": "", "ci": "", "top2": "n<5"})
        elif not n:
            survey.append({"item": item, "n": 0, "mean": "no data", "sd": "", "ci": "", "top2": ""})
        else:
            ci = f"{lo:.2f} - {hi:.2f}" if lo is not None and hi is not None else ""
            survey.append({"item": item, "n": n, "mean": f"{mean:.2f}", "sd": f"{sd:.2f}" if sd is not None else "",
                           "ci": ci, "top2": f"{top2:.0%}"})

    att = con.execute(
        """select count_meetings, count_present, count_absent, count_excused
           from marts.attendance_by_quarter where quarter = ?""", [quarter]).fetchone()
    eng = con.execute(
        "select count_roster, active_members from marts.engagement_by_quarter where quarter = ?", [quarter]
    ).fetchone()
    tasks = con.execute(
        "select count_due, count_completed_by_end from marts.tasks_by_quarter where quarter = ?", [quarter]
    ).fetchone()

    total_q = sum(c["rows_quarantined"] for c in validation_counts.values())
    return {
        "coalition": coalition, "quarter": quarter, "as_of": as_of, "run_id": run_id,
        "snapshot_id": snapshot_id, "source": source, "quarters": quarters, "kpis": kpis, "trends": trends,
        "survey": survey, "all_metrics": all_metrics, "alerts": alerts,
        "attendance": dict(zip(("meetings", "present", "absent", "excused"), att or (0, 0, 0, 0))),
        "engagement": dict(zip(("roster", "active"), eng or (0, 0))),
        "tasks": dict(zip(("due", "completed"), tasks or (0, 0))),
        "data_quality": [{"tab": t, **c} for t, c in validation_counts.items()],
        "quarantined": quarantined, "quarantined_total": total_q,
    }


def template_env():
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


def _shown(m, row) -> str:
    if row is None:
        return "no data"
    if row["suppressed"]:
        return "n<5"
    return m.format(row["value"])


def _change(m, current, previous) -> str:
    if not current or not previous or current["value"] is None or previous["value"] is None:
        return ""
    if current["suppressed"] or previous["suppressed"]:
        return ""
    delta = current["value"] - previous["value"]
    if m.unit == "share":
        return f"{delta * 100:+.0f} pts"
    if m.unit in ("count",):
        return f"{delta:+,.0f}"
    return f"{delta:+.2f}"


def _bars(m, series: list[dict]) -> list[dict]:
    """Bar heights (0..1) for a small inline SVG trend chart."""
    top = 1.0 if m.unit == "share" else 5.0
    bars = []
    for r in series:
        v = None if r["suppressed"] or r["value"] is None else float(r["value"])
        bars.append({"quarter": r["quarter"], "height": 0 if v is None else max(0.0, min(1.0, v / top)),
                     "label": _shown(m, r), "missing": v is None})
    return bars
