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
    """The SQL functions and macros the models use, what the database lacks (see compat), then
    audit_values for the waves."""
    from ..transform import TRANSFORMS_DIR, register_functions

    register_functions(con, settings)
    con.execute((TRANSFORMS_DIR / "macros.sql").read_text(encoding="utf-8"))
    compat(con, settings)
    sql = (AUDIT_DATA_DIR / "measure_values.sql").read_text(encoding="utf-8")
    con.execute(f"create or replace temp table audit_values as\n{sql}", {"wave_from": wave_from, "wave_to": wave_to})


def rows(con, name: str, wave_from: str, wave_to: str, **params: Any) -> list[dict[str, Any]]:
    """Rows of reports/audit_data/<name>.sql as dicts (the parameters it does not use are left out)."""
    sql = (AUDIT_DATA_DIR / f"{name}.sql").read_text(encoding="utf-8")
    given = {"wave_from": wave_from, "wave_to": wave_to, **params}
    cur = con.execute(sql, {k: v for k, v in given.items() if f"${k}" in sql})
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]


def _columns(con, schema: str, table: str) -> set[str]:
    return {c for (c,) in con.execute(
        "select column_name from information_schema.columns where table_schema = ? and table_name = ?",
        [schema, table]).fetchall()}


def compat(con, settings) -> None:
    """Give a database built before the survey instrument of issue 12 the tables and columns the
    audit SQL reads, with the values they would hold for that database: stg_survey_answers.answer
    (= score: no item was reverse-scored) and .sheet_row (= response_id), ref.survey_items.question
    (the config's question text) and .reverse (false), and empty composite-scale tables (no scales). A database that has
    them is left as it is. The database is the run's own build; this only adds, never changes, a
    figure. (To delete once every database has them.)"""
    answers = _columns(con, "staging", "stg_survey_answers")
    if "answer" not in answers:
        con.execute("alter table staging.stg_survey_answers add column answer double")
        con.execute("update staging.stg_survey_answers set answer = score")
    if "sheet_row" not in answers:
        con.execute("alter table staging.stg_survey_answers add column sheet_row integer")
        con.execute("update staging.stg_survey_answers set sheet_row = response_id")
    item_columns = _columns(con, "ref", "survey_items")
    if "question" not in item_columns:
        con.execute("alter table ref.survey_items add column question varchar")
        for item, question in settings.survey_items.items():
            con.execute("update ref.survey_items set question = ? where item = ?", [question, item])
    if "reverse" not in item_columns:
        con.execute("alter table ref.survey_items add column reverse boolean default false")
    for ddl in (
        "create table if not exists ref.survey_scales (scale varchar, name varchar, position integer, "
        "funder boolean, min_items integer)",
        "create table if not exists ref.survey_scale_items (scale varchar, item varchar, position integer)",
        "create table if not exists ref.survey_scale_bands (scale varchar, position integer, label varchar, "
        "min double)",
        "create table if not exists ref.survey_item_labels (item varchar, value integer, label varchar)",
        "create table if not exists marts.survey_scale_scores (response_id integer, wave varchar, "
        "member_id varchar, scale varchar, score double, items_answered integer)",
        "create table if not exists marts.survey_scales_by_wave (wave varchar, seq integer, scale varchar, "
        "scale_position integer, n bigint, mean double, sd double, ci_low double, ci_high double, band varchar, "
        "is_suppressed boolean)",
    ):
        con.execute(ddl)
