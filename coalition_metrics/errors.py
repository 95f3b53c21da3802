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

    def __reduce__(self):  # pickled to and from a Dask worker: the problems, not the text, rebuild it
        return (type(self), (self.problems, self.result), dict(self.__dict__))


class RunTimedOut(CoalitionError):
    """The run went past [orchestration] flow_timeout_seconds; it stopped between two stages."""


class WriteBackError(CoalitionError):
    """The run is published, but its funder table could not be written to the Google Sheet (a sheet
    shared as Viewer only, an outage): exit status 3, and the runs table records it as failed.
    ``result`` is the published run (RunResult), when there is one."""

    exit_code = 3

    def __init__(self, message: str, result=None):
        super().__init__(message)
        self.result = result

    def __reduce__(self):  # a Prefect state may pickle it: keep the result (and any attribute, e.g. stage)
        return (type(self), (str(self), self.result), dict(self.__dict__))


class SnapshotError(CoalitionError):
    """A snapshot or run to replay could not be found or does not match its hash."""


class StorageError(CoalitionError):
    """A file or folder could not be written or read: a full disk, a read-only folder, a file where
    a folder belongs (or the other way round), a damaged database."""


def os_advice(exc: OSError) -> str:
    """What a person can do about an OS-level failure, chosen by its errno."""
    import errno
    import ssl

    # requests' errors are OSErrors too (IOError): a network request, not a file
    if (type(exc).__module__.split(".")[0] in ("requests", "urllib3", "http", "httpx")
            or isinstance(exc, (ConnectionError, TimeoutError, ssl.SSLError))):
        return ("This was a network request, not the disk: check the network (and the proxy, if one is set) "
                "and run again.")
    code = exc.errno
    if code in (errno.ENOSPC, errno.EDQUOT):
        return ("The disk is full (or your quota is used up): free some space, or point --out "
                "([output] folder) at a disk with room, and run again.")
    if code == errno.EFBIG:
        return ("A file grew past the size this process may write (a file-size limit, ulimit -f, or a "
                "full disk): raise the limit or free space, or point --out at another disk, and run again.")
    if code in (errno.EACCES, errno.EPERM, errno.EROFS):
        return ("This account may not write there (permissions, or a read-only disk): give a folder you "
                "can write with --out ([output] folder), or fix the folder's permissions, and run again.")
    if code == errno.EISDIR:
        return "A folder is where a file is expected: rename or move that folder, or give another path."
    if code in (errno.ENOTDIR, errno.EEXIST):
        return ("A file is where a folder is expected: rename or move that file, or give another path "
                "(--out takes a folder).")
    if code == errno.ENOENT:
        return "A file or folder is missing: check the path (it may have been moved or deleted) and run again."
    return "Check the path, the disk and its permissions, and run again."


def storage_error(exc: OSError, doing: str, name_file: bool = True) -> StorageError:
    """One paragraph for an OSError met while ``doing`` something ("Writing the snapshot to X");
    ``name_file=False`` leaves out the file the OS names (e.g. a temporary probe file)."""
    where = f" ({exc.filename})" if exc.filename and name_file else ""
    return StorageError(f"{doing} failed: {exc.strerror or exc}{where}. {os_advice(exc)}")
