"""Modules imported on first use instead of at ``import``.

Great Expectations imports altair and scipy.stats when it starts (for its KL-divergence and KS-test
expectations, which no suite here declares), about 1.9 of its 4-5 s of import here. ``defer``
puts a stand-in module in ``sys.modules`` under such a name: ``import altair`` and
``from scipy import stats`` then bind the stand-in, and the first attribute read from it
(``stats.t``, ``alt.Chart``) imports the real module, puts it back in ``sys.modules`` and hands
the attribute over. Code that uses the module sees no difference; code that never does never
pays for it. A module already imported is left alone.

``left_out`` goes further for the length of a block: a name is not importable at all (Great
Expectations then imports without its SQL and Google backends, which it guards; suites.gx_context).
"""

from __future__ import annotations

import importlib
import sys
import threading
import types
from contextlib import contextmanager

_LOCK = threading.RLock()


class DeferredModule(types.ModuleType):
    """Stands in for a module until an attribute is read from it."""

    def __init__(self, name: str):
        super().__init__(name)
        # A spec of None tells the import system the module is loaded, so ``import name`` binds this
        # object as it is, without reading any other attribute of it.
        self.__spec__ = None

    def __getattr__(self, attr: str):
        real = self.__dict__.get("_loaded") or self._real()
        return getattr(real, attr)

    def _real(self):
        name = self.__name__
        with _LOCK:
            if sys.modules.get(name) is self:
                del sys.modules[name]
            real = importlib.import_module(name)
        # later reads go straight to the real module
        self.__dict__["_loaded"] = real
        return real

    def __dir__(self):
        return dir(self._real())


def defer(*names: str) -> None:
    """Import each named module on first use (see the module docstring); a module already in
    ``sys.modules`` (imported, or deferred before) is left as it is."""
    with _LOCK:
        for name in names:
            if name not in sys.modules:
                sys.modules[name] = DeferredModule(name)


def is_loaded(name: str) -> bool:
    """True when the real module ``name`` has been imported (a stand-in does not count)."""
    return name in sys.modules and not isinstance(sys.modules[name], DeferredModule)


@contextmanager
def left_out(names: tuple[str, ...]):
    """Within the block, ``import name`` raises ImportError for each of ``names`` not imported yet;
    after it they import as usual (Prefect, a Google Sheet's extract). A name already imported (a
    Prefect flow's sqlalchemy) is left as it is. Only in a process whose one Python thread is this
    one (the command's, Great Expectations' own, a portfolio's worker): where other threads run (a
    Dask worker with several, google-auth's background thread), one of them may import a name in
    the meantime, and nothing is left out."""
    if threading.active_count() > 1:
        yield
        return
    blocked = [name for name in names if name not in sys.modules]
    for name in blocked:
        sys.modules[name] = None
    try:
        yield
    finally:
        for name in blocked:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]
