"""One commit for several DuckDB statements: the one place a block of them becomes a transaction."""

from __future__ import annotations

import threading
from contextlib import contextmanager

_open: set[int] = set()  # the connections (by id) inside a one_commit block
_open_lock = threading.Lock()


@contextmanager
def one_commit(con):
    """The block's statements on ``con`` as one transaction: one commit (each costs a few ms on this
    project's machines, which a portfolio pays per coalition), and none of them kept if one fails.
    A rollback that fails too (DuckDB refuses everything after a full disk) does not hide the
    block's own error. A block inside another on the same connection joins it: its statements are
    committed, or rolled back, with the outer block's (a whole build, pipeline.build_database)."""
    key = id(con)
    with _open_lock:
        joined = key in _open
        if not joined:
            _open.add(key)
    if joined:
        yield con
        return
    try:
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
    finally:
        with _open_lock:
            _open.discard(key)
