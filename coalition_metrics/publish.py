"""Publishing a run: render the report and funder files, write the manifest, and move the run
folder into place atomically (a published run folder is never overwritten)."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from . import __version__
from .config import PROJECT_ROOT, Settings
from .errors import CoalitionError, storage_error
from .plan import RunPlan, RunResult
from .coalition_db import coalition_view
from .runlock import open_db, run_lock
from .runs import keep_published_metrics
from .snapshot import Snapshot
from .validate import ValidationResult
from .jsontext import dumps_indented


def render_and_publish(snap: Snapshot, validation: ValidationResult, plan: RunPlan,
                       rendered: Rendered | None = None) -> RunResult:
    """Render the report (HTML, PDF), the funder page (HTML, PDF) and the funder files into a new run
    folder; never overwrite a published one. ``[output] pdf = false`` leaves the PDFs out.
    ``rendered``: the files render_ahead made from this build while Great Expectations answered."""
    s = plan.settings
    with run_lock(plan), open_db(plan) as db:
        if rendered is None:
            with coalition_view(db, s.coalition_id) as con:
                figures = read_figures(con, snap, validation, plan)
        keep_published_metrics(db, plan.run_id, s.coalition_id)
    if rendered is None:
        rendered = render_run_folder(snap, validation, plan, *figures)
    return publish_rendered(snap, validation, plan, rendered, "report.html")


def render_ahead(con, snap: Snapshot, validation: ValidationResult, plan: RunPlan) -> Rendered:
    """A quarterly run's files, rendered on the build's connection ``con`` before the build is
    confirmed (pipeline.build_database, while Great Expectations answers a validation made ahead);
    render_and_publish publishes them once it is. Only the manifest, which says when the run
    finished, is written then."""
    with coalition_view(con, plan.settings.coalition_id) as view:
        figures = read_figures(view, snap, validation, plan)
    return render_run_folder(snap, validation, plan, *figures)


@dataclass(frozen=True)
class Rendered:
    """A run folder's files but its manifest, and the funder records the manifest lists."""
    records: list[dict]
    files: dict[str, str | bytes]


def read_figures(con, snap: Snapshot, validation: ValidationResult, plan: RunPlan, read: dict | None = None
                 ) -> tuple[list[dict], dict]:
    """The funder records and the report's context, read on one coalition's view of a built
    database (coalition_db.coalition_view): a single run's own database or a portfolio's.
    ``read``: this coalition's share of report_reads.read_many (its published figures, chart rows and
    report tables, read with other coalitions'), else they are read now."""
    from . import funder, render

    s = plan.settings
    # every figure, each saying whether funders see it: one query for both
    rows = render.published_rows(con) if read is None else read["rows"]
    records = funder.funder_records(con, s, rows)
    context = render.report_context(
        con, settings=s, coalition=s.coalition_name, quarter=plan.quarter.label, as_of=plan.as_of.isoformat(),
        run_id=plan.run_id, snapshot_id=snap.snapshot_id, validation_counts=validation.counts(),
        completeness=render.completeness(validation), source=source_description(s), rows=rows,
        chart_data=None if read is None else read["charts"], tables=None if read is None else read["tables"],
    )
    return records, context


def write_run_folder(snap: Snapshot, validation: ValidationResult, plan: RunPlan, records: list[dict],
                     context: dict) -> RunResult:
    """Render the report, the funder page, the funder files, the data-quality page, the manifest and
    config.json from what read_figures read, and publish them as the run's new folder."""
    return publish_rendered(snap, validation, plan, render_run_folder(snap, validation, plan, records, context),
                            "report.html")


def render_run_folder(snap: Snapshot, validation: ValidationResult, plan: RunPlan, records: list[dict],
                      context: dict) -> Rendered:
    """A quarterly run folder's files but the manifest, from what read_figures read."""
    from . import render
    from .quality import quality_context, quarantine_csv, render_quality_page

    s = plan.settings
    quarantined = [q.as_dict() for q in validation.quarantined]
    funder_html = funder_page_html(records, validation, plan)
    html = render.render_report(context)
    quality = render_quality_page(quality_context(
        validation, coalition=s.coalition_name, quarter=plan.quarter.label, run_id=plan.run_id,
        snapshot_id=snap.snapshot_id, source=source_description(s),
        validated_on=validation.validated_on.isoformat() if validation.validated_on else ""))
    return Rendered(records, {
        "report.html": html,
        "funder.html": funder_html,
        **render_pdfs({"report.pdf": html, "funder.pdf": funder_html}, s),
        **funder_files(records, validation, plan),
        "validation/index.html": quality,
        "validation/quarantine.csv": quarantine_csv(validation),
        "validation/quarantine.json": dumps_indented(quarantined) + "\n",
    })


