"""`coalition explain METRIC_ID`: the registry's definition of a metric and, when a run has built
the database, its published values by quarter with the run that produced them."""

from __future__ import annotations

from pathlib import Path

from .plan import DB_NAME
from .registry import metric


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
    if not db.is_file():
        lines += ["", f"No run yet under {out_dir}: `coalition run` builds the figures."]
        return "\n".join(lines)
    import duckdb

    try:
        con = duckdb.connect(str(db), read_only=True)
    except duckdb.IOException:
        return "\n".join(lines + ["", f"{db} is in use by a run; try again when it has finished."])
    try:
        exact = "[" in metric_id
        rows = con.execute(
            """select published_id, quarter, value, n, suppressed from marts.published_metrics
               where (published_id = ? or (not ? and metric_id = ?))
               order by dimension is not null, dimension_position, dimension, seq""",
            [metric_id, exact, m.id],
        ).fetchall()
        run = con.execute(
            "select run_id, quarter, as_of, snapshot_id from runs where status = 'succeeded' order by started_at desc limit 1"
        ).fetchone()
    finally:
        con.close()
    if run:
        lines += ["", f"Latest run {run[0]} ({run[1]}, as of {run[2]}; snapshot {str(run[3])[:12]}):"]
    if not rows:
        lines.append("  no figures (no data for this id in the latest run)")
    width = max((len(r[0]) for r in rows), default=0)
    for pid, quarter, value, n, suppressed in rows:
        shown = "n<5 (suppressed)" if suppressed else m.format(value)
        lines.append(f"  {pid.ljust(width)}  {quarter}  {shown:>18}  n={'' if n is None else n}")
    return "\n".join(lines)
