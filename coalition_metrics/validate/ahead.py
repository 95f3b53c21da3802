"""Validation ahead of Great Expectations' answer, checked by it before anything is published.

A command that validates while Great Expectations still imports in its own process (gx_process)
used to wait for it: on the example, the run's process sat idle for 1.5-2 s, then loaded and
built the database for about 1 s. Here the run goes on at once:

- each stacked call of the suites (suites.run_suites) is answered by ``predict``: the pandas
  operations Great Expectations' pandas engine applies for the expectation types the suites declare
  (null, not null, in set, between, column A greater than B), on the same stacked frame, giving the
  same failing rows in the same order; the call and its predicted answer are kept;
- a thread sends each kept call to Great Expectations' process as it is made, so that process
  answers while the validation goes on (a refuted answer stops the validation at its next call),
  and the run loads and builds its database from that validation meanwhile;
- once the build has committed (pipeline.build_database), every answer is compared with the
  prediction, before the run publishes anything. Equal answers make an equal validation
  (everything after the suites is computed from their answers alone), so the build stands. Any
  difference, or an error, and the run validates again with Great Expectations' answers and builds
  again (pipeline.run_stages), or stops if they block it; the refuted build is then recorded as
  that run's, which explain never reads for a published run. Great Expectations decides every row;
  the prediction only lets the build start before its answer comes.

A call the prediction does not cover (another expectation type or argument, values it cannot
compare) is answered by Great Expectations at once, as without this, and so is every later call of
the validation. The kept calls' frames go to Great Expectations' process whatever their size
(gx_process.MAX_CELLS is for a caller that waits on the answer).
"""

from __future__ import annotations

import threading
from datetime import date
from typing import Any, Callable

from . import gx_process


class Unpredicted(Exception):
    """The prediction does not cover this call: Great Expectations answers it."""


class PredictionMissed(Exception):
    """Great Expectations' answer differs from the predicted one the build started from (or it could
    not be had): the build is not recorded, and the run validates and builds again."""


def predict(stacked, specs: list[tuple]) -> list[tuple[int, None, list[int]]]:
    """What gx_process.validate_stacked answers for ``specs`` on ``stacked``: for each expectation,
    (its meta "stack", None, the "stacked" values of its failing rows in row order). Raises
    Unpredicted for anything it does not cover."""
    stacked_ids = stacked["stacked"].to_numpy()
    out = []
    for kind, kwargs, meta in specs:
        rule = _RULES.get(kind)
        if rule is None or not set(kwargs) <= _ARGUMENTS[kind]:
            raise Unpredicted(kind)
        try:
            failing = rule(stacked, **_as_configured(kwargs))
        except Unpredicted:
            raise
        except Exception as exc:  # Great Expectations would report the exception: let it
            raise Unpredicted(f"{kind}: {exc!r}") from None
        out.append((meta["stack"], None, [int(v) for v in stacked_ids[failing]]))
    return out


# The arguments each covered expectation type may have (Great Expectations' own for these types,
# less those that change which rows fail in ways not mirrored here: row_condition and the like).
_ARGUMENTS = {
    "expect_column_values_to_not_be_null": {"column", "mostly"},
    "expect_column_values_to_be_null": {"column", "mostly"},
    "expect_column_values_to_be_in_set": {"column", "value_set", "mostly"},
    "expect_column_values_to_be_between": {"column", "min_value", "max_value", "strict_min", "strict_max", "mostly"},
    "expect_column_pair_values_a_to_be_greater_than_b": {"column_A", "column_B", "or_equal", "ignore_row_if",
                                                         "mostly"},
}


def _as_configured(kwargs: dict) -> dict:
    """The arguments as Great Expectations' expectation models hold them (they coerce some: a bound
    1 becomes 1.0, a bound "2020-01-01" a date), less "mostly", which changes no failing row;
    Unpredicted for a value those models would change otherwise or refuse."""
    out = {}
    for key, value in kwargs.items():
        if key == "mostly":
            if type(value) not in (int, float) or not 0 <= value <= 1:
                raise Unpredicted("mostly")
            continue
        if key in ("min_value", "max_value"):
            if type(value) in (int, float):
                value = float(value)
            elif value is not None and not isinstance(value, date):  # date or datetime: kept as they are
                raise Unpredicted(f"a bound {value!r}")
        elif key in ("strict_min", "strict_max") and type(value) is not bool:
            raise Unpredicted(key)
        elif key == "or_equal" and value is not None and type(value) is not bool:
            raise Unpredicted(key)
        out[key] = value
    return out