def publish_rendered(snap: Snapshot, validation: ValidationResult, plan: RunPlan, rendered: Rendered,
                     main_file: str) -> RunResult:
    """Publish ``rendered`` with the run's manifest (finished now) and config.json as the run's new
    folder; the result points at its ``main_file``."""
    manifest = run_manifest(snap, validation, plan, rendered.records)
    files = {**rendered.files, "manifest.json": dumps_indented(manifest) + "\n",
             CONFIG_FILE: config_json(plan.settings)}
    folder = publish_folder(plan, files)
    return RunResult(plan.run_id, plan.quarter.label, folder, folder / main_file, manifest)


CONFIG_FILE = "config.json"


def config_json(settings: Settings) -> str:
    """config.json: the run's resolved settings (Settings.public_dict, whose hash is the manifest's
    config_hash), so that `coalition verify` can recompute the run from its folder alone. Nothing
    secret: the credentials file's path is replaced by true/false (as in the hash), and no
    credential's content is ever read into the settings. Keys keep the settings' order: the order of
    [survey_items] and [survey_scales] is the instrument's, which orders the published figures (a
    sorted file replayed an instrument alphabetically, so `verify` found the funder files reordered)."""
    return dumps_indented(settings.public_dict()) + "\n"


def funder_files(records: list[dict], validation: ValidationResult, plan: RunPlan) -> dict[str, str]:
    """funder_metrics.json and funder_metrics.csv (the same for a quarterly run and a refresh, and
    regenerated by `coalition verify` to compare their bytes)."""
    from . import funder

    s = plan.settings
    return {
        "funder_metrics.json": funder.funder_json(records, s.coalition_name, plan.quarter.label,
                                                 funder.completeness(validation)),
        "funder_metrics.csv": funder.funder_csv(records),
    }


def funder_page_html(records: list[dict], validation: ValidationResult, plan: RunPlan) -> str:
    """funder.html (funder.pdf is printed from it: one page), from the funder files' records only."""
    from .funder_page import funder_page_context, render_funder_page
    from .render import completeness

    s = plan.settings
    return render_funder_page(funder_page_context(
        records, coalition=s.coalition_name, quarter=plan.quarter.label, as_of=plan.as_of.isoformat(),
        run_id=plan.run_id, completeness=completeness(validation), small_n=s.small_n))


def render_pdfs(pages: dict[str, str], settings: Settings) -> dict[str, bytes]:
    """{file name: html} -> {file name: PDF bytes} (WeasyPrint, imported only here); nothing when
    ``[output] pdf`` is false."""
    if not settings.print_pdfs:
        return {}
    from .pdf import html_to_pdfs

    return html_to_pdfs(pages)


def run_identity(snap: Snapshot, plan: RunPlan, **scope: Any) -> dict[str, Any]:
    """The head of every manifest a run publishes (a quarter's run folder, an audit pack): which run,
    what it covers (``scope``: quarter=..., or waves=...), when, and its inputs (code version, config
    hash, source, snapshot with its per-tab hashes)."""
    s = plan.settings
    return {
        "run_id": plan.run_id,
        "flow": plan.flow,
        **scope,
        "as_of": plan.as_of.isoformat(),
        "started_at": plan.started_at.isoformat(timespec="seconds"),
        "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "code_version": code_version(),
        "config_hash": s.config_hash(),
        "source": source_description(s),
        "snapshot": {"id": snap.snapshot_id, "read_on": snap.read_on.isoformat() if snap.read_on else None,
                     "tabs": snap.tab_hashes},
    }


