"""The Great Expectations side: load a suite file with its references filled in, and run it on a
frame in an ephemeral (in-memory, offline) context."""

from __future__ import annotations

import functools
import json
import os
from datetime import date, datetime, time
from typing import Any

from ..config import PROJECT_ROOT
from ..contract import ENUMS
from ..errors import ConfigError
from .frames import by_code
from .results import TabResult

EXPECTATIONS_DIR = PROJECT_ROOT / "expectations"


def load_suite(tab: str, results: dict[str, TabResult], settings, today: date | None = None, frame=None) -> dict:
    """The suite file for a tab with its ``$ref`` and ``$date`` values filled in, and ``{today}``
    in a reason written as the day checked against (the day the source was read), ``{date_format}``
    as the coalition's [source] date_format.

    With ``frame``, an id check against another tab (``value_set`` ``{"$ref": "members.member_id"}``)
    is not handed that tab's id list (Great Expectations copies it into the expectation, and checks
    every value against it): the frame gets a column ``<column>__in__<tab>__<key>``, True when the
    id is among that tab's accepted ids, False when not, null when blank (computed once, by a hash
    join), and the expectation checks that column is in ``[True]``. Its failures still name and
    show the id (``meta.detail_column``)."""
    doc = json.loads((EXPECTATIONS_DIR / f"{tab}.json").read_text(encoding="utf-8"))
    doc["expectations"] = expand_item_templates(doc["expectations"], settings.instrument.item_codes)
    today = today or date.today()

    def resolve(value):
        if isinstance(value, dict) and set(value) == {"$date"}:
            return datetime.fromisoformat(value["$date"])
        if isinstance(value, dict) and set(value) == {"$ref"}:
            ref = value["$ref"]
            scope, _, key = ref.partition(".")
            if ref == "run.today":
                return datetime.combine(today, time(23, 59, 59))
            if scope == "scale":  # scale.<item>.min / .max: the item's own scale
                item, _, end = key.partition(".")
                lo, hi = settings.item_scale(item)
                return lo if end == "min" else hi
            if scope == "config":
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

    def ref_of(kwargs) -> str | None:
        ref = (kwargs.get("value_set") or {}).get("$ref") if isinstance(kwargs.get("value_set"), dict) else None
        return ref if ref and ref.split(".")[0] in results else None

    def meta_of(e) -> dict:
        meta = {**e.get("meta", {}), "ref": ref_of(e["kwargs"])}
        if "reason" in meta:
            meta["reason"] = meta["reason"].replace("{today}", today.isoformat()).replace(
                "{date_format}", settings.date_format)  # the coalition's own: "write ... the configured D/M/YYYY"
        return meta

    def by_flag(e: dict) -> dict:
        ref = e["meta"].get("ref")
        column = e["kwargs"].get("column")
        if frame is None or ref is None or e["type"] != "expect_column_values_to_be_in_set" or column not in frame:
            return {**e, "kwargs": resolve(e["kwargs"])}
        scope, _, key = ref.partition(".")
        flag = f"{column}__in__{scope}__{key}"
        if flag not in frame:
            frame[flag] = known_flags(frame[column], results[scope].accepted, key)
        return {**e, "kwargs": {**{k: v for k, v in e["kwargs"].items() if k != "value_set"}, "column": flag,
                                "value_set": [True]},
                "meta": {**e["meta"], "detail_column": column, "checked_column": column}}

    doc["expectations"] = [
        by_flag({**e, "meta": meta_of(e)})
        for e in doc["expectations"]
        if e.get("meta", {}).get("when") != "respondent" or "respondent" in results[tab].column_map
    ]
    return doc


def known_flags(values, accepted, key: str):
    """For each value: True when it is among ``accepted[key]`` (the other tab's accepted rows), False
    when not, None when blank."""
    import numpy as np
    import pandas as pd

    values = np.asarray(values, dtype=object)
    # a set of the ids, not a pandas Index: a coalition's tab checks a few thousand values, where an
    # Index's set-up (0.5 ms a call, six calls a coalition) costs more than the lookups
    ids = set() if accepted is None else set(accepted[key].dropna().tolist())
    # Python True/False (a rule's tags are typed: see _tag)
    blanks = pd.isna(values).tolist()
    return np.array([None if blank else value in ids for value, blank in zip(values.tolist(), blanks)], dtype=object)


