"""The portfolio summary: <out>/portfolio/<quarter>/<portfolio_run_id>/ with summary.html,
summary.csv (one row per coalition), distribution.csv (per headline figure) and manifest.json.

Every figure is taken from the coalition's published funder_metrics.json document (never
recomputed): the funder-visible headline metrics of the registry (transforms/metrics.yml
``headline: true``), the disengagement alerts count and the completeness (rows set aside). A
suppressed figure stays suppressed and a figure without data stays empty: neither is ever a 0.
The worker that publishes a coalition takes them from the document it has just written
(``coalition_figures``, carried back in Published.figures): reading 1,000 files back in the run's
own process took 3 s while every worker was idle. A coalition published without them (a Prefect
flow's task) is read from its file.
"""

from __future__ import annotations

import json
import os
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

from ..cells import csv_text
from ..quarters import Quarter
from ..registry import Metric, load_registry, suppressed_label
from ..jsontext import dumps_indented

ALERTS_ID = "disengagement_alerts"
VALUE, SUPPRESSED, NO_DATA = "value", "suppressed", "no data"


def headline_metrics() -> list[Metric]:
    """The registry's funder-visible headline metrics, in its order."""
    return [m for m in load_registry() if m.headline and m.audience == "funder"]


def read_published(folder: Path) -> dict[str, Any]:
    """A published run folder's funder_metrics.json."""
    return json.loads((Path(folder) / "funder_metrics.json").read_text(encoding="utf-8"))


def figure(doc: dict[str, Any], metric: Metric, quarter: str, small_n: int) -> dict[str, Any]:
    """One plain (undimensioned) figure of the quarter as the funder file publishes it."""
    row = next((r for r in doc["metrics"] if r["metric_id"] == metric.id and r["quarter"] == quarter), None)
    if row is not None and row["suppressed"]:
        return {"value": None, "n": row["n"], "state": SUPPRESSED, "shown": suppressed_label(small_n)}
    if row is None or row["value"] is None:
        return {"value": None, "n": row["n"] if row else None, "state": NO_DATA, "shown": metric.format(None)}
    return {"value": row["value"], "n": row["n"], "state": VALUE, "shown": metric.format(row["value"])}


def coalition_figures(doc: dict[str, Any], quarter: str, small_n: int) -> dict[str, Any]:
    """A published coalition's part of the summary, from its funder_metrics.json document: its
    headline figures and alerts in ``quarter``, and its rows set aside."""
    alerts = next(m for m in load_registry() if m.id == ALERTS_ID)
    done = doc["completeness"]
    return {"figures": {m.id: figure(doc, m, quarter, small_n) for m in headline_metrics()},
            "alerts": figure(doc, alerts, quarter, small_n),
            "rows_set_aside": done["rows_set_aside"], "rows_set_aside_to_fix": done["rows_set_aside_to_fix"]}


def coalition_rows(published, failed, order: list[str], summary_folder: Path, out: Path) -> list[dict[str, Any]]:
    """One row per coalition, in the portfolio file's order."""
    metrics = headline_metrics()
    rows = []
    for p in published:
        r = p.result
        part = p.figures or coalition_figures(read_published(r.folder), r.quarter, p.plan.settings.small_n)
        rows.append({
            "coalition_id": p.coalition_id, "coalition": p.name, "status": "published", "quarter": r.quarter,
            "run_id": r.run_id, "folder": os.path.relpath(r.folder, out),
            "report": os.path.relpath(r.report, summary_folder),
            **part,
            "blocking_issues": 0, "stage": "", "message": p.write_back,
        })
    for f in failed:
        done = f.completeness or {}
        rows.append({
            "coalition_id": f.coalition_id, "coalition": f.name, "status": "failed", "quarter": f.quarter or "",
            "run_id": f.run_id or "", "folder": "", "report": "",
            "figures": {m.id: {"value": None, "n": None, "state": "", "shown": ""} for m in metrics},
            "alerts": {"value": None, "n": None, "state": "", "shown": ""},
            "rows_set_aside": done.get("rows_set_aside"), "rows_set_aside_to_fix": done.get("rows_set_aside_to_fix"),
            "blocking_issues": f.blocking_issues, "stage": f.stage, "message": f.message,
        })
    rank = {cid: i for i, cid in enumerate(order)}
    return sorted(rows, key=lambda row: rank.get(row["coalition_id"], len(rank)))


