"""Keyed reads: one query for several coalitions of a built database.

What a report reads by query (report_reads.py: its published figures, reports/published_data/; its
charts' rows, reports/chart_data/; its tables, reports/report_data/) are queries written with ``coalition_id`` in every join, group and order, over the database's own
tables (which carry it), for the coalitions of a temp table ``scope``: one row per coalition with
its report quarter and the two survey items its satisfaction chart names. A single run reads them
for its one coalition; a portfolio's publishing reads them once for a batch of coalitions instead
of once per coalition (a DuckDB query costs 5-20 ms to plan and start whatever its rows, which
made those reads a third of a portfolio coalition's publishing).

``con`` may be one coalition's view (coalition_db.coalition_view, whose readers see tables without
coalition_id) or a plain connection to a single run's database: the queries run on the database
itself (USE its catalog for the query, then back), where the models' macros are defined too.
"""

from __future__ import annotations

from typing import Any, Iterable

from .coalition_db import SOURCE_VARIABLE, VARIABLE as COALITION_VARIABLE


def current_coalition(con) -> str:
    """The coalition ``con`` shows: a view's, or the one coalition of a single run's database (an
    error on a database holding several: open it with coalition_db.coalition_view)."""
    cid = con.execute(f"select getvariable('{COALITION_VARIABLE}')").fetchone()[0]
    if cid is not None:
        return cid
    ids = [i for (i,) in con.execute("select distinct coalition_id from ref.params order by 1").fetchall()]
    if len(ids) != 1:
        raise ValueError(f"the database holds {len(ids)} coalitions ({', '.join(ids[:5])}); "
                         f"read one through coalition_db.coalition_view")
    return ids[0]


def keyed_rows(con, sql: str, scope: Iterable[dict[str, Any]], params: dict[str, Any] | None = None,
               views: dict[str, str] | None = None) -> dict[str, list[dict[str, Any]]]:
    """Rows of a keyed query (its first column coalition_id) for the coalitions of ``scope`` (dicts
    with coalition_id and, where the query uses them, quarter, first_item, second_item): coalition
    id -> its rows in the query's order, as dicts without coalition_id. Every coalition of ``scope``
    has an entry, empty when the query gave it no row. ``views``: temp views the query reads (name
    -> keyed SQL), defined over the same database first."""
    scope = list(scope)
    source, previous = con.execute(
        f"select coalesce(getvariable('{SOURCE_VARIABLE}'), current_database()), current_database()").fetchone()
    con.execute("""create or replace temp table scope as
                   select unnest($1::varchar[]) as coalition_id, unnest($2::varchar[]) as quarter,
                          unnest($3::varchar[]) as first_item, unnest($4::varchar[]) as second_item""",
                [[s.get(k) for s in scope] for k in ("coalition_id", "quarter", "first_item", "second_item")])
    out: dict[str, list[dict[str, Any]]] = {s["coalition_id"]: [] for s in scope}
    con.execute(f"use {_identifier(source)}")
    try:
        for name, view_sql in (views or {}).items():
            con.execute(f"create or replace temp view {_identifier(name)} as\n{view_sql}")
        cur = con.execute(sql, params or {})
        cols = [d[0] for d in cur.description]
        if cols[0] != "coalition_id":
            raise ValueError("a keyed query's first column is coalition_id")
        names = cols[1:]
        for row in cur.fetchall():
            out[row[0]].append(dict(zip(names, row[1:])))
    finally:
        con.execute(f"use {_identifier(previous)}")
        con.execute("drop table if exists temp.scope")
    return out


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
