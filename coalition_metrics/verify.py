"""`coalition verify RUN_ID`: recompute a published run from its snapshot with its own saved config
(replay.py) and compare, figure by figure, with what it published.

Before recomputing, the run's inputs are checked against its manifest: each snapshot file's hash
(and the snapshot index), the saved config.json's hash (the manifest's config_hash) and the code
version. A changed input is named as the likely cause, and the recomputation still runs on what is
there, so the figures it changes are named too. Then every published figure (run_metrics in the
output folder's database: every id, every quarter, coordinator figures included; or, for a run
that table does not hold, the funder file's figures) is compared by its canonical text (value as
the shortest text that reads back as the same double, n, suppressed), and funder_metrics.csv/.json
are regenerated and compared byte for byte.

Exit status (Verification.exit_code): 0 everything matches; 1 a figure, a funder file, a snapshot
file or config.json differs from what the run published; errors (an unknown or unpublished run, a
damaged database, a missing snapshot) are CoalitionErrors, status 2. A code version other than the
run's, and a current config other than the run's, are notes: they do not change the status (the
figures decide, and verify always uses the run's own config).
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .config import Settings
from .errors import CoalitionError, ConfigError, SnapshotError
from .publish import CONFIG_FILE, code_version, funder_files
from .replay import RunInfo, build_replay, find_run, run_settings, saved_config, saved_config_hash, settings_from_saved
from .runs import read_only_db

FUNDER_FILES = ("funder_metrics.csv", "funder_metrics.json")
SHOWN_PER_METRIC = 10  # differing figures listed per metric in the text output (JSON lists all)


@dataclass(frozen=True)
class Figure:
    """A published figure in canonical text: value ('null', or the shortest text that reads back as
    the same number), n ('null' or digits), suppressed ('true'/'false')."""
    published_id: str
    metric_id: str
    quarter: str
    value: str
    n: str
    suppressed: str

    def fields(self) -> dict[str, str]:
        return {"value": self.value, "n": self.n, "suppressed": self.suppressed}


@dataclass
class Difference:
    published_id: str
    quarter: str
    published: Figure | None
    recomputed: Figure | None

    def describe(self) -> str:
        if self.published is None:
            return f"{self.published_id} {self.quarter}: not published, recomputed {_shown(self.recomputed)}"
        if self.recomputed is None:
            return f"{self.published_id} {self.quarter}: published {_shown(self.published)}, not recomputed"
        a, b = self.published.fields(), self.recomputed.fields()
        parts = [f"{k} published {a[k]}, recomputed {b[k]}" for k in a if a[k] != b[k]]
        return f"{self.published_id} {self.quarter}: {'; '.join(parts)}"

    def as_dict(self) -> dict[str, Any]:
        return {"published_id": self.published_id, "quarter": self.quarter,
                "published": self.published.fields() if self.published else None,
                "recomputed": self.recomputed.fields() if self.recomputed else None}


def _shown(f: Figure) -> str:
    return f"value {f.value}, n {f.n}, suppressed {f.suppressed}"


@dataclass
class Group:
    metric_id: str
    matching: int = 0
    differing: list[Difference] = field(default_factory=list)


@dataclass
class Verification:
    run: RunInfo
    config_source: str = "saved"
    inputs: list[str] = field(default_factory=list)  # what was checked, one line each
    causes: list[str] = field(default_factory=list)  # inputs that differ from the manifest
    notes: list[str] = field(default_factory=list)
    compared_with: str = ""
    funder_only: bool = False  # the database holds no figures of the run: its funder file's are compared
    groups: list[Group] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)  # file -> "identical" or what differs
    stopped: str = ""  # the recomputation's own error, when a changed input made it stop
    seconds: float = 0.0

    @property
    def figures_differing(self) -> int:
        return sum(len(g.differing) for g in self.groups)

    @property
    def files_differing(self) -> list[str]:
        return [name for name, what in self.files.items() if what != "identical"]

    @property
    def exit_code(self) -> int:
        return 1 if (self.figures_differing or self.files_differing or self.causes or self.stopped) else 0


# ---------------------------------------------------------------------------------------------
def verify_run(run_id: str, out_dir: str | Path, current: Settings, *, work_dir: Path | None = None) -> Verification:
    """Check the run's inputs, recompute it privately and compare every published figure."""
    started = time.monotonic()
    run = find_run(run_id, out_dir, "coalition verify")
    v = Verification(run)
    published, v.compared_with, v.funder_only = published_figures(run)
    snap = check_snapshot(run, v)
    settings = check_config(run, v, current)
    check_code(run, v)
    if settings is None and not v.stopped:
        v.stopped = f"the recomputation could not start: the run's {CONFIG_FILE} cannot be used as its config"
    if v.stopped:
        v.seconds = time.monotonic() - started
        return v
    try:
        replay = build_replay(run, settings, v.config_source, snap, work_dir)
    except CoalitionError as exc:
        if not v.causes:
            raise
        v.stopped = f"the recomputation stopped: {' '.join(str(exc).split())}"
        v.seconds = time.monotonic() - started
        return v
    with replay:
        recomputed = recomputed_figures(replay.con, replay.settings, v.funder_only)
        compare_figures(published, recomputed, v)
        compare_funder_files(replay, v)
    v.seconds = time.monotonic() - started
    return v


