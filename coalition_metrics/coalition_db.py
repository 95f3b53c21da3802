"""One database for several coalitions (a portfolio), and one coalition's view of a database.

Every raw, quarantine, staging, marts and lineage table, and every per-coalition ref table, has
``coalition_id`` as its first column (a single run's database holds one coalition, "coalition" by
default; Settings.coalition_id). ref.enum_values, ref.metrics and ref.t_critical are global.

- ``build_portfolio_database(entries, db_path)``: loads every coalition's raw, quarantine and ref rows
  (one frame, one insert per table) and runs the models once: one DuckDB pass computes every
  coalition.
- ``coalition_view(db, coalition_id)``: a DuckDB connection on which the tables appear under their
  usual names (marts.published_metrics, ref.quarters, ...) WITHOUT the coalition_id column and
  filtered to one coalition, so the readers (render, funder, quality, summary, explain, audit,
  verify, replay) query one coalition with the SQL they always had.
"""

from __future__ import annotations

import re
from pathlib import Path

# The schemas whose tables a view shows (the main schema's runs and run_metrics pass through).
VIEW_SCHEMAS = ("raw", "parsed", "quarantine", "staging", "marts", "lineage", "ref", "main")
VIEW_CATALOG = "coalition_view"
VARIABLE = "coalition_id"
SOURCE_VARIABLE = "coalition_source"  # the catalog of the database a view shows (keyed_reads.py)
_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")


class CoalitionView:
    """One coalition's view of a database (see coalition_view). ``con`` is the DuckDB connection to
    query; ``switch(coalition_id)`` shows another coalition (SET VARIABLE: the views are made once);
    ``close()`` (or leaving the ``with`` block) undoes it. ``source`` is the catalog name of the
    database itself, whose tables stay reachable as <source>.<schema>.<table> (with coalition_id)."""

    def __init__(self, db, coalition_id: str):
        import duckdb

        self._own = not isinstance(db, duckdb.DuckDBPyConnection)
        if self._own:
            path = Path(db)
            if not path.is_file():
                raise FileNotFoundError(f"no database at {path}")
            self.con = duckdb.connect()
            self.con.execute(f"attach {_literal(str(path))} as db (read_only)")
            self.source = "db"
            self._previous = None
        else:
            self.con = db
            self.source = db.execute("select current_database()").fetchone()[0]
            self._previous = self.source
            db.execute(f"attach if not exists ':memory:' as {VIEW_CATALOG} (read_write)")
            db.execute(f"use {VIEW_CATALOG}")
        try:
            self.con.execute(f"set variable {SOURCE_VARIABLE} = {_literal(self.source)}")  # keyed_reads' catalog
            self.switch(coalition_id)
            self._create_views()
        except BaseException:
            self.close()
            raise

    def _create_views(self) -> None:
        from .transform import TRANSFORMS_DIR

        con = self.con
        tables = con.execute(
            """select t.schema_name, t.table_name,
                      bool_or(c.column_name = 'coalition_id') as has_id
               from duckdb_tables() as t
               join duckdb_columns() as c
                 on c.database_name = t.database_name and c.schema_name = t.schema_name
                and c.table_name = t.table_name
               where t.database_name = ? and t.schema_name in ?
               group by t.schema_name, t.table_name
               order by t.schema_name, t.table_name""",
            [self.source, list(VIEW_SCHEMAS)]).fetchall()
        for schema in {s for s, _, _ in tables}:
            con.execute(f"create schema if not exists {schema}")
        for schema, table, has_id in tables:
            name = f'{schema}."{table}"'
            src = f'{self.source}.{schema}."{table}"'
            if has_id:
                sql = f"select * exclude (coalition_id) from {src} where coalition_id = getvariable('{VARIABLE}')"
            else:
                sql = f"select * from {src}"
            con.execute(f"create or replace view {name} as {sql}")
        # the models' macros (is_suppressed, safe_ratio, ...), over this view's ref tables; a
        # database that was never built here (a portfolio coalition's folder keeps only its runs
        # and run_metrics; the figures were built in <out>/portfolio.duckdb) has none to define
        if ("ref", "params") in {(s, t) for s, t, _ in tables}:
            con.execute((TRANSFORMS_DIR / "macros.sql").read_text(encoding="utf-8"))

    def switch(self, coalition_id: str) -> None:
        if not isinstance(coalition_id, str) or not _ID.match(coalition_id):
            raise ValueError(f"{coalition_id!r} is not a coalition id")
        self.con.execute(f"set variable {VARIABLE} = {_literal(coalition_id)}")

    def close(self) -> None:
        if self.con is None:
            return
        if self._own:
            self.con.close()
        else:
            try:
                self.con.execute(f"use {self._previous}")
                self.con.execute(f"detach {VIEW_CATALOG}")
                self.con.execute(f"reset variable {VARIABLE}")
                self.con.execute(f"reset variable {SOURCE_VARIABLE}")
            except Exception:
                pass  # the connection is closing or broken; its owner reports that
        self.con = None

    def __enter__(self):
        return self.con

    def __exit__(self, *exc) -> bool:
        self.close()
        return False


