"""`coalition explain METRIC_ID [--quarter Q] [--member ID] [--run RUN_ID] [--format text|json]`:
the registry's definition of a metric, its values by quarter as a published run published them,
and the figure's lineage in one quarter: the raw rows that went into it (tab, sheet row, cells, the
role each plays) and the rows left out with the reason (docs/lineage.md).

Only published runs are read: the latest succeeded run with figures in run_metrics, or --run. A
run that built the database and then failed publishes nothing, so its figures are never shown. The
lineage comes from the SQL models in transforms/lineage/ (table lineage.metric_lineage) and the
cells from raw.<tab>; those tables describe the database's last build (ref.build), so they are read
only when that build is the run being explained. Otherwise the run is replayed from its snapshot with
its saved config (coalition_metrics.replay) into a private database, and the rows are read there.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .coalition_db import coalition_view
from .config import DEFAULTS
from .errors import CoalitionError
from .plan import DB_NAME
from .registry import Metric, load_registry, metric, suppressed_label
from .runlock import database_error

_AUDIENCE = {"funder": "funders and coordinators", "coordinator": "coordinators only (member-level)",
             "instrument": "coordinators only (its survey item or scale is declared funder = false)"}
TEXT_ROWS_PER_GROUP = 10  # the text output lists this many rows per group; json lists all
TEXT_ROWS_LEFT_OUT = 5
QUIET_REASONS = ("outside the", "blank row")  # left-out groups shown as a count only in text
MEMBER_FIGURE_SECTIONS = ("attendance", "engagement")  # their member-level figure: member_attendance_rate[ID]


@dataclass
class Explanation:
    """What explain found; ``text()`` and ``as_json()`` render it."""
    metric: Metric
    published_id: str
    run: dict[str, Any]
    quarter: str | None
    small_n: int | None
    values: list[tuple] = field(default_factory=list)  # (published_id, quarter, value, n, suppressed)
    figure: dict[str, Any] | None = None
    member: str | None = None
    member_figure: dict[str, Any] | None = None
    lineage: str = "none"  # live | replay | unavailable | none (no single figure named)
    coordinator_only: bool = False  # the instrument keeps this figure from funders (funder = false)
    definition: str = ""  # the metric's definition with the run's settings (_definition)
    lineage_note: str = ""
    included: list[dict[str, Any]] = field(default_factory=list)
    excluded: list[dict[str, Any]] = field(default_factory=list)

    def shown(self, value, suppressed) -> str:
        if suppressed:
            return f"{suppressed_label(self.small_n)} (suppressed)" if self.small_n else "suppressed"
        return self.metric.format(value)

    def as_json(self) -> str:
        m = self.metric
        doc = {
            "metric_id": m.id, "published_id": self.published_id, "name": m.name,
            "definition": self.definition or m.definition,
            "unit": m.unit, "audience": self.audience(), "small_n_rule": m.survey, "model": f"transforms/{m.model}",
            "run": self.run, "quarter": self.quarter,
            "published": None if self.figure is None else {
                **self.figure, "shown": self.shown(self.figure["value"], self.figure["suppressed"])},
            "member": None if self.member is None else {"member_id": self.member, "figure": self.member_figure},
            "lineage": self.lineage,
            "lineage_note": self.lineage_note or None,
            "included": self.included if self.lineage in ("live", "replay") else None,
            "excluded": self.excluded if self.lineage in ("live", "replay") else None,
        }
        return json.dumps(doc, indent=2, default=str)

    def audience(self) -> str:
        return "coordinator" if self.coordinator_only else self.metric.audience

    def text(self) -> str:
        m = self.metric
        ids = ([m.id] if m.overall else []) + ([f"{m.id}[{m.dimension}]"] if m.dimension != "none" else [])
        lines = [
            f"{self.published_id}: {m.name}", "", self.definition or m.definition, "",
            f"  published as  {', '.join(ids)}",
            f"  unit          {m.unit}",
            f"  audience      {_AUDIENCE[self.audience() if not self.coordinator_only else 'instrument']}",
            f"  small-n rule  {'yes: suppressed below [metrics] small_n responses' if m.survey else 'no'}",
            f"  computed by   transforms/{m.model} (rows in transforms/marts/metric_values.sql)",
            "  lineage       transforms/lineage/ (lineage.metric_lineage; docs/lineage.md)",
            "  reference     docs/metrics.md#" + m.id,
        ]
        r = self.run
        lines += ["", f"Published by run {r['run_id']} ({r['flow']} {r['quarter']}, as of {r['as_of']}; snapshot "
                      f"{str(r['snapshot_id'])[:12]}; {r['output_folder']}):"]
        if not self.values:
            lines.append("  no figures (no data for this id in that run)")
        width = max((len(v[0]) for v in self.values), default=0)
        for pid, quarter, value, n, suppressed in self.values:
            lines.append(f"  {pid.ljust(width)}  {quarter}  {self.shown(value, suppressed):>18}  "
                         f"n={'' if n is None else n}")
        if self.figure is None:
            lines += ["", self.lineage_note] if self.lineage_note else []
            return "\n".join(lines)
        f = self.figure
        head = (f"Lineage of {self.published_id} in {self.quarter}: {self.shown(f['value'], f['suppressed'])} "
                f"(n={'' if f['n'] is None else f['n']})")
        lines += ["", head]
        if f["suppressed"]:
            lines.append(f"  Published as suppressed: it rests on fewer than {self.small_n} responses, so no "
                         f"value leaves the evaluator and coordinator outputs. The rows below are for "
                         f"evaluators and coordinators only.")
        if self.member is not None:
            if self.member_figure:
                mf = self.member_figure
                lines.append(f"  Member {self.member}: {mf['published_id']} = {metric(mf['published_id']).format(mf['value'])} "
                             f"(n={'' if mf['n'] is None else mf['n']}); rows below are {self.member}'s only.")
            else:
                lines.append(f"  Member {self.member}: rows below are {self.member}'s only (this metric has no "
                             f"member-level figure).")
        if self.lineage not in ("live", "replay"):
            lines += ["", self.lineage_note]
            return "\n".join(lines)
        if self.lineage == "replay":
            lines.append(f"  ({self.lineage_note})")
        lines.append(f"  Counted: {len(self.included)} rows; left out: {len(self.excluded)} rows.")
        lines += _groups("Counted", self.included, lambda row: f"{row['tab']}, {row['role']}", TEXT_ROWS_PER_GROUP)
        lines += _groups("Left out", self.excluded, lambda row: f"{row['tab']}, {reason_kind(row['reason'])}",
                         TEXT_ROWS_LEFT_OUT)
        return "\n".join(lines)


def reason_kind(reason: str) -> str:
    """The reason without its particulars, to group left-out rows: 'outside the quarter (dated
    2026-10-02)' -> 'outside the quarter', 'quarantined: status: ...' -> 'quarantined'."""
    return re.split(r" \(|: ", reason or "", maxsplit=1)[0]


