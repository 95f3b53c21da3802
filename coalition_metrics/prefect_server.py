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


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    """True when something already listens on host:port (binding it fails)."""
    with socket.socket() as s:
        try:
            s.bind((host, port))
        except OSError:
            return True
    return False


class ServerStartError(RuntimeError):
    """The server could not be started; the message says why and what to do (one paragraph)."""


class LocalServer:
    """`settings` are extra environment variables for the server process only, e.g.
    PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS; other PREFECT_* variables are not passed on."""

    def __init__(self, home: Path, port: int | None = None, ui: bool = False, log: Path | None = None,
                 settings: dict[str, str] | None = None):
        self.home = Path(home)
        self.port = port or free_port()
        self.api_url = f"http://127.0.0.1:{self.port}/api"
        self.ui = ui
        self.log = log or self.home / "server.log"
        self.settings = dict(settings or {})
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 120.0) -> "LocalServer":
        if port_in_use(self.port):
            raise ServerStartError(
                f"Port {self.port} on 127.0.0.1 is already in use, so the Prefect server cannot start there. "
                f"If it is a Prefect server started earlier, use it (PREFECT_API_URL={self.api_url}) or stop "
                f"it first; otherwise pick a free port with PREFECT_SERVER_PORT=NNNN (and point "
                f"PREFECT_API_URL at http://127.0.0.1:NNNN/api)."
            )
        self.home.mkdir(parents=True, exist_ok=True)
        prefect = Path(sys.executable).parent / "prefect"
        env = server_env(self.home, {"PREFECT_UI_ENABLED": "true" if self.ui else "false", **self.settings})
        out = open(self.log, "ab")
        self.proc = subprocess.Popen(
            [str(prefect), "server", "start", "--host", "127.0.0.1", "--port", str(self.port)],
            env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ServerStartError(f"The Prefect server exited with status {self.proc.returncode} while "
                                       f"starting on port {self.port}; its log is {self.log}.")
            try:
                with urllib.request.urlopen(f"{self.api_url}/health", timeout=2) as r:
                    if r.status == 200:
                        return self
            except OSError:
                time.sleep(0.3)
        self.stop()
        raise ServerStartError(f"The Prefect server did not answer {self.api_url}/health within {timeout:.0f} s "
                               f"and was stopped; its log is {self.log}.")

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
    """`make server`: a server with its UI on http://127.0.0.1:4200 until Ctrl-C or SIGTERM (systemd).

    PREFECT_SERVER_PORT picks the port; PREFECT_HOME the folder of its SQLite database; other
    PREFECT_SERVER_* variables (Prefect's server settings) are passed on to it."""
    import signal

    home = Path(os.environ.get("PREFECT_HOME", Path.home() / ".prefect"))
    settings = {k: v for k, v in os.environ.items() if k.startswith("PREFECT_SERVER_") and k != "PREFECT_SERVER_PORT"}
    try:
        port = int(os.environ.get("PREFECT_SERVER_PORT", "4200"))
    except ValueError:
        print(f"error: PREFECT_SERVER_PORT must be a port number, not {os.environ['PREFECT_SERVER_PORT']!r}.",
              file=sys.stderr)
        return 2
    server = LocalServer(home, port=port, ui=True, settings=settings)

    def stop(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        server.start()
        print(f"Prefect server and UI: http://127.0.0.1:{server.port}  (API {server.api_url})", flush=True)
        print(f"In another shell: export PREFECT_API_URL={server.api_url}; .venv/bin/coalition serve", flush=True)
        code = server.proc.wait()
        print(f"error: the Prefect server stopped by itself (status {code}); its log is {server.log}.",
              file=sys.stderr)
        return 1
    except ServerStartError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        server.stop()
        print("Prefect server stopped.", flush=True)
        return 0


if __name__ == "__main__":
    sys.exit(main())