def check_snapshot(run: RunInfo, v: Verification):
    """Each snapshot file against the manifest's hash (and the snapshot index): a changed one is a
    cause; the snapshot is then read as it is now, for the recomputation."""
    from .snapshot import load_snapshot

    folder = run.out_dir / "snapshots" / run.snapshot_id
    expected = (run.manifest.get("snapshot") or {}).get("tabs") or {}
    if not folder.is_dir():
        raise SnapshotError(f"Run {run.run_id}'s snapshot {folder} is missing, so the run cannot be recomputed. "
                            f"Restore the snapshots folder from a backup (snapshots are never deleted by coalition).")
    index_path = folder / "snapshot.json"
    try:
        index = index_path.read_bytes()
        index_tabs = json.loads(index).get("tabs", {})
    except (OSError, ValueError, AttributeError) as exc:
        raise SnapshotError(f"Run {run.run_id}'s snapshot index {index_path} cannot be read ({exc}); the run "
                            f"cannot be recomputed. Restore the snapshots folder from a backup.") from None
    if hashlib.sha256(index).hexdigest() != run.snapshot_id:
        v.causes.append(f"snapshot index {index_path.name} changed: its hash is no longer the snapshot id "
                        f"{run.snapshot_id[:12]}… the manifest names")
    changed = 0
    for tab, want in sorted(expected.items()):
        path = folder / f"{tab}.json"
        try:
            have = hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError as exc:
            raise SnapshotError(f"Snapshot file {path} (the {tab} tab) cannot be read ({exc.strerror or exc}), so "
                                f"run {run.run_id} cannot be recomputed. Restore the snapshots folder from a "
                                f"backup.") from None
        if have != want:
            changed += 1
            v.causes.append(f"snapshot file {tab}.json (the {tab} tab) changed (hash in manifest {want[:12]}…, "
                            f"now {have[:12]}…)")
        elif index_tabs.get(tab) != want:
            v.causes.append(f"snapshot index {index_path.name} records another hash for {tab}.json than the "
                            f"manifest")
    if set(index_tabs) != set(expected):
        v.causes.append(f"snapshot index {index_path.name} lists tabs {sorted(index_tabs)}, the manifest "
                        f"{sorted(expected)}")
    v.inputs.append(f"snapshot {run.snapshot_id[:12]}: " + (
        f"{len(expected)} files match the manifest's hashes" if not changed else
        f"{changed} of {len(expected)} files differ from the manifest's hashes"))
    try:
        return load_snapshot(run.snapshot_id, run.out_dir / "snapshots", check_hashes=False)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:  # an altered file that is no snapshot now
        if not v.causes:
            raise
        v.stopped = f"the recomputation could not start: the snapshot's files no longer read as a snapshot ({exc})"
        return None