def _groups(title: str, rows: list[dict], key, limit: int) -> list[str]:
    if not rows:
        return []
    groups: dict[str, list[dict]] = {}
    for row in rows:
        groups.setdefault(key(row), []).append(row)
    out = ["", f"  {title}:"]
    for name, members in groups.items():
        quiet = title == "Left out" and any(name.split(", ", 1)[-1].startswith(q) for q in QUIET_REASONS)
        shown = 0 if quiet else limit
        out.append(f"    {name}: {len(members)} row{'s' if len(members) != 1 else ''}"
                   + (" (listed with --format json)" if quiet else ""))
        for row in members[:shown]:
            out.append("      " + _row_line(row, with_reason=title == "Left out"))
        if len(members) > shown and not quiet:
            out.append(f"      … and {len(members) - shown} more (use --format json)")
    return out


def _row_line(row: dict, with_reason: bool) -> str:
    where = f"row {row['sheet_row']}" + (f", column {row['sheet_column']}" if row.get("sheet_column") else "")
    cells = row.get("cells") or {}
    counted = row.get("cell")
    parts = [f"{counted}={cells.get(counted)!s}"] if counted in cells else []
    parts += [f"{k}={v}" for k, v in cells.items() if k != counted and v not in (None, "")]
    text = f"{where}: " + ", ".join(parts)
    if row["tab"] == "meetings" and row.get("role", "") and "no attendance row" in row["role"]:
        text += f"  [{row['member_id']} expected, no attendance row]"
    if len(text) > 160:
        text = text[:157] + "..."
    if with_reason and reason_kind(row["reason"]) != row["reason"]:
        text += f"  <- {row['reason']}"
    return text


