"""Validate: match headers, derive checked columns, run the Great Expectations suites per tab.

Blocking problems (a required tab missing, a tab with no header, a missing required column, a
required tab with no rows, more than ``max_bad_share`` of a tab's rows quarantined) stop the run
with a message that names the tab, the column and the fix. Row-level failures are quarantined with
tab, sheet row, column, value, the expectation that failed and a sentence; the run goes on.

The suites (expectations/<tab>.json, Great Expectations 1.x suite JSON) run against a frame with
one row per non-blank sheet row and these columns:
- ``sheet_row`` and every contract column as trimmed text (None when blank);
- ``<col>__value``: the parsed value of a date, timestamp, number, Likert or enumerated column
  (dates as ISO text, enumerations case-folded), None when blank or unparseable;
- ``<col>__invalid``: the cell text when it is not blank but cannot be parsed, else None;
- ``row__repeat``: for a repeated unique key, the sheet row of its first occurrence;
- survey only: ``respondent__unknown`` (respondent text that matches no member) and
  ``row__superseded`` (the sheet row of the same member's later submission in the wave).
A kwarg written ``{"$ref": "members.member_id"}`` is replaced by the accepted ids of that tab, and
``{"$ref": "config.scale_min"}`` by the setting.
"""

from __future__ import annotations

import difflib
import json
import os
from dataclasses import dataclass, field
from typing import Any

from . import dates, parsing
from .config import PROJECT_ROOT
from .contract import ENUMS, REQUIRED_TABS, UNIQUE_KEYS, Column, columns_of, headers_of
from .errors import BlockingValidationError
from .quarters import Quarter
from .sources import RawTab

EXPECTATIONS_DIR = PROJECT_ROOT / "expectations"
TAB_ORDER = ("members", "meetings", "goals", "attendance", "tasks", "goal_measurements", "survey", "milestones")


@dataclass
class QuarantinedCell:
    tab: str
    sheet_row: int
    column: str
    value: str
    expectation: str
    reason: str
    fix: str = ""

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


@dataclass
class TabResult:
    tab: str
    title: str
    present: bool
    rows_read: int = 0  # data rows in the sheet, blank ones included
    rows_blank: int = 0
    accepted_rows: list[int] = field(default_factory=list)  # sheet rows kept
    quarantined: list[QuarantinedCell] = field(default_factory=list)
    column_map: dict[str, int] = field(default_factory=dict)  # contract column -> header index
    accepted: Any = None  # pandas DataFrame of accepted rows (contract columns + derived)

    @property
    def rows_quarantined(self) -> int:
        return len({q.sheet_row for q in self.quarantined})

    @property
    def rows_accepted(self) -> int:
        return len(self.accepted_rows)


@dataclass
class ValidationResult:
    tabs: dict[str, TabResult]

    @property
    def quarantined(self) -> list[QuarantinedCell]:
        return [q for t in self.tabs.values() for q in t.quarantined]

    def counts(self) -> dict[str, dict[str, int]]:
        return {
            name: {
                "rows_read": t.rows_read,
                "rows_blank": t.rows_blank,
                "rows_accepted": t.rows_accepted,
                "rows_quarantined": t.rows_quarantined,
            }
            for name, t in self.tabs.items()
        }


