"""Start a local Prefect server on loopback (for `make server`, the integration test and the
benchmark): `prefect server start` from this environment, with telemetry off, its own PREFECT_HOME
(SQLite database) and a health check before it is handed back."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

QUIET = {
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
    "GX_ANALYTICS_ENABLED": "false",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_env(home: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(QUIET)
    env["PREFECT_HOME"] = str(home)
    env.update(extra or {})
    return env


class LocalServer:
    def __init__(self, home: Path, port: int | None = None, ui: bool = False, log: Path | None = None):
        self.home = Path(home)
        self.port = port or free_port()
        self.api_url = f"http://127.0.0.1:{self.port}/api"
        self.ui = ui
        self.log = log or self.home / "server.log"
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 120.0) -> "LocalServer":
        self.home.mkdir(parents=True, exist_ok=True)
        prefect = Path(sys.executable).parent / "prefect"
        env = server_env(self.home, {"PREFECT_UI_ENABLED": "true" if self.ui else "false"})
        out = open(self.log, "ab")
        self.proc = subprocess.Popen(
            [str(prefect), "server", "start", "--host", "127.0.0.1", "--port", str(self.port)],
            env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"prefect server exited with {self.proc.returncode}; see {self.log}")
            try:
                with urllib.request.urlopen(f"{self.api_url}/health", timeout=2) as r:
                    if r.status == 200:
                        return self
            except OSError:
                time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"prefect server did not answer {self.api_url}/health within {timeout:.0f} s; see {self.log}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            import signal

            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def main() -> int:
    """`make server`: a server with its UI on http://127.0.0.1:4200 until Ctrl-C."""
    home = Path(os.environ.get("PREFECT_HOME", Path.home() / ".prefect"))
    server = LocalServer(home, port=int(os.environ.get("PREFECT_SERVER_PORT", "4200")), ui=True)
    server.start()
    print(f"Prefect server and UI: http://127.0.0.1:{server.port}  (API {server.api_url})")
    print(f"In another shell: export PREFECT_API_URL={server.api_url}; .venv/bin/coalition serve")
    try:
        server.proc.wait()
    except KeyboardInterrupt:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
