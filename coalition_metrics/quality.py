"""The coordinator's view of validation: the data-quality page, quarantine.csv and the problem
table that `coalition validate` prints. Built from a ValidationResult; funder outputs never use it."""

from __future__ import annotations

from collections import Counter
from typing import Any

from .validate import TAB_ORDER, ValidationResult

QUARANTINE_COLUMNS = ("tab", "sheet_row", "column", "value", "reason", "fix", "expectation", "scope")


def quality_context(validation: ValidationResult, *, coalition: str, quarter: str | None, run_id: str | None,
                    snapshot_id: str, source: str, validated_on: str) -> dict[str, Any]:
    """quarter and run_id are None for `coalition validate` (no run)."""
    tabs = []
    consequences = _consequences(validation)
    for name in TAB_ORDER:
        t = validation.tabs.get(name)
        if t is None:
            continue
        by_reason = Counter((q.column if q.scope == "row" else "grid cell", q.rule) for q in t.quarantined)
        fixes, dependents, info = _grouped(t.quarantined, consequences)
        tabs.append({
            "tab": t.tab, "title": t.title, "present": t.present, "form": t.form,
            "fixes": fixes, "dependents": dependents, "info": info,
            "rows_read": t.rows_read, "rows_blank": t.rows_blank, "blank_rows": t.blank_rows, "rows_accepted": t.rows_accepted,
            "rows_quarantined": t.rows_quarantined, "cells_quarantined": t.cells_quarantined,
            "by_reason": [{"column": c, "rule": r, "count": n} for (c, r), n in sorted(by_reason.items(), key=lambda kv: -kv[1])],
            "quarantined": [q.as_dict() for q in t.quarantined],
            "checks": t.checks,
        })
    total = sum(t["rows_quarantined"] for t in tabs)
    return {
        "rows_to_fix": rows_to_fix(validation),
        "info_rows": sum(len({q["sheet_row"] for q in t["info"]}) for t in tabs),
        "coalition": coalition, "quarter": quarter, "run_id": run_id, "snapshot_id": snapshot_id,
        "source": source, "validated_on": validated_on, "tabs": tabs, "total_quarantined": total,
        "tabs_with_problems": sum(1 for t in tabs if t["fixes"]),
        "any_grid": any(t["form"] == "grid" for t in tabs),
    }


def render_quality_page(context: dict[str, Any]) -> str:
    from .render import template_env

    return template_env().get_template("data_quality.html.j2").render(**context)


def quarantine_csv(validation: ValidationResult) -> str:
    """Every quarantined cell, formulas neutralized, for working through in a spreadsheet."""
    from .cells import csv_text

    return csv_text(QUARANTINE_COLUMNS, ([q.as_dict()[c] for c in QUARANTINE_COLUMNS] for q in validation.quarantined))


def rows_to_fix(validation: ValidationResult) -> int:
    """Rows a person must correct: not superseded submissions (information), not rows set aside
    only because they refer to a row set aside in another tab (fixing that row fixes them)."""
    return sum(len({q.sheet_row for q in t.quarantined if q.to_fix}) for t in validation.tabs.values())


def info_entries(validation: ValidationResult) -> list:
    return [q for q in validation.quarantined if q.severity == "info"]


def _consequences(validation: ValidationResult) -> dict[str, list[tuple[str, int]]]:
    """'meetings row 4' -> [(tab, sheet row), ...] of the rows set aside because they refer to it."""
    out: dict[str, list[tuple[str, int]]] = {}
    for q in validation.quarantined:
        if q.caused_by and (q.tab, q.sheet_row) not in out.setdefault(q.caused_by, []):
            out[q.caused_by].append((q.tab, q.sheet_row))
    return out


