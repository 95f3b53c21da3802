"""Transform: run transforms/macros.sql, then every model in transforms/staging, transforms/marts and
transforms/lineage (the raw rows behind each figure, read by `coalition explain`; docs/lineage.md).

A model file is a single ``select``; it becomes the table ``<folder>.<file stem>``. Models are run
in dependency order, found from the ``staging.x`` / ``marts.x`` names each file mentions.
Parsing rules come from dates.py, parsing.py and quarters.py, registered as DuckDB functions
(``cm_date``, ``cm_timestamp``, ``cm_number``, ``cm_likert``, ``cm_answer``, ``cm_enum``, ``cm_attendance_mark``, ``cm_key``,
``cm_t_two_sided_ps``), so SQL and validation share one definition of each rule. Quarters are not a
function: a date's quarter is macros.sql's fiscal_quarter with the coalition's ref.params
fiscal_year_start_month, and the reporting quarters are ref.quarters (per coalition_id).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Callable

from . import dates, parsing
from .config import PROJECT_ROOT
from .transaction import one_commit

TRANSFORMS_DIR = PROJECT_ROOT / "transforms"
LAYERS = ("staging", "marts", "lineage")
FIGURE_LAYERS = ("staging", "marts")  # what publishing needs; lineage is explain's


def register_functions(con, settings) -> None:
    """The cm_* functions for ``settings``: one coalition's Settings, or a list of every coalition's
    of a portfolio. Dates are read in the coalition's own [source] date_format
    (cm_date(coalition_id, text)), answers by its own instrument (cm_answer(coalition_id, item,
    text)), so coalitions that differ in either are built in one database."""
    import duckdb
    import duckdb.sqltypes as t

    every = list(settings) if isinstance(settings, (list, tuple)) else [settings]
    formats = {s.coalition_id: s.date_format for s in every}

    def date_format(coalition_id):
        try:
            return formats[coalition_id]
        except KeyError:  # never read a date in a guessed format
            raise ValueError(f"no settings for coalition {coalition_id!r} to read its dates with") from None

    def cm_date(coalition_id, text):
        return dates.try_parse_date(text, date_format(coalition_id))

    def cm_timestamp(coalition_id, text):
        return dates.try_parse_timestamp(text, date_format(coalition_id))

    def cm_key(text):
        return None if parsing.blank(text) else parsing.norm_key(text)

    items = {(s.coalition_id, i.code): i for s in every for i in s.instrument.items}

    def cm_answer(coalition_id, item, text):
        """An answer to a survey item as validation reads it (SurveyItem.parse: number or label)."""
        it = items.get((coalition_id, item))
        return None if it is None else it.parse(text)

    def cm_t_two_sided_ps(t_stats, dfs):
        """Two-sided p-values of Student's t for lists of t and df (Welch's test gives them in SQL),
        in one call: a scalar Python function costs DuckDB about 8 us a row (0.3-0.5 s for the
        47,000 tested pairs of 1,000 coalitions), one array operation a few ms."""
        if t_stats is None or dfs is None:
            return None
        from .student_t import two_sided_ps

        return two_sided_ps(t_stats, dfs)

    specs = [
        ("cm_date", cm_date, [t.VARCHAR, t.VARCHAR], t.DATE),
        ("cm_timestamp", cm_timestamp, [t.VARCHAR, t.VARCHAR], t.TIMESTAMP),
        ("cm_number", parsing.parse_number, [t.VARCHAR], t.DOUBLE),
        ("cm_likert", parsing.parse_likert, [t.VARCHAR], t.DOUBLE),
        ("cm_answer", cm_answer, [t.VARCHAR, t.VARCHAR, t.VARCHAR], t.DOUBLE),
        ("cm_enum", parsing.enum_value, [t.VARCHAR], t.VARCHAR),
        ("cm_attendance_mark", parsing.attendance_mark, [t.VARCHAR], t.VARCHAR),
        ("cm_key", cm_key, [t.VARCHAR], t.VARCHAR),
        ("cm_t_two_sided_ps", cm_t_two_sided_ps, [duckdb.list_type(t.DOUBLE), duckdb.list_type(t.DOUBLE)],
         duckdb.list_type(t.DOUBLE)),
    ]
    for name, fn, args, ret in specs:
        try:
            con.remove_function(name)
        except Exception:
            pass
        con.create_function(name, fn, args, ret, null_handling="special", side_effects=False)
    # cm_trim: trimming as validation trims (str.strip: the code points of parsing.WHITESPACE at either
    # end). DuckDB's trim() keeps tabs and line breaks, and trim(text, characters) walks grapheme
    # clusters at about 1 us a value: 2.2 s for 1.55 million attendance rows, where this regular
    # expression, tried only on text that starts or ends with one of them, takes 0.2 s.
    space = f"[{parsing.WHITESPACE}]"
    con.execute(f"""create or replace temp macro cm_trim(text) as
                    case when regexp_matches(text, '^{space}|{space}$')
                         then regexp_replace(text, '^{space}+|{space}+$', '', 'g') else text end""")


def model_files(layers: tuple[str, ...] = LAYERS) -> list[tuple[str, Path]]:
    """(table name, file) for every model of ``layers``, in an order where each comes after what it reads."""
    files = {}
    for layer in layers:
        for path in sorted((TRANSFORMS_DIR / layer).glob("*.sql")):
            files[f"{layer}.{path.stem}"] = path
    deps = {
        name: {d for d in re.findall(r"\b((?:staging|marts|lineage)\.\w+)", _strip_comments(path.read_text())) if d != name}
        for name, path in files.items()
    }
    ordered, done = [], set()

    def visit(name, stack=()):
        if name in done:
            return
        if name in stack:
            raise ValueError(f"transforms: dependency cycle through {' -> '.join(stack + (name,))}")
        for d in sorted(deps[name]):
            if d not in files:
                raise ValueError(f"transforms: {files[name].name} reads {d}, which no model defines")
            visit(d, stack + (name,))
        done.add(name)
        ordered.append((name, files[name]))

    for name in files:
        visit(name)
    return ordered


# A model whose file has this line is built as a view, not a table: a step read by one other model
# only (lineage families that metric_lineage.sql unions), so its rows are not stored twice. Only a
# model that calls none of register_functions' cm_* functions (they exist on the building
# connection alone): the view must read from any connection to the database file.
VIEW_MARK = re.compile(r"^-- materialize: view\b", re.MULTILINE)


def run_models(con, settings, layers: tuple[str, ...] = LAYERS, before_each: Callable[[], Any] | None = None
               ) -> list[str]:
    """Build every staging and mart table (and lineage table, when ``layers`` has it); return their
    names in build order. Without the lineage layer, lineage tables of an earlier build are dropped,
    so no table describes another build than ref.build's. ``before_each`` is called before each
    model (pipeline._build sets DuckDB's threads there)."""
    register_functions(con, settings)
    built = []
    # One transaction for the whole build: one commit instead of one per model (0.2 of the
    # example's 1.2 s), and a model that fails leaves the last build's tables as they were.
    with one_commit(con):
        # The alerts' ASOF join (each member on the roster with their last meeting up to as_of) as a
        # merge, never as DuckDB's nested loop for a "small" roster: tables built in this transaction
        # have rough statistics (a 100x coalition's 8,115 roster rows estimated at 50), and the loop
        # then paired them with every meeting (2.5 million rows, 5.1 s instead of 0.2 s).
        con.execute("set asof_loop_join_threshold = 0")
        con.execute((TRANSFORMS_DIR / "macros.sql").read_text())
        if "lineage" not in layers:
            con.execute("drop schema if exists lineage cascade")
        con.execute("create schema if not exists lineage")
        kinds = dict(con.execute(
            """select schema_name || '.' || table_name, 'table' from duckdb_tables()
               where database_name = current_database()
               union all select schema_name || '.' || view_name, 'view' from duckdb_views()
               where database_name = current_database() and not internal""").fetchall())
        for name, path in model_files(layers):
            text = path.read_text()
            kind = "view" if VIEW_MARK.search(text) else "table"
            sql = text.strip().rstrip(";")
            if before_each is not None:
                before_each()
            try:
                if kinds.get(name, kind) != kind:  # built as the other kind by an earlier version
                    con.execute(f"drop {kinds[name]} {name}")
                con.execute(f"create or replace {kind} {name} as\n{sql}")
            except Exception as exc:
                raise RuntimeError(f"transforms/{path.parent.name}/{path.name} failed: {exc}") from exc
            built.append(name)
        check_registry(con)
    return built


def lineage_limit_note(con, settings) -> str:
    """"" when the lineage tables may be built with the figures, else why not: the loaded coalition's
    sheet rows (every raw tab's records; a grid attendance's marked cells) times its reporting
    quarters (ref.quarters) exceed [output] lineage_max_row_quarters (0: no limit). Each such
    row-quarter is 4-6 listed rows (a row is listed in every quarter, counted or left out), so the
    listings grow with rows x quarters while the figures grow with rows."""
    limit = settings.lineage_max_row_quarters
    if not limit:
        return ""
    tables = [name for (name,) in con.execute(
        """select table_name from duckdb_tables()
           where database_name = current_database() and schema_name = 'raw' order by table_name""").fetchall()]
    counts = " union all ".join(f'select count(*) from raw."{name}"' for name in tables) or "select 0"
    ((rows,),) = con.execute(f"select coalesce(sum(n), 0)::bigint from ({counts}) as c(n)").fetchall()
    ((quarters,),) = con.execute("select count(*) from ref.quarters").fetchall()
    if rows * quarters <= limit:
        return ""
    return (f"explain's row listings (lineage) were not built: {rows:,} sheet rows x {quarters} quarters = "
            f"{rows * quarters:,} is above [output] lineage_max_row_quarters ({limit:,}). `coalition explain` "
            f"lists a figure's rows by replaying this run when asked, which takes as long as the listings would "
            f"have; lineage_max_row_quarters = 0 builds them with every run.")


def check_registry(con) -> None:
    """Every metric the SQL computes is in the registry: an unregistered one would silently never
    be published. (A registered metric may have no rows, e.g. goal_progress with no goals; the
    example's test checks that every registered metric is computed.)"""
    computed = {m for (m,) in con.execute("select distinct metric_id from marts.metric_values").fetchall()}
    registered = {m for (m,) in con.execute("select metric_id from ref.metrics").fetchall()}
    if computed - registered:
        raise RuntimeError(
            "transforms: marts/metric_values.sql computes metrics that transforms/metrics.yml does not "
            f"register: {sorted(computed - registered)}"
        )


def _strip_comments(sql: str) -> str:
    return re.sub(r"--[^\n]*", "", sql)
