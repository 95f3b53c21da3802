"""What a report reads from a built database by query, for one coalition or a batch of them.

Each read is a keyed query (keyed_reads.py), so a portfolio reads it once for a batch of
coalitions: the published figures (published_rows_of; render.published_rows reads one coalition's),
the charts' rows (charts.chart_data) and the report's tables (reports/report_data/: survey items,
scales, the quarter's counts, alerts).
read_figures (publish.py) takes one coalition's share of ``read_many``, or reads its own.
"""

from __future__ import annotations

from typing import Any

from .config import PROJECT_ROOT

REPORT_DATA_DIR = PROJECT_ROOT / "reports" / "report_data"
REPORT_TABLES = ("survey_items", "survey_scales", "quarter_counts", "alerts")


def published_rows_of(con, coalition_ids: list[str], audience: str | None = None) -> dict[str, list[dict[str, Any]]]:
    """published_rows of several coalitions of a database in one query: coalition id -> its rows."""
    from .keyed_reads import keyed_rows
    from .registry import load_registry
    from .render import PUBLISHED_DATA_DIR

    registry = {m.id: m for m in load_registry()}
    sql = (PUBLISHED_DATA_DIR / "published_rows.sql").read_text(encoding="utf-8")
    kept = (PUBLISHED_DATA_DIR / "kept_from_funders.sql").read_text(encoding="utf-8")
    found = keyed_rows(con, sql, [{"coalition_id": cid} for cid in coalition_ids], {"audience": audience},
                       views={"kept_from_funders": kept})
    return {cid: [{"metric_id": r["published_id"], "base_id": r["metric_id"], "dimension": r["dimension"],
                   "quarter": r["quarter"], "seq": r["seq"], "value": r["value"],
                   "n": int(r["n"]) if r["n"] is not None else None, "suppressed": bool(r["suppressed"]),
                   "metric": registry[r["metric_id"]], "for_funder": bool(r["for_funder"])} for r in rows]
            for cid, rows in found.items()}


def report_tables(con, coalitions: list[tuple[str, str]]) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """The rows of every report table (reports/report_data/<table>.sql, one query per table for all
    of them) for each (coalition id, report quarter): coalition id -> table -> rows as dicts."""
    from .keyed_reads import keyed_rows

    scope = [{"coalition_id": cid, "quarter": quarter} for cid, quarter in coalitions]
    out: dict[str, dict[str, list[dict[str, Any]]]] = {cid: {} for cid, _ in coalitions}
    for table in REPORT_TABLES:
        sql = (REPORT_DATA_DIR / f"{table}.sql").read_text(encoding="utf-8")
        for cid, rows in keyed_rows(con, sql, scope).items():
            out[cid][table] = rows
    return out


def read_many(con, plans) -> dict[str, dict[str, Any]]:
    """Everything read_figures reads by query, for several coalitions of one database (their run
    plans): coalition id -> {"rows": published figures, "charts": chart rows, "tables": report
    tables}, one query per read for all of them."""
    from .charts import chart_data

    ids = [p.settings.coalition_id for p in plans]
    rows = published_rows_of(con, ids)
    charts = chart_data(con, [(p.settings.coalition_id, p.quarter.label, p.settings) for p in plans])
    tables = report_tables(con, [(p.settings.coalition_id, p.quarter.label) for p in plans])
    return {cid: {"rows": rows[cid], "charts": charts[cid], "tables": tables[cid]} for cid in ids}