def expand_item_templates(expectations: list[dict], item_codes) -> list[dict]:
    """A run of entries whose ``meta.for_each`` is "survey_item" is a template: it is written once, with
    ``{item}`` where the item code goes (a column such as ``{item}__invalid``, a ``scale.{item}.min``
    reference, the reason and fix), and expanded here for each item of the instrument, item by item,
    so the suite declares the same rules for six default items or forty of a coalition's own."""
    out: list[dict] = []
    block: list[dict] = []

    def fill(value, code):
        if isinstance(value, str):
            return value.replace("{item}", code)
        if isinstance(value, dict):
            return {k: fill(v, code) for k, v in value.items() if k != "for_each"}
        if isinstance(value, list):
            return [fill(v, code) for v in value]
        return value

    def flush():
        for code in item_codes:
            out.extend(fill(e, code) for e in block)
        block.clear()

    for e in expectations:
        if e.get("meta", {}).get("for_each") == "survey_item":
            block.append(e)
            continue
        flush()
        out.append(e)
    flush()
    return out


# Optional packages Great Expectations imports when they are installed, for data sources nothing
# here uses: sqlalchemy (SQL databases; installed for Prefect) is 1.5 of the 3.7 s of its import,
# Google's client libraries (BigQuery, Cloud Storage) 0.1-0.2 s. GX guards each such import and
# leaves those sources unavailable; this project validates pandas frames only.
GX_LEFT_OUT = ("sqlalchemy", "google")


@functools.lru_cache(maxsize=1)
def gx_context():
    """The ephemeral (in-memory, offline) context, built once per process: a portfolio validating
    many coalitions pays its set-up once."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    from ..deferred import defer, left_out

    defer("altair", "scipy.stats")  # GX's charts and KL/KS tests, which no suite here uses
    with left_out(GX_LEFT_OUT):  # in any process: the command's, a worker, Great Expectations' own
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig

        from great_expectations.execution_engine import pandas_execution_engine

    # GX fingerprints every batch under 1 GB by hashing all of it (pandas.util.hash_pandas_object,
    # then md5) only to label the batch in its results, which nothing here reads: 4.3 of 21.5 s of
    # validation at 1000x. A threshold of 0 skips the label; the checks are the same.
    pandas_execution_engine.HASH_THRESHOLD = 0
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    source = context.data_sources.add_pandas("coalition")
    # One asset and batch definition, reused for every frame (adding assets makes GX write its
    # configuration each time).
    source.add_dataframe_asset("stacked").add_batch_definition_whole_dataframe("all rows")
    return context


def _batch(context, frame):
    asset = context.data_sources.get("coalition").get_asset("stacked")
    return asset.get_batch_definition("all rows").get_batch(batch_parameters={"dataframe": frame})


def run_suite(tab: str, frame, suite_doc: dict) -> tuple[list[tuple], list[dict]]:
    """Run one tab's suite; see run_suites."""
    return run_suites([(tab, frame, suite_doc)])[0]


_COLUMN_KEYS = ("column", "column_A", "column_B")


