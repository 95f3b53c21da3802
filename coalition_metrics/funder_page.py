"""The funder page (funder.html, and funder.pdf from it): one page, built only from the funder
files' records (funder-audience metrics, aggregate figures, suppressed ones as "n<5"), so it can show
nothing the funder files do not: no member names, no member-level values, no rows set aside."""

from __future__ import annotations

from typing import Any

from .registry import base_id, metric, suppressed_label

# Besides every funder metric's overall figure, the page shows these metrics per dimension (one row
# per survey item, per composite survey scale, per goal); the funder files carry every dimension.
PER_DIMENSION = ("item_mean", "scale_mean", "goal_progress")
QUARTERS_SHOWN = 5  # the quarter and the four before it


def funder_page_context(records: list[dict[str, Any]], *, coalition: str, quarter: str, as_of: str, run_id: str,
                        completeness: dict[str, Any], small_n: int) -> dict[str, Any]:
    """records: funder.funder_records (every quarter up to the run's), each with its label."""
    quarters = sorted({r["quarter"] for r in records if r["quarter"] <= quarter})[-QUARTERS_SHOWN:]
    rows: dict[str, dict] = {}
    for r in records:
        pid = r["metric_id"]
        if "[" in pid and base_id(pid) not in PER_DIMENSION:
            continue
        if r["quarter"] not in quarters:
            continue
        m = metric(pid)
        row = rows.setdefault(pid, {"id": pid, "label": r["label"], "section": m.section,
                                    "values": {q: "" for q in quarters}})
        row["values"][r["quarter"]] = shown(m, r, small_n)
    table = [{**row, "cells": [row["values"][q] for q in quarters]} for row in rows.values()]
    return {"coalition": coalition, "quarter": quarter, "as_of": as_of, "run_id": run_id, "quarters": quarters,
            "rows": table, "completeness": completeness, "quality_link": "", "small_n": small_n}


def shown(m, record: dict[str, Any], small_n: int) -> str:
    if record["suppressed"]:
        return suppressed_label(small_n)
    if record["value"] is None:
        return "no data"
    return m.format(record["value"])


def render_funder_page(context: dict[str, Any]) -> str:
    from .render import template_env

    return template_env().get_template("funder.html.j2").render(**context)
