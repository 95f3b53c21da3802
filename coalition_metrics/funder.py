"""The funder files (funder_metrics.csv and .json): funder-visible metrics only, aggregate figures,
each with a readable label, typed values (counts as integers, flags as true/false, shares and
scores as decimals), and the same bytes for the same snapshot, config and code. The Google Sheet
tab written back (writeback.py) shows the same table."""

from __future__ import annotations

from typing import Any

from .cells import csv_text
from .render import published_rows
from .jsontext import dumps_indented

FUNDER_COLUMNS = ("metric_id", "label", "quarter", "value", "unit", "n", "suppressed")

# Decimal places a published decimal keeps: enough for a funder to compare quarters, few enough that
# float noise never changes the bytes. p-values keep more, so a small one does not read as 0.
DECIMALS = {"share": 4, "index": 4, "score": 4, "difference": 4, "p_value": 6}

# A dimension in words, per dimension kind of the registry (transforms/metrics.yml).
KIND_WORDS = {"weekly_call": "weekly calls", "monthly_call": "monthly calls",
              "quarterly_meeting": "quarterly meetings", "committee": "committee meetings", "event": "events"}
SOURCE_WORDS = {"tasks": "tasks owned", "facilitation": "meetings facilitated"}
MILESTONE_WORDS = {"quick_win": "quick wins", "policy_win": "policy wins", "media": "media coverage",
                   "funding": "funding", "other": "other milestones"}


def dimension_names(con, settings) -> dict[str, dict[str, str]]:
    """What the labels name dimensions by: each survey item's question text (marked when reverse-scored)
    and each scale's name
    (the instrument in the config), each goal's statement (the goals tab, accepted rows only)."""
    goals = dict(con.execute("select goal_id, statement from staging.stg_goals order by goal_id").fetchall())
    # a reverse-scored item says so: its mean reads the other way round from its question
    items = {i.code: i.question + (" (reverse-scored)" if i.reverse else "") for i in settings.instrument.items}
    return {"item": items, "scale": {s.code: s.name for s in settings.instrument.scales},
            "goal": {g: s or g for g, s in goals.items()}}


def metric_label(metric, dimension: str | None, names: dict[str, dict[str, str]]) -> str:
    """'Meetings held: weekly calls', 'Item mean: <question>', 'Goal progress: <statement>'.

    The one place a published figure gets its human name (the report can use it too). A member
    dimension has no label here: member-level figures never reach a funder output."""
    if dimension is None:
        return metric.name
    kind = metric.dimension
    if kind == "member":
        raise ValueError(f"{metric.id}[{dimension}] is a member-level figure; it has no funder label")
    if kind in ("kind", "counted_kind"):
        words = KIND_WORDS.get(dimension, dimension.replace("_", " "))
    elif kind == "source":
        words = SOURCE_WORDS.get(dimension, dimension)
    elif kind == "milestone_kind":
        words = MILESTONE_WORDS.get(dimension, dimension.replace("_", " "))
    elif kind in ("item", "scale", "goal"):
        words = names.get(kind, {}).get(dimension, dimension)
    else:
        words = dimension
    return f"{metric.name}: {' '.join(str(words).split())}"


def typed_value(unit: str, value):
    """A figure as the funder files carry it: counts as integers, flags as true/false, the rest as
    decimals rounded to DECIMALS[unit]. None stays None (no data, or suppressed)."""
    if value is None:
        return None
    if unit == "count":
        number = float(value)
        if not number.is_integer():
            raise ValueError(f"a count must be a whole number, not {value!r}")
        return int(number)
    if unit == "flag":
        return bool(value)
    return round(float(value), DECIMALS.get(unit, 6)) + 0.0  # + 0.0: never -0.0


def funder_records(con, settings, rows: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """Rows of funder_metrics.*, in FUNDER_COLUMNS order, for every quarter up to the run's. ``rows``:
    render.published_rows(con) already read (its for_funder rows are the funders')."""
    names = dimension_names(con, settings)
    records = []
    funder_rows = published_rows(con, audience="funder") if rows is None else [r for r in rows if r["for_funder"]]
    for r in funder_rows:
        m = r["metric"]
        if m.dimension == "member":  # the registry must never make a member-level metric funder-visible
            raise ValueError(f"metrics.yml: {m.id} has a member dimension but audience funder; member-level "
                             f"figures stay in coordinator outputs")
        value = None if r["suppressed"] else typed_value(m.unit, r["value"])
        records.append({"metric_id": r["metric_id"], "label": metric_label(m, r["dimension"], names),
                        "quarter": r["quarter"], "value": value, "unit": m.unit,
                        "n": int(r["n"]) if r["n"] is not None else None, "suppressed": bool(r["suppressed"])})
    return records


def completeness(validation) -> dict[str, Any]:
    """The quarter's completeness: rows accepted and rows set aside per tab and in total; rows set
    aside split into those to fix and the rest (superseded survey submissions, rows that refer to a
    row set aside in another tab)."""
    tabs = {}
    for name, t in validation.tabs.items():
        to_fix = len({q.sheet_row for q in t.quarantined if q.to_fix})
        tabs[name] = {"rows_accepted": t.rows_accepted, "rows_set_aside": t.rows_quarantined,
                      "rows_set_aside_to_fix": to_fix, "rows_set_aside_other": t.rows_quarantined - to_fix}
    total = {key: sum(t[key] for t in tabs.values())
             for key in ("rows_accepted", "rows_set_aside", "rows_set_aside_to_fix", "rows_set_aside_other")}
    return {**total, "tabs": tabs}


def funder_doc(records: list[dict[str, Any]], coalition: str, quarter: str, complete: dict[str, Any]) -> dict:
    """funder_metrics.json's document (funder_json writes it)."""
    return {"coalition": coalition, "quarter": quarter, "completeness": complete,
            "columns": list(FUNDER_COLUMNS), "metrics": [{c: r[c] for c in FUNDER_COLUMNS} for r in records]}


def funder_json(records: list[dict[str, Any]], coalition: str, quarter: str, complete: dict[str, Any]) -> str:
    """Deterministic JSON: no run id, no timestamp; same snapshot, config and code -> same bytes."""
    return dumps_indented(funder_doc(records, coalition, quarter, complete)) + "\n"


def funder_csv(records: list[dict[str, Any]]) -> str:
    return csv_text(FUNDER_COLUMNS, ([r[c] for c in FUNDER_COLUMNS] for r in records))
