"""The audit pack as a run: plan it (waves --from .. --to), build the database with the pipeline's
own stages (extract -> snapshot -> validate -> load -> transform, or a replay of an earlier run's
snapshot), then publish the pack folder ``<out>/audit/<from>_<to>/<run_id>/``: audit.html,
audit.xlsx, charts/*.svg and manifest.json. The run is recorded in the runs table (flow
``audit-satisfaction``) like any other; it publishes no funder figure.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

from ..config import Settings
from ..errors import CoalitionError
from ..plan import RunPlan, RunResult, plan_run, with_source
from ..quarters import Quarter
from ..snapshot import Snapshot
from ..validate import ValidationResult
from .tables import INT, NUM, P, SHARE, STAT, AuditData

AUDIT_FLOW = "audit-satisfaction"


@dataclass
class AuditPlan(RunPlan):
    """A run plan whose quarter is the last wave (--to); wave_from is the first (None: the first
    quarter with data)."""
    wave_from: Quarter | None = None

    @property
    def publish_dir(self) -> Path:
        first = self.wave_from.label if self.wave_from else "start"
        return self.out_dir / "audit" / f"{first}_{self.quarter.label}"


def plan_audit(settings: Settings, wave_from: str | None = None, wave_to: str | None = None,
               today: date | None = None, out: str | Path | None = None) -> AuditPlan:
    """--to (default: the last completed quarter) is the run's quarter; --from must not be after it."""
    for flag, label in (("--to", wave_to), ("--from", wave_from)):
        if label:
            try:
                Quarter.parse(label, settings.fiscal_year_start_month)
            except ValueError as exc:
                raise CoalitionError(f"{flag} {exc}") from None
    base = plan_run(settings, wave_to, today, out, flow=AUDIT_FLOW)
    first = None
    if wave_from:
        first = Quarter.parse(wave_from, settings.fiscal_year_start_month)
        if base.quarter < first:
            raise CoalitionError(f"--from {first} is after --to {base.quarter}: give the first wave, then the last.")
    fields = {k: getattr(base, k) for k in ("settings", "run_id", "quarter", "as_of", "out_dir", "flow", "started_at")}
    return AuditPlan(**fields, wave_from=first)


def audit_settings(settings: Settings, from_snapshot: str | None, out: str | Path | None = None
                   ) -> tuple[Settings, str | None]:
    """The settings to audit with and the default last wave. --from-snapshot naming a published run
    audits it with the config it was published with (its config.json; coalition_metrics.replay) up
    to its quarter, so the pack describes the figures that run published; a snapshot id (no run), or
    a run published before runs kept their config, is audited with today's config. The pack goes to
    the output folder the run was found in, not the saved config's."""
    if not from_snapshot:
        return settings, None
    from ..replay import find_run, run_settings

    try:
        run = find_run(from_snapshot, Path(out) if out else settings.output_folder, "audit satisfaction")
    except CoalitionError:  # not a published run's id: a snapshot id, or a bad value snapshot_for names
        return settings, None
    saved, _how = run_settings(run, settings)
    return saved, run.quarter


def run_audit(settings: Settings, wave_from: str | None = None, wave_to: str | None = None,
              source: str | None = None, out: str | Path | None = None, from_snapshot: str | None = None,
              today: date | None = None) -> RunResult:
    """`coalition audit satisfaction --no-prefect`: the pipeline's stages, then the pack."""
    from ..pipeline import run_stages

    current = with_source(settings, source)
    settings, run_quarter = audit_settings(current, from_snapshot, out)
    plan = plan_audit(settings, wave_from, wave_to or run_quarter, today, out or current.output_folder)
    return run_stages(plan, publish_audit, from_snapshot)