# ---------------------------------------------------------------------------------------------
def explain(metric_id: str, out_dir: Path, *, quarter: str | None = None, member: str | None = None,
            run_id: str | None = None, fmt: str = "text", progress=None, settings=None) -> str:
    """The explanation of ``metric_id`` (plain or dimensioned) as text or json. Raises KeyError
    for an id not in the registry and CoalitionError for an unknown run, quarter, dimension or
    member (the CLI prints those as one paragraph, exit 2). ``progress(text)`` is told before a
    replay, which takes about as long as the run's validate, load and transform stages.
    ``settings``: the config explain reads now, whose settings the definition quotes when there is
    no run, or the run saved none (None: the defaults)."""
    m = metric(metric_id)  # KeyError for an unknown id
    db = Path(out_dir) / DB_NAME
    none_yet = f"No published run under {out_dir} yet: `coalition run` builds and publishes the figures."
    if not db.is_file():
        return _no_run(m, metric_id, none_yet, fmt, settings)
    import duckdb

    try:
        con = duckdb.connect(str(db), read_only=True)
    except duckdb.Error as exc:
        err = database_error(exc, db)
        if isinstance(err, CoalitionError) and "in use by another" in str(err):
            return _no_run(m, metric_id, f"{db} is in use by a run; try again when it has finished.", fmt, settings)
        raise err from None
    view = None
    try:
        # the output folder's coalition, under the tables' usual names (coalition_db.coalition_view)
        view = coalition_view(con, _coalition_of(con))
        run = _published_run(con, run_id, out_dir)
        if run is None:
            return _no_run(m, metric_id, none_yet, fmt, settings)
        exp = _published_figures(con, m, metric_id, run, quarter, member, out_dir)
        exp.definition = _definition(m, exp.run["run_id"], out_dir, settings)
        if exp.figure is not None:
            built_by = _built_by(con)
            if built_by == run["run_id"] and not _has_lineage(con):
                built_by = NO_LINEAGE  # built by this run with [output] lineage = false: replay it
            if built_by == run["run_id"]:
                exp.lineage = "live"
                exp.coordinator_only = _kept_from_funders(con, m, exp.published_id)
                exp.included, exp.excluded = lineage_rows(con, exp.published_id, exp.quarter, member)
    except duckdb.Error as exc:
        raise database_error(exc, db) from None
    finally:
        if view is not None:
            view.close()
        con.close()
    if exp.figure is not None and exp.lineage != "live":
        _from_replay(exp, out_dir, built_by, progress)
    return exp.as_json() if fmt == "json" else exp.text()


def _definition(m: Metric, run_id: str, out_dir: Path, current) -> str:
    """``m``'s definition with the settings the run computed it with ([metrics] alert_drop, small_n,
    ...): the run's saved config.json, or ``current`` for a run that saved none or whose folder
    cannot be read (its replay, if one is needed, then says why)."""
    from .publish import CONFIG_FILE
    from .replay import find_run, saved_config, settings_from_saved

    try:
        info = find_run(run_id, out_dir, "explain")
        doc = saved_config(info)
        if doc is not None:
            return m.described(settings_from_saved(doc, str(info.output_folder / CONFIG_FILE)))
    except CoalitionError:
        pass
    return m.described(current)


def _no_run(m: Metric, metric_id: str, note: str, fmt: str, settings=None) -> str:
    definition = m.described(settings)
    if fmt == "json":
        return json.dumps({"metric_id": m.id, "published_id": metric_id, "name": m.name, "definition": definition,
                           "run": None, "lineage": "none", "lineage_note": note}, indent=2)
    ids = ([m.id] if m.overall else []) + ([f"{m.id}[{m.dimension}]"] if m.dimension != "none" else [])
    return "\n".join([
        f"{metric_id}: {m.name}", "", definition, "",
        f"  published as  {', '.join(ids)}",
        f"  unit          {m.unit}",
        f"  computed by   transforms/{m.model}",
        "", note])


RUN_COLUMNS = ("run_id", "flow", "quarter", "as_of", "snapshot_id", "output_folder")


def _published_run(con, run_id: str | None, out_dir: Path) -> dict[str, Any] | None:
    import duckdb

    try:
        published = con.execute(
            f"""select {', '.join(RUN_COLUMNS)} from runs
                where status = 'succeeded' and run_id in (select run_id from run_metrics)
                order by started_at desc, run_id desc""").fetchall()
    except duckdb.CatalogException:  # no run has published yet (or a database from before run_metrics)
        published = []
    runs = [dict(zip(RUN_COLUMNS, r)) for r in published]
    if run_id is None:
        return runs[0] if runs else None
    for r in runs:
        if r["run_id"] == run_id:
            return r
    listed = ", ".join(r["run_id"] for r in runs[:5]) or "none yet"
    raise CoalitionError(
        f"No published run '{run_id}' under {out_dir}: explain reads runs that succeeded and published "
        f"figures (latest first: {listed}). `coalition runs --out {out_dir}` lists every run; a failed "
        f"run published nothing to explain."
    )