# ----------------------------------------------------------------------------------------------
def validate_snapshot(tabs: dict[str, RawTab], settings) -> ValidationResult:
    """Validate every tab; raise BlockingValidationError listing every blocking problem."""
    problems: list[str] = []
    results: dict[str, TabResult] = {}
    frames: dict[str, Any] = {}

    for name in TAB_ORDER:
        raw = tabs.get(name) or RawTab(name, settings.tabs[name], present=False)
        result, frame, tab_problems = _prepare(raw, settings)
        results[name] = result
        problems += tab_problems
        if frame is not None:
            frames[name] = frame
    if problems:
        raise BlockingValidationError(problems)

    context = _gx_context()
    for name in TAB_ORDER:
        if name not in frames:
            continue
        frame = frames[name]
        if name == "survey":
            _derive_survey(frame, results, settings)
        suite = load_suite(name, results, settings)
        failures = _run_suite(context, name, frame, suite)
        result = results[name]
        for sheet_row, column, expectation, reason, fix in failures:
            value = frame.loc[frame["sheet_row"] == sheet_row, column].iloc[0] if column in frame else None
            value = "" if value is None or value != value else str(value)
            result.quarantined.append(
                QuarantinedCell(name, int(sheet_row), column, value, expectation, reason.format(value=value), fix)
            )
        bad = {q.sheet_row for q in result.quarantined}
        accepted = frame[~frame["sheet_row"].isin(bad)].reset_index(drop=True)
        result.accepted = accepted
        result.accepted_rows = [int(r) for r in accepted["sheet_row"]]
        checked = result.rows_read - result.rows_blank
        if checked and result.rows_quarantined / checked > settings.max_bad_share:
            reasons = sorted({q.reason.split(":")[0] for q in result.quarantined})[:3]
            problems.append(
                f"Tab '{result.title}': {result.rows_quarantined} of {checked} rows "
                f"({result.rows_quarantined / checked:.0%}) failed checks, more than the "
                f"{settings.max_bad_share:.0%} allowed by [validation] max_bad_share. Most common: "
                f"{'; '.join(reasons)}. Run `coalition validate` for the list of rows to fix."
            )
    if problems:
        raise BlockingValidationError(problems)
    for q in results.values():
        q.quarantined.sort(key=lambda c: (c.sheet_row, c.column, c.expectation))
    return ValidationResult(results)


# ----------------------------------------------------------------------------------------------
def _prepare(raw: RawTab, settings):
    """Match headers, count blank rows, build the frame with derived columns (no GX yet)."""
    import pandas as pd

    name, title = raw.name, raw.title
    result = TabResult(name, title, raw.present)
    problems: list[str] = []
    if not raw.present:
        if name in REQUIRED_TABS:
            problems.append(
                f"Tab '{title}' is missing. Add a tab named '{title}' (or set [tabs] {name} in the "
                f"config to the tab's actual name)."
            )
        return result, None, problems
    result.rows_read = len(raw.rows)
    if not any(h.strip() for h in raw.header):
        problems.append(
            f"Tab '{title}' is empty: it has no header row. Put the column names in row 1 "
            f"({', '.join(headers_of(name, settings).values())})."
        )
        return result, None, problems

    columns = columns_of(name, settings)
    expected = headers_of(name, settings)
    found: dict[str, int] = {}
    for i, h in enumerate(raw.header):
        found.setdefault(parsing.norm_key(h), i)
    for col in columns:
        idx = found.get(parsing.norm_key(expected[col.name]))
        if idx is not None:
            result.column_map[col.name] = idx
        elif col.required:
            close = difflib.get_close_matches(
                parsing.norm_key(expected[col.name]), [parsing.norm_key(h) for h in raw.header if h.strip()], n=1, cutoff=0.6
            )
            hint = f" The tab has a column '{_original(raw.header, close[0])}': rename it to '{expected[col.name]}'." if close else ""
            what = "question" if name == "survey" and col.kind == "likert" else "required column"
            problems.append(
                f"Tab '{title}' has no {what} '{expected[col.name]}' (header row 1).{hint} "
                f"Add the column, or map it in the config."
            )
    if name == "survey":
        # A mapped question missing from the sheet is blocking (DESIGN.md, survey items).
        for col in columns:
            if col.kind == "likert" and col.name not in result.column_map:
                problems.append(
                    f"Tab '{title}' has no column for survey item '{col.name}': expected the question "
                    f"'{expected[col.name]}'. Rename the column or set [survey_items] {col.name} to the "
                    f"question text the sheet uses."
                )
    if problems:
        return result, None, _unique(problems)

    records = []
    for sheet_row, cells in raw.rows:
        if not any(str(c).strip() for c in cells):
            result.rows_blank += 1
            continue
        rec: dict[str, Any] = {"sheet_row": sheet_row}
        for col in columns:
            idx = result.column_map.get(col.name)
            text = cells[idx].strip() if idx is not None and idx < len(cells) else ""
            rec[col.name] = text or None
            _derive(rec, col, text, settings)
        records.append(rec)
    if name in REQUIRED_TABS and not records:
        problems.append(
            f"Tab '{title}' has a header but no rows. Fill in the tab (or point [source] location at "
            f"the right spreadsheet)."
        )
        return result, None, problems
    frame = pd.DataFrame.from_records(records, columns=_frame_columns(columns))
    _mark_repeats(frame, name)
    return result, frame, problems


