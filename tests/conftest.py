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

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_CSV = ROOT / "examples" / "riverside" / "csv"
EXAMPLE_XLSX = ROOT / "examples" / "riverside" / "riverside.xlsx"


@pytest.fixture
def settings(tmp_path, monkeypatch):
    """The embedded defaults (the bundled example), with output under tmp_path."""
    from coalition_metrics.config import load_settings

    monkeypatch.chdir(tmp_path)
    return load_settings(None, environ={}).with_overrides(output={"folder": str(tmp_path / "out")})


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