def run_manifest(snap: Snapshot, validation: ValidationResult, plan: RunPlan, records: list[dict]) -> dict[str, Any]:
    """manifest.json: the run's identity, inputs (snapshot hashes, config hash, code version), row
    counts and the quarter's metric values."""
    return {
        **run_identity(snap, plan, quarter=plan.quarter.label),
        "row_counts": validation.counts(),
        "quarantined_counts": {t: c["rows_quarantined"] for t, c in validation.counts().items()},
        "metrics": [r for r in records if r["quarter"] == plan.quarter.label],
    }


def publish_folder(plan: RunPlan, files: dict[str, str | bytes]) -> Path:
    """Write files (text as UTF-8, or bytes such as a PDF) to ``<publish_dir>/<run_id>/`` atomically
    and mark it as the latest run there."""
    quarter_dir = plan.publish_dir
    target = quarter_dir / plan.run_id
    try:
        quarter_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise storage_error(exc, f"Creating the folder {quarter_dir} for run {plan.run_id}") from None
    if target.exists():
        raise CoalitionError(f"Run folder {target} already exists; a published run is never overwritten.")
    tmp = None
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".partial-{plan.run_id}-", dir=quarter_dir))
        for rel, text in files.items():
            path = tmp / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(text, bytes):
                path.write_bytes(text)
            else:
                path.write_text(text, encoding="utf-8")
        os.rename(tmp, target)  # fails if target appeared meanwhile: nothing is overwritten
    except BaseException as exc:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(exc, OSError):
            raise storage_error(exc, f"Writing the run folder {target} (nothing of it was published)") from None
        raise
    latest_tmp = quarter_dir / f".LATEST.{plan.run_id}"
    try:
        latest_tmp.write_text(plan.run_id + "\n")
        os.replace(latest_tmp, quarter_dir / "LATEST")
    except OSError as exc:
        latest_tmp.unlink(missing_ok=True)
        raise storage_error(exc, f"Marking run {plan.run_id} as the latest in {quarter_dir / 'LATEST'} (its "
                                 f"folder {target} is complete)") from None
    return target


def source_description(settings: Settings) -> str:
    loc = settings.source_location
    try:
        return str(Path(loc).relative_to(PROJECT_ROOT))
    except ValueError:
        return loc


@functools.lru_cache(maxsize=1)
def code_version() -> str:
    """The package version, plus the git commit when run from a checkout. Asked once per process:
    the code a process runs is the code it imported (a checkout updated meanwhile runs only in the
    next process), and a portfolio asks for every coalition (git costs about 4 ms each time)."""
    try:
        sha = subprocess.run(["git", "-C", str(PROJECT_ROOT), "rev-parse", "--short=12", "HEAD"],
                             capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        sha = ""
    return f"{__version__}+g{sha}" if sha else __version__


def publish_funder(snap: Snapshot, validation: ValidationResult, plan: RunPlan,
                   rendered: Rendered | None = None) -> RunResult:
    """A refresh publishes the funder files, the funder page (HTML, and PDF unless ``[output] pdf`` is
    false), the quarantine list and a manifest (no report). ``rendered``: the files
    render_funder_ahead made from this build while Great Expectations answered."""
    s = plan.settings
    with run_lock(plan), open_db(plan) as db:
        if rendered is None:
            records = _funder_records(db, plan)
        keep_published_metrics(db, plan.run_id, s.coalition_id)
    if rendered is None:
        rendered = render_funder_files(records, validation, plan)
    return publish_rendered(snap, validation, plan, rendered, "funder_metrics.csv")


def render_funder_ahead(con, snap: Snapshot, validation: ValidationResult, plan: RunPlan) -> Rendered:
    """render_ahead for a refresh: its files from the build's connection, before it is confirmed."""
    return render_funder_files(_funder_records(con, plan), validation, plan)


def _funder_records(db, plan: RunPlan) -> list[dict]:
    from . import funder

    with coalition_view(db, plan.settings.coalition_id) as con:
        return funder.funder_records(con, plan.settings)


def render_funder_files(records: list[dict], validation: ValidationResult, plan: RunPlan) -> Rendered:
    """A refresh folder's files but the manifest."""
    funder_html = funder_page_html(records, validation, plan)
    return Rendered(records, {
        "funder.html": funder_html,
        **render_pdfs({"funder.pdf": funder_html}, plan.settings),
        **funder_files(records, validation, plan),
        "validation/quarantine.json": dumps_indented([q.as_dict() for q in validation.quarantined]) + "\n",
    })