def check_config(run: RunInfo, v: Verification, current: Settings) -> Settings | None:
    """The run's config.json against the manifest's config_hash (a difference is a cause); the
    current config against the run's (a note). Returns the settings the recomputation uses, or None
    when config.json cannot be used as a config at all (a cause too)."""
    want = run.manifest.get("config_hash", "")
    path = run.output_folder / CONFIG_FILE
    try:
        doc = saved_config(run)
    except ConfigError as exc:
        v.inputs.append(f"config: {CONFIG_FILE} cannot be read")
        v.causes.append(f"config changed: the run's {CONFIG_FILE} cannot be read ({str(exc).rstrip('.')})")
        return None
    if doc is None:
        settings, v.config_source = run_settings(run, current)
        v.inputs.append(f"config: the run has no {CONFIG_FILE} (published before runs saved their config); "
                        f"recomputed with the current config")
        v.notes.append(f"run {run.run_id} was published before runs saved their config, so it was recomputed with "
                       f"the current config (--config), " + (
                           "whose hash equals the manifest's config_hash" if current.config_hash() == want else
                           f"whose hash {current.config_hash()[:12]}… is not the manifest's {want[:12]}…: figures "
                           f"that differ may differ for that reason"))
        return settings
    try:
        have = saved_config_hash(doc)
    except (KeyError, TypeError, AttributeError):  # not even shaped like the settings
        have = "(not a config)"
    if have != want:
        v.causes.append(f"config changed: the run's {CONFIG_FILE} hash {have[:12]}… differs from the manifest's "
                        f"config_hash {want[:12]}…")
        v.inputs.append(f"config: {CONFIG_FILE} differs from the manifest's config_hash")
    else:
        v.inputs.append(f"config: {CONFIG_FILE} matches the manifest's config_hash {want[:12]}…")
    try:
        settings = settings_from_saved(doc, str(path))
    except ConfigError as exc:
        v.causes.append(f"the run's {CONFIG_FILE} is not a valid config: {exc}")
        return None
    v.config_source = "saved"
    if settings.config_hash() != have:
        v.notes.append(f"this code reads the run's {CONFIG_FILE} with settings it did not have (defaults since "
                       f"added): {', '.join(_differing_keys(doc, settings.public_dict())) or 'none named'}")
    if current.config_hash() != have:
        keys = _differing_keys(doc, current.public_dict())
        v.notes.append(f"the current config (the one coalition reads now, --config) differs from the run's in "
                       f"{', '.join(keys)}; verify used the run's own {CONFIG_FILE}")
    return settings


