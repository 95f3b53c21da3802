"""`coalition explain METRIC_ID`: the registry's definition of a metric and its values by quarter as
the latest succeeded run published them, naming that run. A run that built the database and then
failed publishes nothing, so its figures are never shown: each run's published figures are kept
under its run id (runs.keep_published_metrics), and only runs recorded as succeeded are read."""

from __future__ import annotations

from pathlib import Path

from .errors import CoalitionError
from .plan import DB_NAME
from .registry import metric, suppressed_label
from .runlock import database_error


def explain(metric_id: str, out_dir: Path) -> str:
    m = metric(metric_id)  # KeyError for an unknown id
    ids = ([f"{m.id}"] if m.overall else []) + ([f"{m.id}[{m.dimension}]"] if m.dimension != "none" else [])
    lines = [
        f"{metric_id}: {m.name}",
        "",
        m.definition,
        "",
        f"  published as  {', '.join(ids)}",
        f"  unit          {m.unit}",
        f"  audience      {'funders and coordinators' if m.audience == 'funder' else 'coordinators only (member-level)'}",
        f"  small-n rule  {'yes: suppressed below [metrics] small_n responses' if m.survey else 'no'}",
        f"  computed by   transforms/{m.model} (rows in transforms/marts/metric_values.sql)",
        "  reference     docs/metrics.md#" + m.id,
    ]
    db = Path(out_dir) / DB_NAME
    none_yet = ["", f"No published run under {out_dir} yet: `coalition run` builds and publishes the figures."]
    if not db.is_file():
        return "\n".join(lines + none_yet)
    import duckdb

    try:
        con = duckdb.connect(str(db), read_only=True)
    except duckdb.Error as exc:
        err = database_error(exc, db)
        if isinstance(err, CoalitionError) and "in use by another" in str(err):
            return "\n".join(lines + ["", f"{db} is in use by a run; try again when it has finished."])
        raise err from None
    try:
        try:
            run = con.execute(
                """select run_id, flow, quarter, as_of, snapshot_id, output_folder from runs
                   where status = 'succeeded' and run_id in (select run_id from run_metrics)
                   order by started_at desc, run_id desc limit 1""").fetchone()
        except duckdb.CatalogException:  # no run has published yet (or a database from before run_metrics)
            run = None
        if run is None:
            return "\n".join(lines + none_yet)
        exact = "[" in metric_id
        rows = con.execute(
            """select published_id, quarter, value, n, suppressed from run_metrics
               where run_id = ? and (published_id = ? or (not ? and metric_id = ?))
               order by dimension is not null, dimension_position, dimension, seq""",
            [run[0], metric_id, exact, m.id],
        ).fetchall()
        try:  # the small-n rule of the database's last build, for the "n<5" label
            small_n = con.execute("select small_n from ref.params").fetchone()[0]
        except duckdb.Error:
            small_n = None
    except duckdb.Error as exc:
        raise database_error(exc, db) from None
    finally:
        con.close()
    lines += ["", f"Published by run {run[0]} ({run[1]} {run[2]}, as of {run[3]}; snapshot {str(run[4])[:12]}; "
                  f"{run[5]}):"]
    if not rows:
        lines.append("  no figures (no data for this id in that run)")
    width = max((len(r[0]) for r in rows), default=0)
    for pid, quarter, value, n, suppressed in rows:
        shown = (f"{suppressed_label(small_n)} (suppressed)" if small_n else "suppressed") if suppressed \
            else m.format(value)
        lines.append(f"  {pid.ljust(width)}  {quarter}  {shown:>18}  n={'' if n is None else n}")
    return "\n".join(lines)