def _frame_columns(columns: list[Column]) -> list[str]:
    out = ["sheet_row"]
    for col in columns:
        out.append(col.name)
        if col.kind in ("date", "timestamp", "number", "likert", "enum"):
            out.append(f"{col.name}__value")
        if col.kind in ("date", "timestamp", "number", "likert"):
            out.append(f"{col.name}__invalid")
    return out


def _derive(rec: dict[str, Any], col: Column, text: str, settings) -> None:
    fmt = settings.date_format
    if col.kind == "enum":
        rec[f"{col.name}__value"] = enum_value(text) if text else None
        return
    if col.kind not in ("date", "timestamp", "number", "likert"):
        return
    value = None
    if text:
        if col.kind == "date":
            d = dates.try_parse_date(text, fmt)
            value = d.isoformat() if d else None
        elif col.kind == "timestamp":
            ts = dates.try_parse_timestamp(text, fmt)
            value = ts.isoformat(sep=" ") if ts else None
        elif col.kind == "number":
            value = parsing.parse_number(text)
        else:
            value = parsing.parse_likert(text)
    rec[f"{col.name}__value"] = value
    rec[f"{col.name}__invalid"] = text if text and value is None else None


def enum_value(text: str) -> str:
    """Enumerated values match after trimming and case-folding; 'Weekly call' == 'weekly_call'."""
    return parsing.norm_key(text).replace(" ", "_").replace("-", "_")


def _mark_repeats(frame, tab: str) -> None:
    key = UNIQUE_KEYS.get(tab)
    frame["row__repeat"] = None
    if not key or frame.empty:
        return
    first: dict[tuple, int] = {}
    repeats = []
    for row in frame[["sheet_row", *key]].itertuples(index=False):
        k = tuple(row[1:])
        if any(v is None for v in k):
            repeats.append(None)
            continue
        if k in first:
            repeats.append(f"repeats row {first[k]}")
        else:
            first[k] = row[0]
            repeats.append(None)
    frame["row__repeat"] = repeats


def _derive_survey(frame, results: dict[str, TabResult], settings) -> None:
    """Match respondents to members and mark superseded submissions (the latest in a wave counts)."""
    frame["respondent__member_id"] = None
    frame["respondent__unknown"] = None
    frame["row__superseded"] = None
    if "respondent" not in results["survey"].column_map:
        return  # anonymous survey
    members = results["members"].accepted
    lookup: dict[str, str] = {}
    if members is not None:
        for mid, org in zip(members["member_id"], members["organization"]):
            lookup.setdefault(parsing.norm_key(mid), mid)
            if org:
                lookup.setdefault(parsing.norm_key(org), mid)
    ids, unknown = [], []
    for text in frame["respondent"]:
        mid = lookup.get(parsing.norm_key(text)) if text else None
        ids.append(mid)
        unknown.append(text if text and mid is None else None)
    frame["respondent__member_id"] = ids
    frame["respondent__unknown"] = unknown
    fs = settings.fiscal_year_start_month
    latest: dict[tuple, tuple] = {}
    for sheet_row, mid, ts in zip(frame["sheet_row"], frame["respondent__member_id"], frame["timestamp__value"]):
        if mid is None or ts is None:
            continue
        wave = Quarter.of(dates.parse_date(ts), fs).label
        cur = latest.get((mid, wave))
        if cur is None or (ts, sheet_row) > cur:
            latest[(mid, wave)] = (ts, sheet_row)
    superseded = []
    for sheet_row, mid, ts in zip(frame["sheet_row"], frame["respondent__member_id"], frame["timestamp__value"]):
        if mid is None or ts is None:
            superseded.append(None)
            continue
        wave = Quarter.of(dates.parse_date(ts), fs).label
        keep_row = latest[(mid, wave)][1]
        superseded.append(None if keep_row == sheet_row else f"superseded by row {keep_row}")
    frame["row__superseded"] = superseded


