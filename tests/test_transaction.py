"""transaction.one_commit: one commit for a block; a block inside another on the same connection
joins it (pipeline.build_database makes a whole build one transaction around run_models' own)."""

from __future__ import annotations

import duckdb
import pytest

from coalition_metrics.transaction import one_commit


def rows(con) -> list[int]:
    return [r[0] for r in con.execute("select x from t order by x").fetchall()]


def test_a_block_inside_another_commits_and_rolls_back_with_it(tmp_path):
    con = duckdb.connect(str(tmp_path / "db.duckdb"))
    con.execute("create table t (x int)")
    with pytest.raises(RuntimeError, match="outer fails"):
        with one_commit(con):
            con.execute("insert into t values (1)")
            with one_commit(con):  # joined: no commit of its own
                con.execute("insert into t values (2)")
            assert rows(con) == [1, 2]
            raise RuntimeError("outer fails")
    assert rows(con) == []  # the inner block's row went with the outer's

    with one_commit(con):
        con.execute("insert into t values (3)")
        with one_commit(con):
            con.execute("insert into t values (4)")
    assert rows(con) == [3, 4]

    with pytest.raises(RuntimeError, match="inner fails"):
        with one_commit(con):
            con.execute("insert into t values (5)")
            with one_commit(con):
                con.execute("insert into t values (6)")
                raise RuntimeError("inner fails")
    assert rows(con) == [3, 4]

    with one_commit(con):  # the connection is free again: a block of its own commits
        con.execute("insert into t values (7)")
    con.close()
    con = duckdb.connect(str(tmp_path / "db.duckdb"), read_only=True)
    assert rows(con) == [3, 4, 7]
    con.close()


def test_blocks_on_two_connections_are_their_own(tmp_path):
    a = duckdb.connect(str(tmp_path / "a.duckdb"))
    b = duckdb.connect(str(tmp_path / "b.duckdb"))
    for con in (a, b):
        con.execute("create table t (x int)")
    with pytest.raises(RuntimeError):
        with one_commit(a):
            a.execute("insert into t values (1)")
            with one_commit(b):  # another connection: its own transaction, committed
                b.execute("insert into t values (2)")
            raise RuntimeError("a fails")
    assert rows(a) == [] and rows(b) == [2]