def _mask(frame, kept, meets):
    """Rows of ``frame`` failing: those of the ``kept`` domain whose ``meets`` is False (a boolean
    Series over the kept rows, as Great Expectations' condition is)."""
    import numpy as np

    if len(meets) and meets.dtype != bool:
        raise Unpredicted("a condition that is not true/false")
    failing = np.zeros(len(frame), dtype=bool)
    failing[kept.to_numpy()] = ~meets.to_numpy(dtype=bool)
    return failing


def _not_null(frame, column):
    return frame[column].isnull().to_numpy()


def _null(frame, column):
    return frame[column].notnull().to_numpy()


def _in_set(frame, column, value_set):
    values = frame[column]
    kept = values.notnull()  # blanks are not checked (Great Expectations' filter_column_isnull)
    if not isinstance(value_set, list):
        raise Unpredicted("a value set that is not a list")  # Great Expectations refuses None
    return _mask(frame, kept, values[kept].isin(value_set))


def _between(frame, column, min_value=None, max_value=None, strict_min=None, strict_max=None):
    import pandas as pd

    values = frame[column]
    kept = values.notnull()
    column_values = values[kept]
    if min_value is None and max_value is None:
        raise Unpredicted("between without bounds")
    if min_value is not None and max_value is not None and min_value > max_value:
        raise Unpredicted("between with min above max")
    if column_values.dtype in [int, float] or isinstance(column_values.dtype, pd.DatetimeTZDtype) \
            or pd.api.types.is_datetime64_ns_dtype(column_values.dtype):
        if isinstance(min_value, str) or isinstance(max_value, str):
            raise Unpredicted("a bound as text on numbers or datetimes")  # GX parses it as a date
        meets = _compare(column_values, min_value, max_value, strict_min, strict_max)
    else:
        def is_between(val):  # Great Expectations' value-by-value check, as written there
            for bound in (min_value, max_value):
                if bound is not None and isinstance(val, str) != isinstance(bound, str):
                    raise Unpredicted("text compared with a bound that is not")
            return _compare(val, min_value, max_value, strict_min, strict_max)

        if not len(column_values):
            return _mask(frame, kept, column_values.astype(bool))
        meets = column_values.map(is_between)
    return _mask(frame, kept, meets)


def _compare(values, min_value, max_value, strict_min, strict_max):
    """Great Expectations' comparisons with the bounds given (values: a Series, or one value)."""
    if min_value is None:
        return values < max_value if strict_max else values <= max_value
    above = values > min_value if strict_min else values >= min_value
    if max_value is None:
        return above
    return above & (values < max_value if strict_max else values <= max_value)


def _a_greater_than_b(frame, column_A, column_B, or_equal=None,  # noqa: N803 (GX's argument names)
                      ignore_row_if="both_values_are_missing"):
    import pandas as pd

    a, b = frame[column_A], frame[column_B]
    if ignore_row_if == "both_values_are_missing":
        kept = ~(a.isnull() & b.isnull())
    elif ignore_row_if == "either_value_is_missing":
        kept = ~(a.isnull() | b.isnull())
    elif ignore_row_if == "neither":
        kept = pd.Series(True, index=frame.index)
    else:
        raise Unpredicted(f"ignore_row_if {ignore_row_if!r}")
    a, b = a[kept], b[kept]
    return _mask(frame, kept, a >= b if or_equal else a > b)


_RULES: dict[str, Callable] = {
    "expect_column_values_to_not_be_null": _not_null,
    "expect_column_values_to_be_null": _null,
    "expect_column_values_to_be_in_set": _in_set,
    "expect_column_values_to_be_between": _between,
    "expect_column_pair_values_a_to_be_greater_than_b": _a_greater_than_b,
}


