"""The audit pack's data: the SQL files in reports/audit_data/ over the run's database.

``prepare(con, settings, wave_from, wave_to)`` makes the temporary table ``audit_values`` (every
value the statistics rest on, reports/audit_data/measure_values.sql); ``rows(con, name)`` runs one
of the other files for the same waves. Nothing here computes a statistic.
"""

from __future__ import annotations

import json
from typing import Any

from ..config import PROJECT_ROOT

AUDIT_DATA_DIR = PROJECT_ROOT / "reports" / "audit_data"
EXPECTATIONS_DIR = PROJECT_ROOT / "expectations"

# The survey expectations whose quarantined rows the integrity tables list, by the derived column
# they check (coalition_metrics/validate/references.py derives them).
SET_ASIDE_CHECKS = {
    "rule_superseded": "row__superseded",
    "rule_outside": "row__outside_membership",
    "rule_unknown": "respondent__unknown",
    "rule_ambiguous": "respondent__ambiguous",
}


def set_aside_rules() -> dict[str, str]:
    """quarantine.rows.rule of each integrity check: its reason in expectations/survey.json with
    {value} and {detail} as '…' (how validation writes the rule)."""
    suite = json.loads((EXPECTATIONS_DIR / "survey.json").read_text(encoding="utf-8"))
    by_column = {e.get("kwargs", {}).get("column"): e for e in suite["expectations"]}
    rules = {}
    for param, column in SET_ASIDE_CHECKS.items():
        meta = by_column[column].get("meta", {})
        rules[param] = meta["reason"].replace("{value}", "…").replace("{detail}", "…")
    return rules


def prepare(con, settings, wave_from: str, wave_to: str) -> None:
    """The SQL functions and macros the models use, then audit_values for the waves."""
    from ..transform import TRANSFORMS_DIR, register_functions

    register_functions(con, settings)
    con.execute((TRANSFORMS_DIR / "macros.sql").read_text(encoding="utf-8"))
    sql = (AUDIT_DATA_DIR / "measure_values.sql").read_text(encoding="utf-8")
    con.execute(f"create or replace temp table audit_values as\n{sql}", {"wave_from": wave_from, "wave_to": wave_to})


def rows(con, name: str, wave_from: str, wave_to: str, **params: Any) -> list[dict[str, Any]]:
    """Rows of reports/audit_data/<name>.sql as dicts (the parameters it does not use are left out)."""
    sql = (AUDIT_DATA_DIR / f"{name}.sql").read_text(encoding="utf-8")
    given = {"wave_from": wave_from, "wave_to": wave_to, **params}
    cur = con.execute(sql, {k: v for k, v in given.items() if f"${k}" in sql})
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]