def _published_figures(con, m: Metric, metric_id: str, run: dict, quarter: str | None, member: str | None,
                       out_dir: Path) -> Explanation:
    """The run's figures of this metric (all quarters) and the one figure the lineage is about."""
    exact = "[" in metric_id
    values = con.execute(
        """select published_id, quarter, value, n, suppressed from run_metrics
           where run_id = ? and (published_id = ? or (not ? and metric_id = ?))
           order by dimension is not null, dimension_position, dimension, seq""",
        [run["run_id"], metric_id, exact, m.id]).fetchall()
    try:  # the small-n rule of the database's last build, for the "n<5" label
        small_n = con.execute("select small_n from ref.params").fetchone()[0]
    except Exception:
        small_n = None
    run = {k: (str(v) if v is not None else None) for k, v in run.items()}
    exp = Explanation(m, metric_id, run, None, small_n, values=values, member=member)
    quarters = [q for (q,) in con.execute(
        "select distinct quarter from run_metrics where run_id = ? order by quarter", [run["run_id"]]).fetchall()]
    exp.quarter = quarter or run["quarter"]
    if exp.quarter not in quarters:
        raise CoalitionError(
            f"Run {run['run_id']} published no figures for quarter '{exp.quarter}'. Its quarters are "
            f"{', '.join(quarters)}: pass one of them with --quarter (or another run with --run)."
        )
    published_id = metric_id
    if member is not None and m.dimension == "member" and not exact:
        published_id = f"{m.id}[{member}]"
        exp.published_id = published_id
    if not exact and not m.overall and published_id == metric_id:
        dims = [v[0] for v in values if v[1] == exp.quarter]
        exp.lineage_note = (f"{m.id} is published per {m.dimension}, so its lineage is per figure: explain one of "
                            f"{', '.join(dims) or '(none in ' + exp.quarter + ')'}"
                            + (" (or pass --member ID)" if m.dimension == "member" else "") + ".")
        return exp
    row = con.execute(
        """select value, n, suppressed from run_metrics where run_id = ? and published_id = ? and quarter = ?""",
        [run["run_id"], published_id, exp.quarter]).fetchone()
    if row is None:
        known = [pid for (pid,) in con.execute(
            """select distinct published_id from run_metrics where run_id = ? and metric_id = ? and quarter = ?
               order by published_id""", [run["run_id"], m.id, exp.quarter]).fetchall()]
        raise CoalitionError(
            f"Run {run['run_id']} published no figure '{published_id}' for {exp.quarter}. The ids of "
            f"{m.id} it published for that quarter are {', '.join(known) or 'none'}"
            + (f" (is '{member}' a member on that quarter's roster?)" if member and m.dimension == "member" else "")
            + "."
        )
    exp.figure = {"published_id": published_id, "value": row[0], "n": row[1], "suppressed": bool(row[2])}
    if member is not None and m.section in MEMBER_FIGURE_SECTIONS:
        mrow = con.execute(
            """select value, n, suppressed from run_metrics where run_id = ? and published_id = ? and quarter = ?""",
            [run["run_id"], f"member_attendance_rate[{member}]", exp.quarter]).fetchone()
        if mrow is not None:
            exp.member_figure = {"published_id": f"member_attendance_rate[{member}]", "value": mrow[0],
                                 "n": mrow[1], "suppressed": bool(mrow[2])}
    return exp


def _coalition_of(con) -> str:
    """The coalition an output folder's database was built for: ref.build's one coalition (a
    database from before coalition ids, or with no build yet: the single run's "coalition")."""
    try:
        ids = [i for (i,) in con.execute("select distinct coalition_id from ref.build").fetchall()]
    except Exception:
        ids = []
    return ids[0] if len(ids) == 1 else DEFAULTS["coalition"]["id"]


NO_LINEAGE = "(built without lineage)"


def _has_lineage(con) -> bool:
    """Whether the database holds the lineage tables (not with [output] lineage = false)."""
    try:
        con.execute("select 1 from lineage.metric_lineage limit 0").fetchall()
        return True
    except Exception:
        return False


def _built_by(con) -> str | None:
    """The run whose build the raw, staging, marts and lineage tables hold (ref.build)."""
    try:
        row = con.execute("select run_id from ref.build").fetchone()
    except Exception:  # a database built before ref.build: its last build is unknown
        return None
    return row[0] if row else None


def _kept_from_funders(con, m: Metric, published_id: str) -> bool:
    """Whether the run's instrument keeps a funder metric's figure from funders (render.coordinator_only:
    an item or scale declared funder = false, or a role resting on such an item)."""
    from .registry import base_id
    from .render import coordinator_only

    if m.audience != "funder" or not m.survey:
        return False
    hidden = coordinator_only(con)
    dimension = published_id[len(base_id(published_id)) + 1:-1] if "[" in published_id else None
    return (m.dimension, dimension) in hidden or (m.role, None) in hidden


