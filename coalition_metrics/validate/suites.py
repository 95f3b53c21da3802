"""The Great Expectations side: load a suite file with its references filled in, and run it on a
frame in an ephemeral (in-memory, offline) context."""

from __future__ import annotations

import json
import os
from datetime import date, datetime, time

from ..config import PROJECT_ROOT
from ..contract import ENUMS
from .results import TabResult

EXPECTATIONS_DIR = PROJECT_ROOT / "expectations"


def load_suite(tab: str, results: dict[str, TabResult], settings, today: date | None = None) -> dict:
    """The suite file for a tab with its ``$ref`` and ``$date`` values filled in, and ``{today}``
    in a reason written as the day checked against (the day the source was read)."""
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
            meta["reason"] = meta["reason"].replace("{today}", today.isoformat())
        return meta

    doc["expectations"] = [
        {**e, "kwargs": resolve(e["kwargs"]), "meta": meta_of(e)}
        for e in doc["expectations"]
        if e.get("meta", {}).get("when") != "respondent" or "respondent" in results[tab].column_map
    ]
    return doc


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


def gx_context():
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    context.data_sources.add_pandas("coalition")
    return context


def run_suite(context, tab: str, frame, suite_doc: dict) -> list[tuple]:
    """Run the suite; return one tuple per failing record and expectation:
    (record position, expectation position, column, checked column, expectation type, reason, fix)."""
    from great_expectations.core.expectation_suite import ExpectationSuite
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    if frame.empty:
        return [], []
    frame["record"] = range(len(frame))
    expectations = []
    for order, e in enumerate(suite_doc["expectations"]):
        if _columns_present(e["kwargs"], frame):
            meta = {**e.get("meta", {}), "order": order}
            expectations.append(ExpectationConfiguration(type=e["type"], kwargs=e["kwargs"], meta=meta).to_domain_obj())
    suite = ExpectationSuite(name=suite_doc["name"], expectations=expectations)
    source = context.data_sources.get("coalition")
    asset = source.add_dataframe_asset(f"{tab}-{len(source.assets)}")
    batch = asset.add_batch_definition_whole_dataframe("all rows").get_batch(batch_parameters={"dataframe": frame})
    answer = batch.validate(
        suite, result_format={"result_format": "COMPLETE", "unexpected_index_column_names": ["record"]}
    )
    failures, checks = [], []
    for r in sorted(answer.results, key=lambda r: r.expectation_config.meta["order"]):
        cfg = r.expectation_config
        if r.exception_info and r.exception_info.get("raised_exception"):
            raise RuntimeError(f"expectation {cfg.type} on {tab} failed to run: {r.exception_info}")
        meta = cfg.meta or {}
        checked = cfg.kwargs.get("column") or cfg.kwargs.get("column_A")
        column = meta.get("column") or checked
        unexpected = r.result.get("unexpected_index_list") or []
        checks.append({"expectation": cfg.type, "checked_column": checked, "column": column,
                       "rule": meta.get("reason", cfg.type).replace("{value}", "…").replace("{detail}", "…"),
                       "failed": len(unexpected), "success": bool(r.success)})
        for item in unexpected:
            failures.append((int(item["record"]), meta["order"], column, checked, cfg.type,
                             meta.get("reason", cfg.type), meta.get("fix", ""), meta.get("ref"),
                             meta.get("severity", "fix")))
    del frame["record"]
    return failures, checks


def _columns_present(kwargs: dict, frame) -> bool:
    cols = [kwargs[k] for k in ("column", "column_A", "column_B") if k in kwargs]
    return all(c in frame.columns for c in cols)
