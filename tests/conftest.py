import json
import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
# Tests never read a developer's own config or credentials.
for name in list(os.environ):
    if name.startswith("COALITION_") or name == "GOOGLE_APPLICATION_CREDENTIALS":
        del os.environ[name]
# The Google Sheets read budget outside Prefect is shared by the machine's processes through a file in
# the temporary folder (ratelimit.SharedTokenBucket): each test process, and the processes it starts
# (which import this file again), have a temporary folder of their own.
if "coalition-test-tmp-" not in os.environ.get("TMPDIR", ""):
    import tempfile

    os.environ["TMPDIR"] = tempfile.mkdtemp(prefix="coalition-test-tmp-")
    tempfile.tempdir = None  # gettempdir() reads TMPDIR again

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_CSV = ROOT / "examples" / "riverside" / "csv"
EXAMPLE_XLSX = ROOT / "examples" / "riverside" / "riverside.xlsx"


# Tests that never open a PDF publish without printing them ([output] pdf = false saves WeasyPrint's
# 5-6 s a run); example_run and the tests about PDFs print them.
NO_PDFS = {"pdf": False}


@pytest.fixture
def settings(tmp_path, monkeypatch):
    """The embedded defaults (the bundled example), with output under tmp_path and no PDFs."""
    from coalition_metrics.config import load_settings

    monkeypatch.chdir(tmp_path)
    return load_settings(None, environ={}).with_overrides(output={"folder": str(tmp_path / "out"), **NO_PDFS})


@pytest.fixture
def example_copy(tmp_path):
    """A writable copy of the example CSV folder, for tests that break it."""
    target = tmp_path / "sheet"
    shutil.copytree(EXAMPLE_CSV, target)
    return target


@pytest.fixture(scope="session")
def example_run(tmp_path_factory):
    """One run of the example's last full quarter (2026-Q3), shared by the read-only tests."""
    from coalition_metrics.config import load_settings
    from coalition_metrics.pipeline import run_quarterly

    out = tmp_path_factory.mktemp("example-run")
    s = load_settings(None, environ={})
    return run_quarterly(s, quarter="2026-Q3", out=out)


def copy_of_run(run, out: Path):
    """A writable copy of a published run's whole output folder (database with its runs table,
    snapshots, run folders) at ``out``, and that run as found in the copy: for tests that publish
    more runs beside it or damage it, instead of running the same pipeline again."""
    from coalition_metrics.plan import RunResult

    shutil.copytree(run.folder.parent.parent, out)
    folder = out / run.folder.relative_to(run.folder.parent.parent)
    return RunResult(run.run_id, run.quarter, folder, folder / run.report.name, run.manifest)


@pytest.fixture
def example_run_copy(tmp_path, example_run):
    """example_run's output folder copied to tmp_path/out (the settings fixture's output folder)."""
    return copy_of_run(example_run, tmp_path / "out")


SERVICE_EMAIL = "coalition-reader@riverside-metrics.iam.gserviceaccount.com"
TOKEN_URL = "https://oauth2.googleapis.com/token"


@pytest.fixture(scope="session")
def private_key_pem():
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


@pytest.fixture
def credentials_file(tmp_path, private_key_pem):
    path = tmp_path / "service-account.json"
    path.write_text(json.dumps({
        "type": "service_account", "project_id": "riverside-metrics", "private_key_id": "abc123",
        "private_key": private_key_pem, "client_email": SERVICE_EMAIL, "client_id": "1234567890",
        "token_uri": TOKEN_URL,
    }))
    return path


@pytest.fixture(autouse=True, scope="session")
def no_network_beyond_loopback():
    """Nothing may call out: a connection to anything but this machine fails the test loudly."""
    import socket

    real_connect = socket.socket.connect

    def guarded(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6):
            host = address[0]
            if not (host.startswith("127.") or host in ("::1", "localhost")):
                raise AssertionError(f"test tried to connect to {address}: nothing may call out")
        return real_connect(self, address)

    socket.socket.connect = guarded
    yield
    socket.socket.connect = real_connect


@pytest.fixture(scope="session")
def prefect_api(tmp_path_factory):
    """A real Prefect server on loopback (as `make server` starts it), shared by the session's
    tests that run flows on Dask workers: its API URL. Worker processes inherit PREFECT_API_URL
    from os.environ, so set it there (monkeypatch.setenv) before a cluster starts."""
    from coalition_metrics.prefect_server import LocalServer

    server = LocalServer(tmp_path_factory.mktemp("prefect-server") / "home").start()
    try:
        yield server.api_url
    finally:
        server.stop()


def drain_prefect_workers() -> None:
    """Send and stop this process's Prefect event and log workers. Prefect keeps ONE events worker
    per process for "a running server", whatever its URL (EventsWorker.instance keys it by client
    type only): a worker started against one server (the shared one below) and left running would
    carry the next server's events (a prefect_test_harness's) to the first, where they fail, and
    that flow's task runs would never be recorded. Every fixture that points this process at a
    server drains them when it ends, as prefect_test_harness does."""
    import inspect

    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker
    from prefect.utilities.asyncutils import run_coro_as_sync

    async def drain():
        try:
            result = APILogWorker.instance().drain()
            if inspect.isawaitable(result):
                await result
        except RuntimeError:  # not started
            pass
        result = EventsWorker.drain_all()
        if inspect.isawaitable(result):
            await result

    run_coro_as_sync(drain())


@pytest.fixture
def on_prefect_api(prefect_api, monkeypatch):
    """This process and any process it starts (Dask workers) talk to the shared real server."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    monkeypatch.setenv("PREFECT_API_URL", prefect_api)
    try:
        with temporary_settings({PREFECT_API_URL: prefect_api}):
            yield prefect_api
            drain_prefect_workers()  # still pointed at this server: what is queued goes to it
    finally:
        drain_prefect_workers()


@pytest.fixture(scope="module")
def prefect_harness():
    """A Prefect test server (prefect_test_harness) for a module's flows, started with no event or
    log worker of an earlier server left in this process (drain_prefect_workers)."""
    from prefect.testing.utilities import prefect_test_harness

    drain_prefect_workers()
    with prefect_test_harness(server_startup_timeout=120):
        yield
