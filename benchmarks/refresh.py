"""Benchmark: wall time of `coalition refresh` on the bundled example, three ways:

1. `--no-prefect` (the plain functions),
2. Prefect with no server configured (ephemeral mode: Prefect starts a temporary server per run),
3. Prefect against a running local server (PREFECT_API_URL; started here on loopback first).

Each is run REPEAT times (default 3) in a fresh process with its own output folder; prints every
time and the median. Prints figures; asserts nothing.

    .venv/bin/python benchmarks/refresh.py [REPEAT]
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from coalition_metrics.prefect_server import LocalServer, server_env  # noqa: E402

COALITION = Path(sys.executable).parent / "coalition"


def timed(args, env, cwd) -> float:
    t = time.perf_counter()
    proc = subprocess.run([str(COALITION), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=600)
    elapsed = time.perf_counter() - t
    if proc.returncode != 0:
        raise SystemExit(f"coalition {' '.join(args)} failed:\n{proc.stderr[-2000:]}")
    return elapsed


def main() -> None:
    repeat = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    work = Path(tempfile.mkdtemp(prefix="bench-refresh-"))
    base = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "COALITION_"))}
    base.update({"DO_NOT_TRACK": "1", "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
                 "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120", "GX_ANALYTICS_ENABLED": "false",
                 "PREFECT_HOME": str(work / "prefect-ephemeral")})
    results = {}
    results["--no-prefect"] = [timed(["refresh", "--no-prefect", "--out", str(work / f"np{i}")], base, work)
                               for i in range(repeat)]
    results["Prefect, ephemeral (no server)"] = [timed(["refresh", "--out", str(work / f"eph{i}")], base, work)
                                                 for i in range(repeat)]
    t = time.perf_counter()
    with LocalServer(work / "prefect-server") as server:
        started = time.perf_counter() - t
        env = server_env(server.home, {"PREFECT_API_URL": server.api_url})
        env = {k: v for k, v in env.items() if not k.startswith("COALITION_")}
        results["Prefect, running local server"] = [timed(["refresh", "--out", str(work / f"srv{i}")], env, work)
                                                    for i in range(repeat)]
    print(f"coalition refresh on the example ({repeat} runs each, fresh process each time)")
    for name, times in results.items():
        print(f"  {name:34s} median {statistics.median(times):5.1f} s   ({', '.join(f'{x:.1f}' for x in times)})")
    print(f"  (starting the local server took {started:.1f} s until its health check answered)")


if __name__ == "__main__":
    main()
