"""One DuckDB pass for several coalitions (coalition_db.build_portfolio_database) computes each coalition
exactly as a build of that coalition alone: every staging, marts and lineage table seen through
coalition_view equals, row for row, the same table of the coalition's single build. The portfolio:
the example as 'a' (fiscal year from July, small_n 3) and as 'b' (small_n 8), and the Wilder example
as 'c' (another instrument with labelled answers, on the same members and meetings). The three share
member, meeting and task ids, so any join, group or window missing coalition_id mixes them (e.g.
expected_attendance pairing a's meetings with b's members doubles every count)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest

from coalition_metrics.coalition_db import build_portfolio_database, coalition_view
from coalition_metrics.config import load_settings
from coalition_metrics.errors import ConfigError
from coalition_metrics.pipeline import build_database, extract
from coalition_metrics.plan import plan_run
from coalition_metrics.snapshot import take_snapshot
from coalition_metrics.validate import validate_snapshot

ROOT = Path(__file__).resolve().parent.parent
TODAY = date(2026, 11, 24)


def coalitions():
    example = load_settings(None, environ={})
    wilder = load_settings(ROOT / "examples" / "wilder" / "coalition.toml", environ={})
    return [
        example.with_overrides(coalition={"id": "a"}, quarters={"fiscal_year_start_month": 7}, metrics={"small_n": 3}),
        example.with_overrides(coalition={"id": "b"}, metrics={"small_n": 8}),
        wilder.with_overrides(coalition={"id": "c"}),
    ]


def prepare(settings, tmp: Path):
    out = tmp / settings.coalition_id
    snap = take_snapshot(extract(settings), out / "snapshots", TODAY)
    validation = validate_snapshot(snap.tabs, settings, TODAY)
    plan = plan_run(settings, None, TODAY, out)  # the last completed quarter, in the coalition's own labels
    return settings, plan, snap, validation


def tables(con) -> list[str]:
    rows = con.execute("""select schema_name || '.' || view_name from duckdb_views()
                          where database_name = current_database()
                            and schema_name in ('staging', 'marts', 'lineage') order by 1""").fetchall()
    return [r[0] for r in rows]


def contents(con, name: str):
    cur = con.execute(f"select * from {name}")
    columns = [d[0] for d in cur.description]
    rows = sorted(cur.fetchall(), key=lambda r: tuple((v is None, str(v)) for v in r))
    return columns, rows


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("portfolio")
    entries = [prepare(s, tmp) for s in coalitions()]
    build_portfolio_database(entries, tmp / "portfolio.duckdb")
    for entry in entries:
        _, plan, snap, validation = entry
        build_database(snap, validation, plan, lineage=False)  # alone, as a single run builds its figures
    return tmp, entries


def test_every_table_of_each_coalition_equals_its_single_build(built):
    tmp, entries = built
    portfolio = coalition_view(tmp / "portfolio.duckdb", "a")
    view = portfolio.con
    try:
        for settings, plan, _, _ in entries:
            cid = settings.coalition_id
            portfolio.switch(cid)  # the views stay, the variable changes
            with coalition_view(plan.db_path, cid) as single:
                names = tables(single)
                assert len(names) >= 30 and "marts.published_metrics" in names
                assert tables(view) == names
                for name in names:
                    got, want = contents(view, name), contents(single, name)
                    assert got[0] == want[0], f"{cid} {name}: columns differ"
                    assert got[1] == want[1], f"{cid} {name}: rows differ"
                assert single.execute("select count(*) from marts.published_metrics").fetchone()[0] > 100
    finally:
        portfolio.close()


def test_the_coalitions_differ_where_their_settings_do(built):
    tmp, _ = built
    view = coalition_view(tmp / "portfolio.duckdb", "a")
    try:
        con = view.con
        fiscal = [q for (q,) in con.execute("select quarter from ref.quarters order by seq").fetchall()]
        assert fiscal[-1] == "FY2027-Q1" and all(q.startswith("FY") for q in fiscal)
        assert con.execute("select small_n from ref.params").fetchall() == [(3,)]
        assert "coalition_id" not in [d[0] for d in con.execute("select * from marts.published_metrics").description]
        view.switch("b")
        assert con.execute("select small_n from ref.params").fetchall() == [(8,)]
        assert con.execute("select max(quarter) from ref.quarters").fetchone()[0] == "2026-Q3"
        b_items = {i for (i,) in con.execute("select item from ref.survey_items").fetchall()}
        view.switch("c")
        c_items = {i for (i,) in con.execute("select item from ref.survey_items").fetchall()}
        assert "equal_say" in c_items and not b_items & c_items
        # Wilder's answers are labels ("Strongly agree"), read by c's instrument only
        n = con.execute("select count(*) from staging.stg_survey_answers where item = 'equal_say'").fetchone()[0]
        assert n > 0
        # the same published figure under b's small_n 8 and c's: each coalition's own
        assert con.execute("select count(distinct coalition_id) from db.marts.published_metrics").fetchone()[0] == 3
        assert con.execute("select count(*) from db.ref.build").fetchone()[0] == 3
    finally:
        view.close()
    # the raw database itself: every per-coalition table has coalition_id first
    con = duckdb.connect(str(tmp / "portfolio.duckdb"), read_only=True)
    try:
        firsts = con.execute("""select t.schema_name || '.' || t.table_name, c.column_name
                                from duckdb_tables() t join duckdb_columns() c using (schema_name, table_name)
                                where c.column_index = 1 and t.schema_name in
                                      ('raw', 'quarantine', 'staging', 'marts', 'lineage')""").fetchall()
        assert len(firsts) >= 35 and all(col == "coalition_id" for _, col in firsts), firsts
    finally:
        con.close()


def test_a_connection_view_restores_the_connection(built):
    tmp, entries = built
    con = duckdb.connect(str(entries[1][1].db_path), read_only=True)
    try:
        with coalition_view(con, "b") as view:
            assert view is con
            assert "coalition_id" not in [d[0] for d in view.execute("select * from marts.roster_by_quarter").description]
        assert con.execute("select distinct coalition_id from marts.roster_by_quarter").fetchall() == [("b",)]
    finally:
        con.close()


@pytest.mark.parametrize("bad", ["", "Riverside", "-x", "a" * 41, "a b", "ä"])
def test_a_bad_coalition_id_is_a_config_error_naming_it(bad):
    with pytest.raises(ConfigError, match=r"\[coalition\] id"):
        load_settings(None, environ={}).with_overrides(coalition={"id": bad})


def test_parts_whose_column_types_differ_are_refused(tmp_path):
    """Parts are put together by column name; a column typed differently in two parts would be cast
    to a common type (numbers compared as text): the build refuses it with a message instead."""
    import duckdb

    from coalition_metrics.coalition_db import _tables_from_parts
    from coalition_metrics.errors import CoalitionError

    parts = []
    for i, kind in enumerate(("double", "varchar")):
        path = tmp_path / f"part{i}.duckdb"
        con = duckdb.connect(str(path))
        con.execute("create schema parsed")
        con.execute(f"create table parsed.survey as select 'c{i}' as coalition_id, 4::{kind} as score")
        con.close()
        parts.append(path)
    target = duckdb.connect(str(tmp_path / "portfolio.duckdb"))
    target.execute("create schema parsed")
    with pytest.raises(CoalitionError, match=r"parsed\.survey\.score different types \((DOUBLE / VARCHAR|VARCHAR / DOUBLE)\)"):
        _tables_from_parts(target, parts, ["c0", "c1"])


def test_a_text_column_of_one_value_is_written_as_that_value():
    """load._replace_table writes a column holding one text (or null) in every row as a parameter,
    not cell by cell: the table is the same as the frame, types and nulls included."""
    import duckdb
    import pandas as pd

    from coalition_metrics.load import _constant_text_columns, _replace_table

    frame = pd.DataFrame({"coalition_id": ["c1"] * 4, "cell": ["x", None, "x", "y"], "blank": [None] * 4,
                          "day": [None] * 4, "n": [1, 2, 3, 4], "same_but_one": ["a", "a", "a", "b"]})
    assert _constant_text_columns(frame) == {"coalition_id": "c1", "blank": None, "day": None}
    con = duckdb.connect()
    _replace_table(con, "t", frame, {"day": "date", "n": "integer"})
    assert con.execute("select * from t order by n").fetchall() == [
        ("c1", "x", None, None, 1, "a"), ("c1", None, None, None, 2, "a"), ("c1", "x", None, None, 3, "a"),
        ("c1", "y", None, None, 4, "b")]
    assert [r[1] for r in con.execute("describe t").fetchall()] == ["VARCHAR", "VARCHAR", "VARCHAR", "DATE", "INTEGER",
                                                                     "VARCHAR"]
    _replace_table(con, "only_constants", frame[["coalition_id", "blank"]], {})
    assert con.execute("select count(*), min(coalition_id), max(blank) from only_constants").fetchall() == [(4, "c1", None)]


def test_coalitions_tables_are_joined_column_by_column_with_every_blank_as_null():
    """concat_tables: columns in first-seen order, a column one coalition lacks is null there, every
    missing value (None, NaN, NaT, a pandas string column's NaN) is None, and every column is
    object-typed, so DuckDB reads each as the table's declared type."""
    import numpy as np
    import pandas as pd

    from coalition_metrics.load import concat_tables

    a = pd.DataFrame({"coalition_id": ["a", "a"], "sheet_row": [2, 3], "when": pd.to_datetime(["2026-01-05", None]),
                      "name": pd.Series(["x", None], dtype="str"), "value": [1.5, np.nan]})
    b = pd.DataFrame({"coalition_id": ["b"], "sheet_row": [2], "name": ["y"], "item_q9": [4.0]})
    merged = concat_tables([{"raw.t": (a, {"sheet_row": "integer"})}, {"raw.t": (b, {"value": "double"})}])
    frame, types = merged["raw.t"]
    assert types == {"sheet_row": "integer", "value": "double"}
    assert list(frame.columns) == ["coalition_id", "sheet_row", "when", "name", "value", "item_q9"]
    assert (frame.dtypes == object).all()
    assert frame.to_dict("list") == {
        "coalition_id": ["a", "a", "b"], "sheet_row": [2, 3, 2],
        "when": [pd.Timestamp("2026-01-05"), None, None], "name": ["x", None, "y"],
        "value": [1.5, None, None], "item_q9": [None, None, 4.0]}
    assert [type(v) for v in frame["sheet_row"]] == [int, int, int]
    con = duckdb.connect()
    con.execute("create schema raw")
    from coalition_metrics.load import write_tables

    write_tables(con, merged)
    assert con.execute("select sheet_row, \"when\"::varchar, name, value, item_q9 from raw.t").fetchall() == [
        (2, "2026-01-05 00:00:00", "x", 1.5, None), (3, None, None, None, None), (2, None, "y", None, "4.0")]


def test_a_portfolios_unframed_tables_join_to_the_same_cells_as_framed_ones(tmp_path):
    """coalition_tables joins each coalition's raw, parsed and ref tables as Columns (snapshot_frames
    and reference_frames with framed=False), never framing them one by one: the joined tables hold
    the same columns, values and Python types as joining the frames a single run writes. The coalitions: the example, the
    Wilder example (labelled answers, another instrument) and the example with its attendance as a
    grid (one record per marked cell, sheet_column set) and an empty optional tab."""
    import shutil

    from coalition_metrics.load import concat_tables, reference_frames, snapshot_frames
    from coalition_metrics.pipeline import first_quarter

    grid_dir = tmp_path / "grid"
    shutil.copytree(ROOT / "examples" / "riverside" / "csv", grid_dir)
    (grid_dir / "attendance.csv").write_text("member_id,WC-2024-10-01,MC-2024-10-03\nM01,P,A\nM02,E,\nM03,,P\n")
    (grid_dir / "milestones.csv").write_text((grid_dir / "milestones.csv").read_text().splitlines()[0] + "\n")
    settings = [*coalitions(), load_settings(None, environ={}).with_overrides(
        coalition={"id": "g"}, source={"location": str(grid_dir)})]
    entries = [prepare(s, tmp_path) for s in settings]
    assert entries[3][3].tabs["attendance"].form == "grid"

    def joined(framed: bool):
        return concat_tables([{**snapshot_frames(snap, validation, s, framed=framed),
                               **reference_frames(s, plan.quarter, plan.as_of, first_quarter(validation, s), framed)}
                              for s, plan, snap, validation in entries])

    want, got = joined(True), joined(False)
    assert list(got) == list(want) and "parsed.survey_answers" in got and "ref.survey_scale_bands" in got
    for name, (frame, types) in want.items():
        other, other_types = got[name]
        assert other_types == types, name
        assert list(other.columns) == list(frame.columns), name
        for column in frame.columns:
            cells = [(type(v).__name__, v) for v in frame[column]]
            assert [(type(v).__name__, v) for v in other[column]] == cells, f"{name}.{column}"
    raw = got["raw.attendance"][0]
    grid_rows = raw[raw["coalition_id"] == "g"]
    assert sorted(grid_rows["sheet_column"].dropna().unique()) == ["MC-2024-10-03", "WC-2024-10-01"]
    assert len(grid_rows) == 4 and len(raw) > 1000