# ----------------------------------------------------------------------------------------------
def load_suite(tab: str, results: dict[str, TabResult], settings) -> dict:
    """The suite file for a tab with its ``$ref`` values filled in."""
    doc = json.loads((EXPECTATIONS_DIR / f"{tab}.json").read_text(encoding="utf-8"))

    def resolve(value):
        if isinstance(value, dict) and set(value) == {"$ref"}:
            ref = value["$ref"]
            scope, _, key = ref.partition(".")
            if scope == "config":
                if key in ("scale_min", "scale_max"):
                    return settings.survey[key]
                raise ValueError(f"unknown config reference {ref} in expectations/{tab}.json")
            if scope == "enum":
                return ENUMS[key]
            accepted = results[scope].accepted
            if accepted is None:
                return []
            return sorted({v for v in accepted[key] if v is not None})
        if isinstance(value, dict):
            return {k: resolve(v) for k, v in value.items()}
        return value

    doc["expectations"] = [
        {**e, "kwargs": resolve(e["kwargs"])}
        for e in doc["expectations"]
        if e.get("meta", {}).get("when") != "respondent" or "respondent" in results[tab].column_map
    ]
    return doc


def _gx_context():
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    context.data_sources.add_pandas("coalition")
    return context


def _run_suite(context, tab: str, frame, suite_doc: dict) -> list[tuple[int, str, str, str, str]]:
    """Run the suite; return (sheet_row, column, expectation type, reason, fix) per failing row."""
    from great_expectations.core.expectation_suite import ExpectationSuite
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    if frame.empty:
        return []
    expectations = [
        ExpectationConfiguration(type=e["type"], kwargs=e["kwargs"], meta=e.get("meta", {})).to_domain_obj()
        for e in suite_doc["expectations"]
        if _columns_present(e["kwargs"], frame)
    ]
    suite = ExpectationSuite(name=suite_doc["name"], expectations=expectations)
    source = context.data_sources.get("coalition")
    asset = source.add_dataframe_asset(f"{tab}-{len(source.assets)}")
    batch = asset.add_batch_definition_whole_dataframe("all rows").get_batch(batch_parameters={"dataframe": frame})
    answer = batch.validate(
        suite, result_format={"result_format": "COMPLETE", "unexpected_index_column_names": ["sheet_row"]}
    )
    failures = []
    for r in answer.results:
        if r.success:
            continue
        cfg = r.expectation_config
        meta = cfg.meta or {}
        column = meta.get("column") or cfg.kwargs.get("column") or cfg.kwargs.get("column_A")
        reason = meta.get("reason", cfg.type)
        rows = r.result.get("unexpected_index_list") or []
        if not rows and r.exception_info and r.exception_info.get("raised_exception"):
            raise RuntimeError(f"expectation {cfg.type} on {tab} failed to run: {r.exception_info}")
        for item in rows:
            failures.append((int(item["sheet_row"]), column, cfg.type, reason, meta.get("fix", "")))
    return failures


def _columns_present(kwargs: dict, frame) -> bool:
    cols = [kwargs[k] for k in ("column", "column_A", "column_B") if k in kwargs]
    return all(c in frame.columns for c in cols)


def _original(header: list[str], key: str) -> str:
    for h in header:
        if parsing.norm_key(h) == key:
            return h.strip()
    return key


def _unique(items: list[str]) -> list[str]:
    seen, out = set(), []
    for i in items:
        if i not in seen:
            seen.add(i)
            out.append(i)
    return out