def _differing_keys(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    keys = []
    for section in sorted(set(a) | set(b)):
        sa, sb = a.get(section), b.get(section)
        if isinstance(sa, dict) and isinstance(sb, dict):
            keys += [f"[{section}] {k}" for k in sorted(set(sa) | set(sb)) if sa.get(k) != sb.get(k)]
        elif sa != sb:
            keys.append(f"[{section}]")
    return keys


def check_code(run: RunInfo, v: Verification) -> None:
    made_by, this = run.manifest.get("code_version", "unknown"), code_version()
    if made_by == this:
        v.inputs.append(f"code: {this}, as the run's")
    else:
        v.inputs.append(f"code: {this}; the run was made by {made_by}")
        v.notes.append(f"code version differs: run made by {made_by}, this is {this}")


# ---------------------------------------------------------------------------------------------
def published_figures(run: RunInfo) -> tuple[dict[tuple[str, str], Figure], str, bool]:
    """What the run published: its run_metrics rows (every figure), else its funder file's figures."""
    with read_only_db(run.out_dir) as con:
        rows = []
        if con is not None and con.execute(
                "select count(*) from information_schema.tables where table_name = 'run_metrics' "
                "and table_schema = 'main'").fetchone()[0]:
            rows = con.execute("""select published_id, metric_id, quarter, value, n, suppressed from run_metrics
                                  where run_id = ?""", [run.run_id]).fetchall()
    if rows:
        return {(r[0], r[2]): _figure(*r) for r in rows}, f"run_metrics ({len(rows)} figures)", False
    path = run.output_folder / "funder_metrics.json"
    try:
        records = json.loads(path.read_text(encoding="utf-8"))["metrics"]
        figures = {(r["metric_id"], r["quarter"]): _funder_figure(r) for r in records}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CoalitionError(f"Run {run.run_id}'s figures are not in {run.out_dir / 'coalition.duckdb'} (run_metrics) "
                             f"and its {path} cannot be read ({exc}); there is nothing to compare with.") from None
    return figures, f"funder_metrics.json ({len(figures)} figures; the database holds no figures of this run)", True


def recomputed_figures(con, settings: Settings, funder_only: bool) -> dict[tuple[str, str], Figure]:
    if funder_only:
        from .funder import funder_records

        return {(r["metric_id"], r["quarter"]): _funder_figure(r) for r in funder_records(con, settings)}
    rows = con.execute("select published_id, metric_id, quarter, value, n, suppressed "
                       "from marts.published_metrics").fetchall()
    return {(r[0], r[2]): _figure(*r) for r in rows}


def _figure(published_id, metric_id, quarter, value, n, suppressed) -> Figure:
    return Figure(published_id, metric_id, quarter, "null" if value is None else repr(float(value)),
                  "null" if n is None else str(int(n)), "true" if suppressed else "false")


def _funder_figure(r: dict[str, Any]) -> Figure:
    """A funder file's record, its value as the JSON file writes it."""
    return Figure(r["metric_id"], r["metric_id"].split("[")[0], r["quarter"], json.dumps(r["value"]),
                  json.dumps(r["n"]), json.dumps(r["suppressed"]))


def compare_figures(published: dict, recomputed: dict, v: Verification) -> None:
    """One group per metric, in the registry's order; every (published id, quarter) on either side."""
    from .registry import load_registry

    order = {m.id: i for i, m in enumerate(load_registry())}
    groups: dict[str, Group] = {}
    for key in sorted(set(published) | set(recomputed)):
        a, b = published.get(key), recomputed.get(key)
        metric_id = (a or b).metric_id
        group = groups.setdefault(metric_id, Group(metric_id))
        if a == b:
            group.matching += 1
        else:
            group.differing.append(Difference(key[0], key[1], a, b))
    v.groups = sorted(groups.values(), key=lambda g: (order.get(g.metric_id, len(order)), g.metric_id))


def compare_funder_files(replay, v: Verification) -> None:
    from .funder import funder_records

    records = funder_records(replay.con, replay.settings)
    regenerated = funder_files(records, replay.validation, replay.plan)
    for name in FUNDER_FILES:
        path = v.run.output_folder / name
        try:
            was = path.read_bytes()
        except OSError as exc:
            v.files[name] = f"cannot be read ({exc.strerror or exc})"
            continue
        now = regenerated[name].encode("utf-8")
        v.files[name] = "identical" if was == now else _first_difference(was, now)
    # The manifest's copy of the quarter's funder figures (publish.run_manifest), record by record.
    quarter = [r for r in records if r["quarter"] == v.run.quarter]
    listed = v.run.manifest.get("metrics")
    if json.dumps(listed, ensure_ascii=False) == json.dumps(quarter, ensure_ascii=False):
        v.files["manifest.json metrics"] = "identical"
    else:
        listed = listed if isinstance(listed, list) else []
        first = next((a.get("metric_id") if isinstance(a, dict) else a for a, b in zip(listed, quarter) if a != b),
                     f"{len(listed)} records listed, {len(quarter)} recomputed")
        v.files["manifest.json metrics"] = f"differs from the recomputed funder figures of {v.run.quarter} at {first}"


def _first_difference(was: bytes, now: bytes) -> str:
    a, b = was.decode("utf-8", "replace").splitlines(), now.decode("utf-8", "replace").splitlines()
    for i, (x, y) in enumerate(zip(a, b), start=1):
        if x != y:
            return f"differs from line {i}: published {_clip(x)}, recomputed {_clip(y)}"
    if len(a) != len(b):
        return f"differs: published {len(a)} lines, recomputed {len(b)}"
    return "differs (line endings or bytes only)"


def _clip(line: str, width: int = 90) -> str:
    line = line.strip()
    return repr(line if len(line) <= width else line[: width - 1] + "…")


# ---------------------------------------------------------------------------------------------
def render_text(v: Verification) -> str:
    run = v.run
    lines = [f"Verifying run {run.run_id} ({run.flow} {run.quarter}, as of {run.as_of}): {run.output_folder}"]
    lines += [f"  {line}" for line in v.inputs]
    if v.stopped:
        lines += ["", v.stopped]
    else:
        lines.append(f"  recomputed in {v.seconds:.1f} s in a private database; compared with {v.compared_with} "
                     f"and the funder files")
        lines.append("")
        for g in v.groups:
            total = g.matching + len(g.differing)
            if not g.differing:
                lines.append(f"{g.metric_id}: {total} figure{'s' if total != 1 else ''} match")
                continue
            lines.append(f"{g.metric_id}: {g.matching} figure{'s' if g.matching != 1 else ''} match / "
                         f"{len(g.differing)} differ{'s' if len(g.differing) == 1 else ''}")
            lines += [f"    {d.describe()}" for d in g.differing[:SHOWN_PER_METRIC]]
            if len(g.differing) > SHOWN_PER_METRIC:
                lines.append(f"    … and {len(g.differing) - SHOWN_PER_METRIC} more (--format json lists every one)")
        for name, what in v.files.items():
            same = "identical bytes" if name in FUNDER_FILES else "identical to the recomputed figures"
            lines.append(f"{name}: {same if what == 'identical' else what}")
    if v.notes:
        lines += ["", "Notes:"] + [f"  - {n}" for n in v.notes]
    lines += ["", verdict(v)]
    return "\n".join(lines)


def verdict(v: Verification) -> str:
    figures = sum(g.matching + len(g.differing) for g in v.groups)
    if v.exit_code == 0:
        return (f"Verdict: MATCHES. All {figures} published figures of {len(v.groups)} metrics, "
                f"{' and '.join(FUNDER_FILES)} and the manifest's figures recompute byte for byte from run "
                f"{v.run.run_id}'s snapshot and config.")
    what = []
    if v.figures_differing:
        metrics = [g.metric_id for g in v.groups if g.differing]
        what.append(f"{v.figures_differing} of {figures} figures ({len(metrics)} metric{'s' if len(metrics) != 1 else ''}: "
                    f"{', '.join(metrics)})")
    what += v.files_differing
    if v.stopped:
        differ = "The run could not be recomputed from its inputs as they are now"
    elif what:
        differ = f"Differing from what the run published: {'; '.join(what)}"
    else:
        differ = "Every figure recomputes as published, but the run's inputs are not the ones it was published with"
    if v.causes:
        cause = "Likely cause: " + "; ".join(c.rstrip(".") for c in v.causes) + "."
    else:
        code_note = next((n for n in v.notes if n.startswith("code version differs")), None)
        cause = (f"Likely cause: {code_note}." if code_note else
                 "No input changed (snapshot files, config and code match the manifest), so the computation "
                 "itself did not reproduce: please report this with the run folder.")
    return f"Verdict: DIFFERS. {differ}. {cause}"


def as_json(v: Verification) -> str:
    run = v.run
    doc = {
        "run_id": run.run_id, "flow": run.flow, "quarter": run.quarter, "as_of": run.as_of.isoformat(),
        "run_folder": str(run.output_folder), "config_source": v.config_source,
        "verdict": "match" if v.exit_code == 0 else "differ", "exit_code": v.exit_code,
        "inputs": v.inputs, "causes": v.causes, "notes": v.notes, "stopped": v.stopped or None,
        "compared_with": v.compared_with, "seconds": round(v.seconds, 1),
        "metrics": [{"metric_id": g.metric_id, "match": g.matching, "differ": len(g.differing),
                     "differences": [d.as_dict() for d in g.differing]} for g in v.groups],
        "files": v.files,
    }
    return json.dumps(doc, indent=2, ensure_ascii=False)