def _also(cause: str, consequences: dict) -> str:
    rows = consequences.get(cause, [])
    if not rows:
        return ""
    by_tab: dict[str, list[int]] = {}
    for tab, row in rows:
        by_tab.setdefault(tab, []).append(row)
    parts = [f"{len(r)} {tab} row{'s' if len(r) != 1 else ''} ({_row_list(r)})" for tab, r in by_tab.items()]
    return "Fixing it also brings back " + " and ".join(parts) + ", set aside because they refer to it."


def _row_list(rows: list[int], limit: int = 8) -> str:
    rows = sorted(rows)
    shown = ", ".join(str(r) for r in rows[:limit])
    return shown + (f", … ({len(rows) - limit} more)" if len(rows) > limit else "")


def _grouped(quarantined, consequences):
    """A tab's entries as (rows to fix, each with what fixing it brings back; rows set aside
    because of a row elsewhere, one line per such row; information)."""
    fixes, dependents, info = [], {}, []
    for q in quarantined:
        if q.severity == "info":
            info.append(q.as_dict())
        elif q.caused_by:
            dependents.setdefault(q.caused_by, []).append(q.sheet_row)
        else:
            fixes.append({**q.as_dict(), "also": _also(f"{q.tab} row {q.sheet_row}", consequences)})
    return fixes, [{"cause": c, "rows": _row_list(sorted(set(r))), "count": len(set(r))} for c, r in dependents.items()], info


def problem_table(validation: ValidationResult, width: int = 100) -> str:
    """The rows to fix as a plain-text table: tab, sheet row, column, value, what to do. A row set
    aside only because it refers to a row set aside elsewhere is listed under that row, and
    superseded survey submissions are listed apart, as information."""
    consequences = _consequences(validation)
    rows = []
    for q in validation.quarantined:
        if not q.to_fix:
            continue
        also = _also(f"{q.tab} row {q.sheet_row}", consequences)
        rows.append((q.tab, str(q.sheet_row), q.column, _clip(q.value, 24),
                     f"{q.reason}. {q.fix}" + (f" {also}" if also else "")))
    orphans = [q for q in validation.quarantined if q.caused_by and q.caused_by not in
               {f"{x.tab} row {x.sheet_row}" for x in validation.quarantined if x.to_fix}]
    for q in orphans:  # it refers to a row that was itself set aside by a third row: listed here too
        rows.append((q.tab, str(q.sheet_row), q.column, _clip(q.value, 24), f"{q.reason}. {q.fix}"))
    head = ("tab", "row", "column", "value", "what to do")
    widths = [max(len(head[i]), *(len(r[i]) for r in rows)) if rows else len(head[i]) for i in range(4)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(head[:4], widths)) + "  " + head[4]]
    lines.append("  ".join("-" * w for w in widths) + "  " + "-" * 10)
    for r in rows:
        lines.append("  ".join(v.ljust(w) for v, w in zip(r[:4], widths)) + "  " + r[4])
    info = info_entries(validation)
    if info:
        lines += ["", "For information (nothing to fix; these rows are kept but not counted):"]
        lines += [f"  {q.tab} row {q.sheet_row}: {q.reason}" for q in info]
    return "\n".join(lines)


def count_table(validation: ValidationResult) -> str:
    head = ("tab", "read", "blank", "accepted", "quarantined")
    rows = [(t.title + ("" if t.present else " (absent)") + (" [grid]" if t.form == "grid" else ""),
             str(t.rows_read), str(t.rows_blank), str(t.rows_accepted), str(t.rows_quarantined))
            for name in TAB_ORDER if (t := validation.tabs.get(name)) is not None]
    widths = [max(len(head[i]), *(len(r[i]) for r in rows)) for i in range(5)]
    out = ["  ".join(h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(head, widths)))]
    for r in rows:
        out.append("  ".join(v.ljust(w) if i == 0 else v.rjust(w) for i, (v, w) in enumerate(zip(r, widths))))
    return "\n".join(out)


def _clip(text: str, n: int) -> str:
    text = text.replace("\n", " ")
    return text if len(text) <= n else text[: n - 1] + "…"