def _from_replay(exp: Explanation, out_dir: Path, built_by: str | None, progress=None) -> None:
    """Lineage of a run that is not the database's last build: replay the run's snapshot with its
    saved config into a private database (coalition_metrics.replay) and read the rows there. When
    the replay cannot be made (the snapshot or run folder damaged or gone), the published figure is
    still shown, with why its rows cannot be listed."""
    from .replay import replay_run

    run = exp.run
    why = ("the run was built without explain's row listings ([output] lineage = false, or its sheet rows x "
           "quarters above [output] lineage_max_row_quarters: the replay takes as long as they would have)"
           if built_by == NO_LINEAGE
           else f"the database's raw, staging and lineage tables were last built by run {built_by}, not by run "
           f"{run['run_id']}" if built_by else
           f"this folder's database holds no build of run {run['run_id']}: a portfolio run builds every "
           f"coalition in the portfolio's own database, and an earlier version of the tool kept no build record")
    if progress is not None:
        progress(f"Replaying run {run['run_id']} from its snapshot to list the rows behind {exp.published_id} "
                 f"({why})...")
    try:
        with replay_run(run["run_id"], Path(out_dir)) as rep:
            exp.included, exp.excluded = lineage_rows(rep.con, exp.published_id, exp.quarter, exp.member)
            exp.coordinator_only = _kept_from_funders(rep.con, exp.metric, exp.published_id)
    except CoalitionError as exc:
        if exp.member is not None and str(exc).startswith(f"No member '{exp.member}'"):
            raise
        exp.lineage = "unavailable"
        exp.lineage_note = (f"The rows behind this figure cannot be listed: {why}, so they come from a replay of "
                            f"the run's snapshot, and the replay failed: {exc}")
        return
    exp.lineage = "replay"
    exp.lineage_note = f"rows from a replay of run {run['run_id']}'s snapshot: {why}"


# ---------------------------------------------------------------------------------------------
def lineage_rows(con, published_id: str, quarter: str, member: str | None = None) -> tuple[list[dict], list[dict]]:
    """The rows behind one figure (lineage.metric_lineage) with their cells from raw.<tab>:
    (included, excluded), each row a dict with tab, sheet_row, sheet_column, member_id, role or
    reason, cell (the column the figure reads) and cells (the row's cells as text)."""
    if member is not None:
        known = {m for (m,) in con.execute(
            "select distinct trim(member_id) from raw.members where member_id is not null").fetchall()}
        if member not in known:
            raise CoalitionError(
                f"No member '{member}' in the members tab of the run's snapshot. Its member ids are "
                f"{', '.join(sorted(known))}."
            )
    rows = con.execute(
        """select tab, sheet_row, sheet_column, member_id, role, included, reason, cell
           from lineage.metric_lineage
           where published_id = ? and quarter = ? and (? is null or member_id = ?)
           order by not included, tab, role, reason, sheet_row, sheet_column, member_id, cell""",
        [published_id, quarter, member, member]).fetchall()
    cols = ("tab", "sheet_row", "sheet_column", "member_id", "role", "included", "reason", "cell")
    found = [dict(zip(cols, r)) for r in rows]
    cells = _cells(con, found)
    included, excluded = [], []
    for row in found:
        row["cells"] = cells.get((row["tab"], row["sheet_row"], row["sheet_column"])) \
            or cells.get((row["tab"], row["sheet_row"], None)) or {}
        (included if row.pop("included") else excluded).append(row)
    for row in included:
        row.pop("reason")
    for row in excluded:
        row.pop("role")
    return included, excluded


def _cells(con, rows: list[dict]) -> dict[tuple, dict[str, Any]]:
    """(tab, sheet_row, sheet_column) -> the row's cells in raw.<tab> (grid attendance: one marked cell)."""
    by_tab: dict[str, set[int]] = {}
    for row in rows:
        by_tab.setdefault(row["tab"], set()).add(row["sheet_row"])
    out = {}
    for tab, sheet_rows in by_tab.items():
        cur = con.execute(f'select * from raw."{tab}" where sheet_row = any(?)', [sorted(sheet_rows)])
        names = [d[0] for d in cur.description]
        for rec in cur.fetchall():
            values = dict(zip(names, rec))
            key = (tab, values["sheet_row"], values.get("sheet_column"))
            out[key] = {k: v for k, v in values.items()
                        if k not in ("sheet_row", "snapshot_id", "is_blank", "sheet_column")}
    return out


def known_ids() -> str:
    return ", ".join(m.id for m in load_registry())