def run_suites(jobs: list[tuple[str, Any, dict]], check=None) -> list[tuple[list[tuple], list[dict]]]:
    """Run the suites of several frames (tabs, or the same tab of several coalitions) in one Great
    Expectations pass (``check``, default gx_process.validate_stacked, runs each stacked call; a
    validation made ahead passes its own, validate.ahead); for each job return (failures, checks):
    failures: one tuple per failing record and expectation (record position, expectation position,
    column, checked column, expectation type, reason, fix, ref, severity);
    checks: each declared expectation with the number of records failing it.

    Great Expectations costs about 27 ms per expectation whatever the rows (it builds a metric graph
    per expectation), so the declared expectations are not run one by one: those of one type and
    the same arguments but their column (every "is null" rule, every date range 1990-2100, every
    item on a 1-5 scale) are run as ONE expectation on a long frame that stacks their columns, one
    row per (record, declared expectation). Each is a row-wise rule, so a stacked row fails exactly
    when its record fails that declared expectation; the failing stacked rows map back to them."""
    import numpy as np
    import pandas as pd

    out: list[tuple[list, list]] = [([], []) for _ in jobs]
    declared: list[tuple[int, int, dict, str, str]] = []  # (job, order, expectation, checked, detail)
    groups: dict[tuple, list[int]] = {}
    for j, (tab, frame, suite_doc) in enumerate(jobs):
        if frame is None or frame.empty:
            continue
        for order, e in enumerate(suite_doc["expectations"]):
            kwargs = e["kwargs"]
            if not _columns_present(kwargs, frame):
                continue
            keys = tuple(k for k in _COLUMN_KEYS if k in kwargs)
            params = {k: v for k, v in kwargs.items() if k not in _COLUMN_KEYS}
            checked = kwargs.get("column") or kwargs.get("column_A")
            detail = (e.get("meta") or {}).get("detail_column") or checked
            if _taggable(e["type"], params):
                params = {"value_set": _TAGGED}  # every such set, merged (see _tagged)
            groups.setdefault((e["type"], keys, _frozen(params)), []).append(len(declared))
            declared.append((j, order, e, checked, detail))
    failed_at: dict[int, list[int]] = {}
    if check is None:
        from .gx_process import validate_stacked as check

    stacks = []  # per group: (type, kwargs with the stacked columns, columns, owner, record)
    for (kind, keys, _params), members in groups.items():
        first = declared[members[0]][2]
        tagged = _frozen({"value_set": _TAGGED}) == _params
        value_set: list = []
        sets: dict[tuple, int] = {}  # each distinct value set of the group's rules -> its tag
        parts: dict[str, list] = {f"v{i}": [] for i in range(len(keys))}
        owner, record = [], []
        for d in members:
            j, _order, e, _c, _d = declared[d]
            frame = jobs[j][1]
            tag = None
            if tagged:  # rules with the same set (every coalition's [True] of an id flag) share one tag
                tag = sets.get(_frozen(e["kwargs"]["value_set"]))
                if tag is None:
                    tag = sets[_frozen(e["kwargs"]["value_set"])] = len(sets)
                    value_set += [_tag(tag, v) for v in e["kwargs"]["value_set"]]
            for i, k in enumerate(keys):
                column = frame[e["kwargs"][k]]
                if tagged:
                    parts[f"v{i}"].append(_tagged(column, tag))
                else:
                    parts[f"v{i}"].append(_comparable(column) if kind.endswith("_between") else column.to_numpy())
            owner.append(np.full(len(frame), d, dtype=np.int64))
            record.append(np.arange(len(frame), dtype=np.int64))
        columns = {name: pd.Series(np.concatenate(arrays) if len(arrays) > 1 else arrays[0])
                   for name, arrays in parts.items()}
        kwargs = {**first["kwargs"], "value_set": value_set} if tagged else first["kwargs"]
        stacks.append((kind, kwargs, keys, columns, np.concatenate(owner), np.concatenate(record)))
    # Small stacks run in ONE call (GX's cost per call is about that of several expectations): each
    # its own columns of one frame, padded to the longest with values that pass (null; a non-null
    # placeholder for "not null"). Large ones run one call each (no padding).
    longest = max((len(st[4]) for st in stacks), default=0)
    together = [n for n, st in enumerate(stacks) if longest * len(stacks) <= _ONE_CALL_CELLS]
    batches = [together] if together else []
    batches += [[n] for n in range(len(stacks)) if n not in together]
    for batch in batches:
        length = max(len(stacks[n][4]) for n in batch)
        data, expectations = {}, []
        for n in batch:
            kind, kwargs, keys, columns, _owner, _record = stacks[n]
            for i, k in enumerate(keys):
                series = columns[f"v{i}"]
                pad = _passing(series) if kind == "expect_column_values_to_not_be_null" else None
                data[f"g{n}_v{i}"] = series.reindex(range(length), fill_value=pad) if pad is not None else \
                    series.reindex(range(length))
            named = {**kwargs, **{k: f"g{n}_v{i}" for i, k in enumerate(keys)}}
            expectations.append((kind, named, {"stack": n}))
        stacked = pd.DataFrame(data)
        stacked["stacked"] = np.arange(length, dtype=np.int64)
        # Great Expectations runs them, in its own process when one was started (gx_process)
        for n, raised, failing in check(stacked, expectations, f"stacks-{batch[0]}"):
            kind, _kwargs, _keys, _columns, owner_of, record_of = stacks[n]
            if raised:
                rules = sorted({f"{jobs[declared[d][0]][0]}.{declared[d][3]}" for d in set(owner_of.tolist())})
                files = sorted({f"expectations/{rule.split('.')[0]}.json" for rule in rules})
                raise ConfigError(
                    f"Great Expectations could not check the rule {kind} on {', '.join(rules)}: "
                    f"{str(raised.get('exception_message')).rstrip('.')}. Correct its arguments in {', '.join(files)} (a bound "
                    f"or value of the column's own type), then run again; no row was checked by it.")
            for i in failing:
                if i < len(owner_of):  # beyond: a row padding the stack, no record's (see above)
                    failed_at.setdefault(int(owner_of[i]), []).append(int(record_of[i]))
    for d, (j, order, e, checked, detail) in enumerate(declared):
        meta = e.get("meta") or {}
        column = meta.get("column") or checked
        records = failed_at.get(d, [])
        failures, checks = out[j]
        checks.append({"expectation": e["type"], "checked_column": meta.get("checked_column", checked),
                       "column": column,
                       "rule": meta.get("reason", e["type"]).replace("{value}", "…").replace("{detail}", "…"),
                       "failed": len(records), "success": not records, "order": order})
        for rec in records:
            failures.append((rec, order, column, detail, e["type"], meta.get("reason", e["type"]),
                             meta.get("fix", ""), meta.get("ref"), meta.get("severity", "fix")))
    for failures, checks in out:
        checks.sort(key=lambda c: c.pop("order"))
    return out