# ---------------------------------------------------------------------------------------------
def publish_audit(snap: Snapshot, validation: ValidationResult, plan: AuditPlan) -> RunResult:
    """Build the pack's tables and charts from the database the run just built, and publish it."""
    from ..publish import publish_folder, run_identity
    from ..coalition_db import coalition_view
    from ..runlock import open_db, run_lock
    from . import tables

    s = plan.settings
    with run_lock(plan), open_db(plan) as db, coalition_view(db, s.coalition_id) as con:
        first_label = con.execute("select quarter from ref.quarters order by seq").fetchall()[0][0]
        first = Quarter.parse(first_label, s.fiscal_year_start_month)
        wave_from = plan.wave_from if plan.wave_from and plan.wave_from > first else first
        note = (f"--from {plan.wave_from} is before the coalition's data starts; the pack starts at {first}."
                if plan.wave_from and plan.wave_from < first else "")
        audit = tables.build(con, s, wave_from.label, plan.quarter.label)
        reverse = {i for (i,) in con.execute("select item from ref.survey_items where reverse").fetchall()}
        labels: dict[str, dict[int, str]] = {}
        # a reverse-scored item's points are scores, not the answers the labels name: numbers only
        for item, value, label in con.execute(
                """select item, value, label from ref.survey_item_labels
                   where item not in (select item from ref.survey_items where reverse)""").fetchall():
            labels.setdefault(item, {})[int(value)] = label
    plan = replace(plan, wave_from=wave_from)
    charts = pack_charts(audit, labels, reverse)
    manifest = {
        **run_identity(snap, plan, waves={"from": wave_from.label, "to": plan.quarter.label}),
        "small_n": audit.small_n,
        "tables": {t.name: len(t.rows) for t in audit.tables},
        "charts": [f"charts/{c['id']}.svg" for c in charts],
    }
    html = render_pack(audit, charts, manifest, coalition=s.coalition_name, note=note)
    from .workbook import workbook_bytes

    files: dict[str, str | bytes] = {
        "audit.html": html,
        "audit.xlsx": workbook_bytes(audit.tables, manifest),
        "manifest.json": json.dumps(manifest, indent=2, ensure_ascii=False) + "\n",
    }
    for c in charts:
        files[f"charts/{c['id']}.svg"] = c["svg"]  # an <svg> element with its namespace: a file of its own
    folder = publish_folder(plan, files)
    return RunResult(plan.run_id, f"{wave_from.label}..{plan.quarter.label}", folder, folder / "audit.html", manifest)


def pack_charts(audit: AuditData, labels: dict[str, dict[int, str]], reverse: set[str]) -> list[dict[str, Any]]:
    """For each item and scale: its distribution by wave, then its mean by wave."""
    from .charts import distribution_chart, mean_chart

    out = []
    for kind, measure in dict.fromkeys((m["kind"], m["measure"]) for m in audit.measures):
        name = audit.measure_names[(kind, measure)]
        points = [r["point"] for r in audit.distribution if r["kind"] == kind and r["measure"] == measure]
        out.append(distribution_chart(audit.distribution, kind, measure, name, audit.small_n,
                                      labels.get(measure) if kind == "item" else None,
                                      reverse=kind == "item" and measure in reverse))
        out.append(mean_chart(audit.measures, kind, measure, name, audit.small_n, (min(points), max(points))))
    return out


# ---- audit.html ----------------------------------------------------------------------------------
def shown(value: Any, kind: str) -> str:
    """A table cell as the HTML shows it (the workbook keeps the full number)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if not isinstance(value, (int, float)):
        return str(value)
    if kind == INT:
        return str(int(value))
    if kind == SHARE:
        return f"{value:.1%}"
    if kind == P:
        return "<0.0001" if value < 0.0001 else f"{value:.4f}"
    if kind in (NUM, STAT):
        return f"{value:.3f}"
    return str(value)


def render_pack(audit: AuditData, charts: list[dict], manifest: dict, *, coalition: str, note: str = "") -> str:
    from ..render import template_env

    sections = []
    for t in audit.tables:
        sections.append({
            "name": t.name, "title": t.title, "about": t.about,
            "headers": [(c.header, c.kind != "text") for c in t.columns],
            "rows": [[(shown(r.get(c.key), c.kind), c.kind != "text") for c in t.columns] for r in t.rows],
        })
    measures = []
    for kind, measure in dict.fromkeys((m["kind"], m["measure"]) for m in audit.measures):
        measures.append({"name": audit.measure_names[(kind, measure)],
                         "charts": [c for c in charts if c["id"].endswith(f"-{kind}-{measure or 'all'}")]})
    return template_env().get_template("audit.html.j2").render(
        coalition=coalition, manifest=manifest, sections=sections, measures=measures, small_n=audit.small_n,
        note=note)