def coalition_view(db, coalition_id: str) -> CoalitionView:
    """One coalition's view of a database: ``db`` is a database file (a new in-memory connection
    attaches it read-only; closing the view closes that connection) or an open DuckDB connection
    to it (the views go into an in-memory catalog attached to it and made its default with USE;
    closing the view restores the default catalog, so the connection writes its own tables again).

    On the view's connection raw.*, quarantine.*, staging.*, marts.*, lineage.* and ref.* (and the
    main schema's runs, run_metrics) are views under the usual names: per-coalition tables without
    their coalition_id column, filtered to ``coalition_id`` (getvariable, so ``switch`` changes
    coalition without recreating a view); global tables (ref.metrics, ref.t_critical,
    ref.enum_values, runs) as they are. The macros of transforms/macros.sql are defined over them.

        with coalition_view(db_path, "riverside") as con:
            con.execute("select * from marts.published_metrics").fetchall()
    """
    return CoalitionView(db, coalition_id)


def build_portfolio_database(entries, db_path, parts: list[Path] | None = None) -> list[str]:
    """Build one database for several coalitions: ``entries`` is a list of (settings, plan, snapshot,
    validation), each settings with its own coalition_id. Every coalition's raw, quarantine and ref
    rows are concatenated per table (one insert per table), the models run once over all of them,
    and ref.build gets one row per coalition. Returns the models built, in order.

    ``parts``: database files that write_part already wrote those tables into for the entries (a
    portfolio's worker processes each write their chunk's); their tables are concatenated in
    DuckDB (UNION ALL BY NAME, in the parts' order) instead of frame by frame here."""
    from .errors import CoalitionError
    from .load import connect, global_reference_frames, largest_survey_n, load_t_critical, write_tables
    from .pipeline import BUILD_DDL
    from .transform import FIGURE_LAYERS, run_models

    ids = [settings.coalition_id for settings, _, _, _ in entries]
    if not ids:
        raise ValueError("build_portfolio_database: no coalitions")
    twice = sorted({i for i in ids if ids.count(i) > 1})
    if twice:
        raise CoalitionError(f"The portfolio names coalition id(s) {', '.join(twice)} more than once; "
                             f"each coalition needs its own id.")
    builds = [[settings.coalition_id, plan.run_id, plan.flow, plan.quarter.label, plan.as_of, snap.snapshot_id]
              for settings, plan, snap, _ in entries]
    tables = global_reference_frames() if parts else {**coalition_tables(entries), **global_reference_frames()}
    con = connect(Path(db_path))
    try:
        if parts:
            _tables_from_parts(con, parts, ids)
        write_tables(con, tables)
        load_t_critical(con, largest_survey_n(con))
        # figures only: explain lists a portfolio coalition's rows by replaying its run
        built = run_models(con, [settings for settings, _, _, _ in entries], FIGURE_LAYERS)
        # Each coalition's published figures together, so reading one coalition's (its report, the
        # figures kept in its own database) skips the other coalitions' row groups: 1 s to sort
        # 1,000 coalitions' 915,739 rows, 8 ms saved per coalition. The rows and every reader's
        # order are unchanged (each orders what it reads).
        con.execute("create or replace table marts.published_metrics as "
                    "select * from marts.published_metrics order by coalition_id")
        con.execute(BUILD_DDL)
        con.executemany("insert into ref.build values (?, ?, ?, ?, ?, ?)", builds)
        return built
    finally:
        con.close()