class Ahead:
    """The ``check`` of one validation made ahead of Great Expectations (see the module docstring):
    call it as gx_process.validate_stacked; then ``start()`` once the validation is done, and
    ``agreed()`` before keeping anything made from it."""

    def __init__(self):
        self.kept: list[tuple[Any, list, str, list]] = []  # not yet answered: (stacked, specs, name, predicted)
        self.predicted = 0  # calls answered by the prediction
        self.given_up = False
        self._closed = False  # no more calls: the validation is done or has given up
        self._more = threading.Condition()
        self._thread: threading.Thread | None = None
        self._agreed: bool | None = None
        self._while_waiting: Callable[[], Any] | None = None

    def __call__(self, stacked, specs: list[tuple], name: str) -> list[tuple]:
        if self._agreed is False:  # a kept call was refuted meanwhile: this validation is not kept
            raise PredictionMissed("Great Expectations' answers differ from the predicted ones")
        if not self.given_up:
            try:
                answer = predict(stacked, specs)
            except Unpredicted:
                pass
            else:
                with self._more:
                    self.kept.append((stacked, specs, name, answer))
                    self.predicted += 1
                    self._more.notify()
                if self._thread is None and gx_process.running():
                    self._answer_in_background()
                return answer
            # Great Expectations answers this call and every later one; the kept calls first, while
            # its process surely runs (this call's frame may be too large to send: that stops it)
            self.given_up = True
            self._agreed = self._wait()
            if not self._agreed:  # this call's frame came from a refuted prediction: validate anew
                raise PredictionMissed("Great Expectations' answers differ from the predicted ones")
        return gx_process.validate_stacked(stacked, specs, name)

    def _answer_in_background(self) -> None:
        """A thread sends each kept call to Great Expectations' process as it is made, so that process
        answers while this one still validates (at 1000x, 3.5 s of its answers in the 7 s it
        otherwise idled), and compares the answers with the predictions."""
        self._while_waiting = gx_process.take_while_waiting()  # run here, while the thread waits
        self._thread = threading.Thread(target=self._background, name="coalition-gx-check", daemon=True)
        self._thread.start()

    def start(self) -> None:
        """The validation is done: Great Expectations answers the rest of the kept calls in the
        background while its process runs (the thread that answers them as they came), else here,
        now."""
        if self._agreed is not None and self._thread is None:  # answered when the prediction gave up
            return
        self._close()
        if self._thread is not None:
            return
        if not self.kept:  # nothing predicted (a blocking problem before any suite ran)
            self._agreed = True
        elif gx_process.running():
            self._answer_in_background()
        else:
            self._agreed = self._check()

    @property
    def answering(self) -> bool:
        """True while Great Expectations' process answers the kept calls in the background."""
        return self._thread is not None and self._thread.is_alive()

    def _close(self) -> None:
        with self._more:
            self._closed = True
            self._more.notify()

    def _background(self) -> None:
        self._agreed = self._check()

    def _check(self) -> bool:
        """Great Expectations' answer to each kept call, in the order made, compared with the
        prediction, until the validation is done and every call answered (False at the first
        difference). A frame of any size goes to its process (pickled, a 5-million-row frame takes
        about 0.1 s: nothing here waits for it), and each is let go once answered."""
        try:
            while True:
                with self._more:
                    while not self.kept and not self._closed:
                        self._more.wait()
                    if not self.kept:
                        return True
                    stacked, specs, name, predicted = self.kept.pop(0)
                if gx_process.validate_stacked(stacked, specs, name, any_size=True) != predicted:
                    return False
        except Exception:  # the run validates again with Great Expectations, which reports it
            return False

    def _wait(self) -> bool:
        """Every kept call answered (by the thread, or here when there is none): True when each
        answer is the predicted one."""
        self._close()
        if self._thread is None:
            return self._check()
        self._thread.join()
        self._thread = None
        return bool(self._agreed)

    def agreed(self) -> bool:
        """Wait for Great Expectations' answers; True when each is the predicted one."""
        if self._thread is None and self._agreed is None:
            self.start()
        if self._thread is not None:
            self._close()
            waiting, self._while_waiting = self._while_waiting, None
            if waiting is not None and self._thread.is_alive():
                try:
                    waiting()  # the run's later imports, while Great Expectations answers
                except Exception:
                    pass  # only a head start: the stage that needs them imports them and reports
            self._thread.join()
            self._thread = None
        self.kept = []  # the stacked frames are no longer needed
        return bool(self._agreed)