# Stacks whose padded frame (longest stack x number of stacks) is at most this many cells run in one call.
_ONE_CALL_CELLS = 4_000_000


_TAGGED = "$tagged"


def _taggable(kind: str, params: dict) -> bool:
    """An "in set" rule whose set holds only text and true/false values: the sets of several such
    rules (enumerations, id flags) are checked by one expectation, each value tagged with its rule's
    set (one tag for the rules of equal sets, so the merged set does not grow with the coalitions)."""
    return (kind == "expect_column_values_to_be_in_set" and set(params) == {"value_set"}
            and isinstance(params["value_set"], list) and all(type(v) in (str, bool) for v in params["value_set"]))


def _tag(tag: int, value) -> str:
    return f"{tag}\x1f{type(value).__name__}\x1f{value}"


def _tagged(column, tag: int):
    """The column's values tagged with its rule's set (nulls stay null): ``v in set`` exactly when
    ``_tag(tag, v) in {_tag(tag, x) for x in set}`` (text and true/false alike: 'True' is not True)."""
    import pandas as pd

    codes, uniques = pd.factorize(column.to_numpy(dtype=object), use_na_sentinel=True)
    return by_code([_tag(tag, u) for u in uniques], codes)


def _passing(series):
    """A non-null value of the series' type, to pad a "not null" stack with."""
    import pandas as pd

    if series.dtype.kind in "fiu":
        return 0
    if series.dtype.kind == "M":
        return pd.Timestamp("2000-01-01")
    if series.dtype.kind == "b":
        return False
    return ""


def _comparable(column):
    """The column's values as GX compares them fastest: datetimes in nanoseconds (GX checks a range
    value by value in Python for any other unit). A date outside the nanosecond range (before 1678
    or after 2261) is clipped to 1678-01-01 or 2262-01-01, which is on the same side of any bound a suite declares."""
    import numpy as np
    import pandas as pd

    if column.dtype.kind == "M" and str(column.dtype) != "datetime64[ns]":
        if isinstance(column.dtype, np.dtype):  # naive datetimes: numpy's clip, NaT stays NaT (20x pandas' clip)
            values = column.to_numpy()
            unit = np.datetime_data(values.dtype)[0]
            lo, hi = np.datetime64("1678-01-01", unit), np.datetime64("2262-01-01", unit)
            return np.minimum(np.maximum(values, lo), hi).astype("datetime64[ns]")
        lo, hi = pd.Timestamp("1678-01-01").as_unit(column.dt.unit), pd.Timestamp("2262-01-01").as_unit(column.dt.unit)
        column = column.clip(lower=lo, upper=hi).astype("datetime64[ns]")
    return column.to_numpy()


def _frozen(value):
    """A hashable, type-exact form of an expectation's arguments (1 and 1.0 and True stay apart)."""
    if isinstance(value, dict):
        return tuple(sorted((k, _frozen(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return ("list", tuple(_frozen(v) for v in value))
    return (type(value).__name__, value)


def _columns_present(kwargs: dict, frame) -> bool:
    cols = [kwargs[k] for k in _COLUMN_KEYS if k in kwargs]
    return all(c in frame.columns for c in cols)