def coalition_tables(entries) -> dict[str, tuple]:
    """The per-coalition tables (raw, parsed, quarantine, ref) of ``entries`` as one frame per table.
    A coalition whose data starts after the run's quarter is an error naming it."""
    from .errors import CoalitionError
    from .load import concat_tables, reference_frames, snapshot_frames
    from .pipeline import first_quarter

    per_coalition = []
    for settings, plan, snap, validation in entries:
        first = first_quarter(validation, settings)
        if plan.quarter < first:
            raise CoalitionError(f"Coalition {settings.coalition_id}: quarter {plan.quarter} is before its data "
                                 f"starts ({first}). Pick a quarter from {first} on.")
        per_coalition.append({**snapshot_frames(snap, validation, settings, framed=False),
                              **reference_frames(settings, plan.quarter, plan.as_of, first, framed=False)})
    return concat_tables(per_coalition)


def write_part(entries, part_path: Path) -> Path:
    """``entries``' per-coalition tables (coalition_tables) written into their own database file, for
    build_portfolio_database(parts=...): a worker process does this for its chunk of a portfolio."""
    import duckdb

    from .load import SCHEMAS, write_tables

    part_path = Path(part_path)
    part_path.unlink(missing_ok=True)
    con = duckdb.connect(str(part_path))
    try:
        for schema in SCHEMAS:
            con.execute(f"create schema if not exists {schema}")
        write_tables(con, coalition_tables(entries))
    finally:
        con.close()
    return part_path


def _tables_from_parts(con, parts: list[Path], ids: list[str]) -> None:
    """Each table of the parts as one table: the parts' rows in order, columns by name (a column a
    part lacks, e.g. another instrument's survey item, is null there), only the coalitions in ``ids``."""
    names: dict[tuple[str, str], list[str]] = {}
    try:
        for i, part in enumerate(parts):
            alias = f"part{i}"
            con.execute(f"attach {_literal(str(part))} as {alias} (read_only)")
            for schema, table in con.execute(
                    "select schema_name, table_name from duckdb_tables() where database_name = ? "
                    "order by schema_name, table_name", [alias]).fetchall():
                names.setdefault((schema, table), []).append(alias)
        aliases = [f"part{i}" for i in range(len(parts))]
        clash = con.execute(
            """select schema_name || '.' || table_name || '.' || column_name, string_agg(distinct data_type, ' / ')
               from duckdb_columns() where database_name in ? group by all
               having count(distinct data_type) > 1 limit 1""", [aliases]).fetchone()
        if clash:  # UNION BY NAME would cast both to a common type: refuse rather than compare as text
            from .errors import CoalitionError

            raise CoalitionError(f"The portfolio's parts give column {clash[0]} different types ({clash[1]}); "
                                 f"this is a bug in coalition-metrics, please report it with this message.")
        con.execute("create or replace temp table _portfolio_ids as select unnest(?::varchar[]) as coalition_id",
                    [ids])
        for (schema, table), aliases in names.items():
            union = " union all by name ".join(
                f'select * from {a}.{schema}."{table}" where coalition_id in (select coalition_id from _portfolio_ids)'
                for a in aliases)
            con.execute(f'create or replace table {schema}."{table}" as {union}')
    finally:
        for i in range(len(parts)):
            con.execute(f"detach if exists part{i}")


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
