"""What a report reads from a built database by query, for one coalition or a batch of them.

Each read is a keyed query (keyed_reads.py), so a portfolio reads it once for a batch of
coalitions: the published figures (render.published_rows_of), the charts' rows (charts.chart_data)
and the report's tables (reports/report_data/: survey items, scales, the quarter's counts, alerts).
read_figures (publish.py) takes one coalition's share of ``read_many``, or reads its own.
"""

from __future__ import annotations

from typing import Any

from .config import PROJECT_ROOT

REPORT_DATA_DIR = PROJECT_ROOT / "reports" / "report_data"
REPORT_TABLES = ("survey_items", "survey_scales", "quarter_counts", "alerts")


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
    from .render import published_rows_of

    ids = [p.settings.coalition_id for p in plans]
    rows = published_rows_of(con, ids)
    charts = chart_data(con, [(p.settings.coalition_id, p.quarter.label, p.settings) for p in plans])
    tables = report_tables(con, [(p.settings.coalition_id, p.quarter.label) for p in plans])
    return {cid: {"rows": rows[cid], "charts": charts[cid], "tables": tables[cid]} for cid in ids}
