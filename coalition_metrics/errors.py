"""Errors a person can act on. The CLI prints their message (one paragraph) and no traceback."""

from __future__ import annotations


class CoalitionError(Exception):
    """Base class: the message says what went wrong and what to do about it."""

    exit_code = 2


class ConfigError(CoalitionError):
    """The configuration file is missing, malformed or names an unknown setting."""


class SourceError(CoalitionError):
    """The source (Google Sheet, workbook or CSV folder) could not be read."""


class TransientSourceError(SourceError):
    """An outage (HTTP 408/429/5xx, timeouts, dropped connections) that outlasted the client's own
    retries: worth retrying the extract later, unlike a sharing or credentials problem."""


class BlockingValidationError(CoalitionError):
    """A tab failed a blocking expectation: nothing is published."""

    def __init__(self, problems: list[str], result=None):
        self.problems = problems
        self.result = result  # the ValidationResult so far, when row checks ran (for `coalition validate`)
        text = "Validation stopped the run; nothing was published.\n" + "\n".join(
            f"- {p}" for p in problems
        )
        super().__init__(text)


class RunTimedOut(CoalitionError):
    """The run went past [orchestration] flow_timeout_seconds; it stopped between two stages."""


class SnapshotError(CoalitionError):
    """A snapshot or run to replay could not be found or does not match its hash."""