def quantile(values: list[float], p: float) -> float:
    """Linear interpolation between the closest ranks (numpy's default, DuckDB's quantile_cont)."""
    ordered = sorted(values)
    pos = p * (len(ordered) - 1)
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def distribution(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per headline metric: how many coalitions have a value (suppressed and no-data figures are
    left out, never counted as 0), and the min, quartiles, median and max of those values."""
    from ..funder import DECIMALS

    out = []
    for m in headline_metrics():
        values = [float(r["figures"][m.id]["value"]) for r in rows if r["figures"][m.id]["state"] == VALUE]
        entry: dict[str, Any] = {"metric_id": m.id, "name": m.name, "unit": m.unit, "n_coalitions": len(values),
                                 "suppressed": sum(r["figures"][m.id]["state"] == SUPPRESSED for r in rows),
                                 "no_data": sum(r["figures"][m.id]["state"] == NO_DATA for r in rows)}
        for key, p in (("min", 0.0), ("q1", 0.25), ("median", 0.5), ("q3", 0.75), ("max", 1.0)):
            entry[key] = round(quantile(values, p), DECIMALS.get(m.unit, 6)) + 0.0 if values else None
        entry["shown"] = {k: m.format(entry[k]) for k in ("min", "q1", "median", "q3", "max")}
        out.append(entry)
    return out


def summary_csv(rows: list[dict[str, Any]]) -> str:
    metrics = headline_metrics()
    head = ["coalition_id", "coalition", "status", "quarter", "run_id"]
    for m in metrics:
        head += [m.id, f"{m.id}_n", f"{m.id}_status"]
    head += [ALERTS_ID, "rows_set_aside", "rows_set_aside_to_fix", "blocking_issues", "failed_stage", "message", "report"]
    lines = []
    for r in rows:
        cells = [r["coalition_id"], r["coalition"], r["status"], r["quarter"], r["run_id"]]
        for m in metrics:
            f = r["figures"][m.id]
            cells += [f["value"], f["n"], f["state"]]
        cells += [r["alerts"]["value"], r["rows_set_aside"], r["rows_set_aside_to_fix"], r["blocking_issues"],
                  r["stage"], r["message"], r["report"]]
        lines.append(cells)
    return csv_text(head, lines)


def distribution_csv(dist: list[dict[str, Any]]) -> str:
    head = ["metric_id", "name", "unit", "n_coalitions", "suppressed", "no_data", "min", "q1", "median", "q3", "max"]
    return csv_text(head, ([d[k] for k in head] for d in dist))


def render_summary_html(context: dict[str, Any]) -> str:
    from ..render import template_env

    return template_env().get_template("portfolio.html.j2").render(**context)


def write_summary(portfolio, quarter: Quarter, published, failed, out: Path, *, run_id: str | None = None,
                  started_at: datetime | None = None, today: date | None = None):
    """Write the summary folder atomically (publish.publish_folder) and return the PortfolioResult."""
    from ..plan import RunPlan, new_run_id
    from ..publish import code_version, publish_folder
    from .config import SUMMARY_DIR
    from .run import PORTFOLIO_FLOW, PortfolioResult

    started_at = started_at or datetime.now(timezone.utc)
    run_id = run_id or new_run_id(started_at)
    today = today or date.today()
    plan = RunPlan(portfolio.settings, run_id, quarter, min(quarter.end, today), Path(out) / SUMMARY_DIR,
                   PORTFOLIO_FLOW, started_at)
    final = plan.publish_dir / run_id
    rows = coalition_rows(published, failed, portfolio.ids, final, Path(out))
    dist = distribution(rows)
    manifest = {
        "portfolio_run_id": run_id, "flow": PORTFOLIO_FLOW, "quarter": quarter.label,
        "as_of": plan.as_of.isoformat(),
        "started_at": started_at.isoformat(timespec="seconds"),
        "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "code_version": code_version(), "config": str(portfolio.path), "config_hash": portfolio.settings.config_hash(),
        "published": len(published), "failed": len(failed),
        "coalitions": [{"id": r["coalition_id"], "name": r["coalition"], "status": r["status"], "quarter": r["quarter"],
                        "run_id": r["run_id"] or None, "folder": r["folder"] or None,
                        **({"stage": r["stage"], "message": r["message"]} if r["status"] == "failed" else
                           {"write_back": r["message"]} if r["message"] else {})}
                       for r in rows],
        "headline_metrics": [m.id for m in headline_metrics()],
        "distribution": [{k: v for k, v in d.items() if k != "shown"} for d in dist],
    }
    html = render_summary_html({
        "quarter": quarter.label, "as_of": plan.as_of.isoformat(), "run_id": run_id, "rows": rows, "distribution": dist,
        "metrics": headline_metrics(), "published": len(published), "failed": len(failed),
    })
    files = {
        "summary.html": html,
        "summary.csv": summary_csv(rows),
        "distribution.csv": distribution_csv(dist),
        "manifest.json": dumps_indented(manifest) + "\n",
    }
    folder = publish_folder(plan, files)
    return PortfolioResult(run_id, quarter.label, published, failed, folder, manifest)
