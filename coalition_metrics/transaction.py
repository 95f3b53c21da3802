"""One commit for several DuckDB statements: the one place a block of them becomes a transaction."""

from __future__ import annotations

from contextlib import contextmanager


@contextmanager
def one_commit(con):
    """The block's statements on ``con`` as one transaction: one commit (each costs a few ms on this
    project's machines, which a portfolio pays per coalition), and none of them kept if one fails.
    A rollback that fails too (DuckDB refuses everything after a full disk) does not hide the
    block's own error."""
    con.begin()
    try:
        yield con
    except BaseException:
        try:
            con.rollback()
        except Exception:
            pass
        raise
    con.commit()
