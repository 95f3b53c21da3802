"""The funder files (funder_metrics.csv and .json): funder-visible metrics only, aggregate figures,
the same bytes for the same snapshot, config and code."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from .cells import safe_csv_cell
from .render import published_rows

FUNDER_COLUMNS = ("metric_id", "quarter", "value", "unit", "n", "suppressed")


def funder_records(con) -> list[dict[str, Any]]:
    """Rows of funder_metrics.*: metric_id, quarter, value, unit, n, suppressed (funder metrics only).
    Values are rounded to 6 decimals so float noise never changes the bytes."""
    records = []
    for r in published_rows(con, audience="funder"):
        value = None if r["suppressed"] or r["value"] is None else round(float(r["value"]), 6)
        records.append({"metric_id": r["metric_id"], "quarter": r["quarter"], "value": value,
                        "unit": r["metric"].unit, "n": r["n"], "suppressed": r["suppressed"]})
    return records


def funder_json(records: list[dict[str, Any]], coalition: str, quarter: str) -> str:
    """Deterministic JSON: no run id, no timestamp, sorted keys; same snapshot -> same bytes."""
    doc = {"coalition": coalition, "quarter": quarter, "columns": list(FUNDER_COLUMNS), "metrics": records}
    return json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def funder_csv(records: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(FUNDER_COLUMNS)
    for r in records:
        w.writerow([safe_csv_cell(r[c]) for c in FUNDER_COLUMNS])
    return buf.getvalue()
