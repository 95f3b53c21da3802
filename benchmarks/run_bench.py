"""Benchmark the pipeline at several sizes (issue 13): the SQL transform against a vectorized pandas
baseline on the same database, and the end-to-end run split by stage.

For each size the data is generated once into bench_data/ (benchmarks/generate.py; regenerated when
the generator changes), then each measurement runs in a fresh child process that reports its own
wall time, CPU time and peak resident memory (getrusage ru_maxrss: DuckDB's memory included, which
tracemalloc misses):

1. end to end: the run without Prefect (run_quarterly with [output] pdf = false, with Great
   Expectations in a process of its own as the command has it, whose peak is reported apart; a
   portfolio with run_portfolio), each stage function wrapped with a timer: extract, snapshot,
   validate, load, transform, render (render_and_publish), other (run records, locks, planning, and
   waiting for Great Expectations' answers to a validation made ahead);
2. SQL: coalition_metrics.transform.run_models again on the database step 1 built;
3. pandas: benchmarks/pandas_metrics.py over the same staging and reference tables (read from that
   database; the read is timed apart), checked against marts.metric_values (to 1e-9, n exactly),
   failing the benchmark on any disagreement;
4. once, on the bundled example: the same run as the real Prefect flow (ephemeral mode), whose wall
   time minus the stages' sum is the Prefect overhead.

Sizes: 1x, 10x, 100x, 1000x (one coalition at that multiple of the example's attendance rows) and
small, medium, large (portfolios of 10, 200 and 1,000 coalitions of 0.5x-2x the example).

    .venv/bin/python benchmarks/run_bench.py                      # small,medium,100x
    .venv/bin/python benchmarks/run_bench.py --sizes 1x,10x,100x,1000x
    .venv/bin/python benchmarks/run_bench.py --sizes all          # every size (slow)
    .venv/bin/python benchmarks/run_bench.py --quick              # 1x and small, no Prefect flow

Prints figures and fails (exit 1) only when pandas and SQL disagree or a run fails.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA = ROOT / "bench_data"
QUARTER = "2026-Q3"
SINGLE = {"1x": 1, "10x": 10, "100x": 100, "1000x": 1000}
PORTFOLIO = {"small": 10, "medium": 200, "large": 1000}
ALL = ["1x", "10x", "100x", "1000x", "small", "medium", "large"]
DEFAULT = "small,medium,100x"
# "prepare": a portfolio's extract -> snapshot -> validate -> tables in its worker processes (wall
# time; the workers' own stages are not split); its publishing in the workers counts as "render"
STAGES = ["prepare", "extract", "snapshot", "validate", "load", "transform", "render", "other"]
MARK = "BENCH-RESULT "


# ---------------------------------------------------------------------------------------------
# data
def _stamp(args: list[str]) -> str:
    h = hashlib.sha256((HERE / "generate.py").read_bytes())
    h.update(" ".join(args).encode())
    return h.hexdigest()[:16]


def ensure_data(size: str) -> Path:
    """bench_data/<size>/ (generated now unless it is there from the same generator)."""
    if size in SINGLE:
        folder, args = DATA / f"single-{size}", ["single", "--scale", str(SINGLE[size])]
    else:
        folder, args = DATA / f"portfolio-{PORTFOLIO[size]}", ["portfolio", "--n", str(PORTFOLIO[size])]
    stamp = folder / ".generated"
    if stamp.is_file() and stamp.read_text() == _stamp(args):
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    t = time.perf_counter()
    subprocess.run([sys.executable, str(HERE / "generate.py"), *args, "--out", str(folder)], check=True,
                   stdout=subprocess.DEVNULL)
    print(f"  generated {folder.relative_to(ROOT)} in {time.perf_counter() - t:.1f} s", flush=True)
    stamp.write_text(_stamp(args))
    return folder


def example_config() -> Path:
    """The bundled example with [output] pdf = false (WeasyPrint alone is ~5 s)."""
    folder = DATA / "example"
    folder.mkdir(parents=True, exist_ok=True)
    cfg = folder / "coalition.toml"
    cfg.write_text(f'[source]\nlocation = "{ROOT / "examples" / "riverside" / "csv"}"\n\n[output]\npdf = false\n')
    return cfg


# ---------------------------------------------------------------------------------------------
# child side
def _usage() -> dict:
    """The process's peak memory and CPU, and its worker processes' (a portfolio's): the largest
    worker's peak, and their CPU."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    c = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"peak_gib": r.ru_maxrss / 1024 ** 2, "cpu_s": r.ru_utime + r.ru_stime,
            "worker_peak_gib": c.ru_maxrss / 1024 ** 2, "worker_cpu_s": c.ru_utime + c.ru_stime}


class TreePeak:
    """The memory of this process and its children (a portfolio's workers, Great Expectations'
    process) together, as an upper bound: every 0.1 s each one's peak so far (VmHWM, a counter the
    kernel keeps, cheap to read) is noted, and the sum of their peaks is reported. Shared pages
    count once per process and the peaks need not coincide, so the true peak is lower. (Summing
    PSS from smaps_rollup instead walks each process's page tables under its memory lock and slowed
    the 1,000 coalitions by 20-30%.) getrusage's figure for children is no substitute: a child
    forked to run a program (git, for the manifest) reports the parent's size at that moment."""

    def __init__(self):
        import threading

        self.peaks: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    @staticmethod
    def _tree(pid: int) -> list[int]:
        out, todo = [], [pid]
        while todo:
            p = todo.pop()
            out.append(p)
            try:
                for task in os.listdir(f"/proc/{p}/task"):
                    todo += [int(x) for x in Path(f"/proc/{p}/task/{task}/children").read_text().split()]
            except OSError:
                pass
        return out

    def _sample(self) -> None:
        for pid in self._tree(os.getpid()):
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            if "\nName:\tgit" in "\n" + status[:64]:
                continue  # git, run for the manifest: a copy of this process's pages until it execs
            for line in status.splitlines():
                if line.startswith("VmHWM:"):
                    self.peaks[pid] = max(self.peaks.get(pid, 0), int(line.split()[1]) * 1024)

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            self._sample()

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        self._sample()
        return sum(self.peaks.values()) / 1024 ** 3


def _peak_of(pid: int) -> float:
    """A running process's peak resident memory (VmHWM), GiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024 ** 2
    return 0.0


def _wrap_stages(times: dict) -> None:
    """Time the pipeline's stage functions wherever they are looked up at call time. A stage's
    functions may call each other (load_snapshot_tables -> write_tables): only the outermost call
    of a stage is timed."""
    from coalition_metrics import load, pipeline, publish, transform, validate

    active: set = set()

    def wrap(mod, name, stage):
        f = getattr(mod, name, None)
        if f is None:
            return

        def timed(*a, **k):
            if stage in active:
                return f(*a, **k)
            active.add(stage)
            t = time.perf_counter()
            try:
                return f(*a, **k)
            finally:
                active.discard(stage)
                times[stage] = times.get(stage, 0.0) + time.perf_counter() - t
        setattr(mod, name, timed)

    for name in ("extract", "snapshot", "validate"):
        wrap(pipeline, name, name)
    wrap(validate, "validate_many", "validate")  # a portfolio validates its coalitions in batches
    for name in ("load_snapshot_tables", "load_reference_tables", "snapshot_frames", "reference_frames",
                 "concat_tables", "global_reference_frames", "write_tables"):
        wrap(load, name, "load")
    wrap(transform, "run_models", "transform")
    for name in ("render_and_publish", "render_ahead", "render_funder_ahead"):
        wrap(pipeline, name, "render")
    wrap(publish, "render_and_publish", "render")
    # a portfolio publishes each coalition with these (a command's rendering ahead of Great
    # Expectations' answer, inside build_database, is timed as render above)
    for name in ("read_figures", "write_run_folder"):
        wrap(publish, name, "render")
    from coalition_metrics import coalition_db
    from coalition_metrics.portfolio import parallel

    wrap(coalition_db, "_tables_from_parts", "load")  # the workers' part databases into the portfolio's
    in_processes = parallel.in_processes

    def in_workers(pool, fn, *a, **k):  # a portfolio's worker processes: their wall time, by phase
        stage = {"prepare_chunk": "prepare", "publish_chunk": "render"}.get(fn.__name__, "other")
        t = time.perf_counter()
        try:
            return in_processes(pool, fn, *a, **k)
        finally:
            times[stage] = times.get(stage, 0.0) + time.perf_counter() - t
            times["processes"] = pool.processes
    parallel.in_processes = in_workers


def child(mode: str, data: Path, out: Path, quarter: str | None) -> dict:
    from coalition_metrics.collector import tune

    tune()  # the garbage collector as the `coalition` command sets it (collector.py)
    t0 = time.perf_counter()
    import duckdb  # noqa: F401
    import pandas  # noqa: F401
    import scipy.stats  # noqa: F401  (the SQL's p-values and pandas' both use it; import it untimed)

    from coalition_metrics.config import load_settings

    res: dict = {"import_s": time.perf_counter() - t0}
    tree = TreePeak() if mode in ("e2e", "portfolio") else None
    if mode in ("e2e", "flow"):
        times: dict = {}
        _wrap_stages(times)
        config = data if data.suffix == ".toml" else data / "coalition.toml"
        t = time.perf_counter()
        if mode == "e2e":
            from coalition_metrics.pipeline import run_quarterly
            from coalition_metrics.validate import gx_process

            # as the `coalition` command runs it: Great Expectations in a process of its own, started
            # first, and the validation made ahead of its answers (validate/ahead.py)
            gx_process.start()
            run_quarterly(load_settings(config), quarter, out=out, write_back=False)
            worker = gx_process._worker
            res["gx_peak_gib"] = _peak_of(worker.proc.pid) if worker is not None else 0.0
            gx_process.stop()
        else:
            from coalition_metrics.orchestration import run_flow
            run_flow(str(config), quarter=quarter, out=str(out), write_back=False)
        res["total_s"] = time.perf_counter() - t
        res["stages"] = times
    elif mode == "portfolio":
        from coalition_metrics.portfolio.config import load_portfolio
        from coalition_metrics.portfolio.run import run_portfolio
        times = {}
        _wrap_stages(times)
        t = time.perf_counter()
        result = run_portfolio(load_portfolio(data / "portfolio.toml"), quarter, out)
        res["total_s"] = time.perf_counter() - t
        res["stages"] = times
        res["result"] = repr(result)[:300]
    elif mode == "sql":
        import duckdb

        from coalition_metrics.transform import FIGURE_LAYERS, run_models
        db = _database(out)
        if (data / "portfolio.toml").is_file():  # the one-pass build runs the models for every coalition
            from coalition_metrics.portfolio.config import load_portfolio
            settings = load_portfolio(data / "portfolio.toml").coalitions
        else:
            settings = load_settings(data / "coalition.toml")
        con = duckdb.connect(str(db))
        timed = TimedConnection(con)
        t, c = time.perf_counter(), time.process_time()
        # the figures' models (staging, marts): what the pandas baseline computes and what a portfolio
        # builds; explain's lineage listings are not figures ([output] lineage)
        run_models(timed, settings, FIGURE_LAYERS)
        res["seconds"], res["cpu_section"] = time.perf_counter() - t, time.process_time() - c
        res["layers"] = timed.layers
        res["rows"] = con.execute("select count(*) from staging.stg_attendance").fetchone()[0]
        res["metric_rows"] = con.execute("select count(*) from marts.metric_values").fetchone()[0]
        con.close()
    elif mode == "pandas":
        import duckdb
        sys.path.insert(0, str(HERE))
        import pandas_metrics as pm
        con = duckdb.connect(str(_database(out)), read_only=True)
        t = time.perf_counter()
        inp = pm.read_inputs(con)
        res["read_s"] = time.perf_counter() - t
        t, c = time.perf_counter(), time.process_time()
        computed = pm.compute(inp)
        res["seconds"], res["cpu_section"] = time.perf_counter() - t, time.process_time() - c
        del inp
        res["compared"] = pm.check(con, computed)
        res["metric_ids"] = len(pm.COVERED)
    res.update(_usage())
    if tree is not None:
        res["tree_peak_gib"] = tree.stop()
    return res


class TimedConnection:
    """A DuckDB connection that times each ``create or replace table <layer>.<name>`` run_models
    executes, summed by layer (staging, marts, lineage: wall and CPU seconds); everything else is
    the connection's own."""

    def __init__(self, con):
        self._con = con
        self.layers: dict = {}

    def execute(self, sql, *args):
        m = re.match(r"\s*create or replace table (\w+)\.", sql) if isinstance(sql, str) else None
        if m is None:
            return self._con.execute(sql, *args)
        t, c = time.perf_counter(), time.process_time()
        try:
            return self._con.execute(sql, *args)
        finally:
            wall, cpu = self.layers.get(m.group(1), (0.0, 0.0))
            self.layers[m.group(1)] = (wall + time.perf_counter() - t, cpu + time.process_time() - c)

    def __getattr__(self, name):
        return getattr(self._con, name)


def _database(out: Path) -> Path:
    for name in ("portfolio.duckdb", "coalition.duckdb"):
        if (out / name).is_file():
            return out / name
    raise SystemExit(f"no database in {out}")


# ---------------------------------------------------------------------------------------------
# parent side
def run_child(mode: str, data: Path, out: Path, quarter: str | None) -> dict:
    env = dict(os.environ, DO_NOT_TRACK="1", PREFECT_SERVER_ANALYTICS_ENABLED="false", GX_ANALYTICS_ENABLED="false",
               PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="120")
    env.pop("COALITION_CONFIG", None)
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", mode, "--data", str(data), "--out", str(out)]
    if quarter:
        cmd += ["--quarter", quarter]
    t = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(MARK)]
    if proc.returncode != 0 or not lines:
        raise ChildFailed(f"{mode} on {data.name} failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    res = json.loads(lines[-1][len(MARK):])
    res["process_s"] = wall
    return res


class ChildFailed(RuntimeError):
    pass


def stage_split(res: dict) -> dict:
    st = {k: res["stages"].get(k, 0.0) for k in STAGES if k != "other" and (k != "prepare" or k in res["stages"])}
    st["other"] = max(0.0, res["total_s"] - sum(st.values()))
    return st


def bench_size(size: str, quick: bool) -> dict:
    portfolio = size in PORTFOLIO
    if portfolio:
        try:
            from coalition_metrics.portfolio.run import run_portfolio  # noqa: F401
        except ImportError:
            return {"size": size, "waiting": "coalition_metrics.portfolio.run (run_portfolio) is not there yet"}
    data = ensure_data(size)
    out = DATA / "runs" / size
    shutil.rmtree(out, ignore_errors=True)
    e2e = run_child("portfolio" if portfolio else "e2e", data, out, None if portfolio else QUARTER)
    sql = run_child("sql", data, out, None)
    pd_ = run_child("pandas", data, out, None)
    result = {"size": size, "e2e": e2e, "sql": sql, "pandas": pd_}
    if size in SINGLE and size != "1x":  # also as the command runs it (the example's is command_wall's)
        result["command_s"] = run_command(data / "coalition.toml", DATA / "runs" / f"{size}-command", dict(os.environ))
    return result


def fmt_size(r: dict) -> str:
    if "waiting" in r:
        return f"{r['size']:>6}  waits for {r['waiting']}"
    sql, pd_ = r["sql"], r["pandas"]
    ratio = pd_["seconds"] / sql["seconds"] if sql["seconds"] else float("nan")
    layers = sql.get("layers") or {}
    metrics_s = sum(layers.get(k, (0.0, 0.0))[0] for k in ("staging", "marts"))
    split = ("; SQL by layer s: " + ", ".join(f"{k} {w:.2f}" for k, (w, _) in layers.items())
             + f"; ratio to staging+marts {pd_['seconds'] / metrics_s:.1f}x") if metrics_s else ""
    return (f"{r['size']:>6}  rows {sql['rows']:>10,}  SQL {sql['seconds']:7.2f} s  pandas {pd_['seconds']:7.2f} s  "
            f"peak {sql['peak_gib']:5.2f} / {pd_['peak_gib']:5.2f} GiB  ratio {ratio:.1f}x  "
            f"(CPU s {sql.get('cpu_section', 0):.1f} / {pd_.get('cpu_section', 0):.1f}{split}; "
            f"pandas read {pd_['read_s']:.2f} s; {pd_['compared']:,} metric rows agree)")


def fmt_e2e(r: dict) -> str:
    if "waiting" in r:
        return f"{r['size']:>6}  waits for {r['waiting']}"
    e = r["e2e"]
    st = stage_split(e)
    workers = e["stages"].get("processes")
    tree = e.get("tree_peak_gib", 0.0)
    if workers:
        peak = f"peak {e['peak_gib']:5.2f} GiB, with its {workers} workers at most {tree:.2f} GiB"
    elif "gx_peak_gib" in e:
        peak = (f"peak {e['peak_gib']:5.2f} GiB (GX process {e['gx_peak_gib']:.2f} GiB), "
                f"with it at most {tree:.2f} GiB")
    else:  # a portfolio in one process
        peak = f"peak {e['peak_gib']:5.2f} GiB"
    cpu = f"cpu {e['cpu_s']:.1f} s" + (f" + workers {e['worker_cpu_s']:.1f} s" if workers else "")
    command = f"; `coalition run --no-prefect` in a new process: {r['command_s']:.2f} s wall" if "command_s" in r else ""
    return (f"{r['size']:>6}  total {e['total_s']:7.2f} s  {peak}  "
            + "  ".join(f"{k} {v:.2f}" for k, v in st.items())
            + f"  (+ imports {e['import_s']:.1f} s; {cpu}{command})")


def prefect_overhead() -> str:
    cfg = example_config()
    out = DATA / "runs" / "example-flow"
    shutil.rmtree(out, ignore_errors=True)
    flow = run_child("flow", cfg, out, QUARTER)
    shutil.rmtree(DATA / "runs" / "example", ignore_errors=True)
    plain = run_child("e2e", cfg, DATA / "runs" / "example", QUARTER)
    fs, ps = stage_split(flow), stage_split(plain)
    staged = sum(v for k, v in fs.items() if k != "other")
    return (f"example, Prefect flow (ephemeral): total {flow['total_s']:.2f} s, stages {staged:.2f} s, "
            f"Prefect overhead {flow['total_s'] - staged:.2f} s, peak {flow['peak_gib']:.2f} GiB\n"
            f"example, --no-prefect:             total {plain['total_s']:.2f} s, "
            + "  ".join(f"{k} {v:.2f}" for k, v in ps.items())
            + f", peak {plain['peak_gib']:.2f} GiB (+ imports {plain['import_s']:.1f} s)")


def command_wall(runs: int = 3) -> str:
    """The acceptance figure: `coalition run --no-prefect` on the example as a person runs it (a
    new process each time: imports, Great Expectations' own process, the run, exit; [output] lineage
    as configured, pdf off), wall seconds."""
    env = {k: v for k, v in os.environ.items() if k != "COALITION_OUTPUT_LINEAGE"}
    walls = sorted(run_command(example_config(), DATA / "runs" / "example-command", env) for _ in range(runs))
    return (f"example, `coalition run --no-prefect` (the command, wall): median {walls[len(walls) // 2]:.2f} s "
            f"of {', '.join(f'{w:.2f}' for w in walls)}")


def run_command(config: Path, out: Path, env: dict) -> float:
    """Wall seconds of one `coalition run --no-prefect` of ``config`` in a new process, as a person
    runs it (its Great Expectations process and garbage-collector settings included)."""
    shutil.rmtree(out, ignore_errors=True)
    t = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", "import sys; sys.argv[0] = 'coalition'; "
                           "from coalition_metrics.cli import console; console()",
                           "run", "--no-prefect", "--no-write-back", "--config", str(config), "--out", str(out),
                           "--quarter", QUARTER], cwd=ROOT, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t
    if done.returncode != 0:
        raise ChildFailed(f"coalition run --no-prefect exited {done.returncode}: {done.stderr[-2000:]}")
    return wall


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="issue 13 benchmarks")
    ap.add_argument("--sizes", default=os.environ.get("BENCH_SIZES") or DEFAULT,
                    help=f"comma-separated of {','.join(ALL)} or 'all' (default {DEFAULT})")
    ap.add_argument("--quick", action="store_true", help="1x and small only, no Prefect flow")
    ap.add_argument("--no-prefect", action="store_true", help="skip the Prefect overhead measurement")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--quarter", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.child:
        sys.path.insert(0, str(ROOT))
        print(MARK + json.dumps(child(a.child, a.data, a.out, a.quarter)), flush=True)
        return 0
    sizes = ["1x", "small"] if a.quick else (ALL if a.sizes == "all" else [s.strip() for s in a.sizes.split(",") if s.strip()])
    unknown = [s for s in sizes if s not in ALL]
    if unknown:
        ap.error(f"unknown size(s) {', '.join(unknown)}: pick from {', '.join(ALL)} or all")
    results, failed = [], False
    for size in sizes:
        print(f"{size}: ...", flush=True)
        try:
            r = bench_size(size, a.quick)
        except (ChildFailed, Exception) as exc:  # a disagreement or a failed run: report, go on, fail at the end
            print(f"{size}: FAILED: {exc}", flush=True)
            failed = True
            continue
        results.append(r)
        print(fmt_size(r), flush=True)
    print("\nSQL transform (run_models) vs pandas baseline, same database (peak SQL / pandas):")
    for r in results:
        print(fmt_size(r))
    print("\nEnd to end without Prefect ([output] pdf = false), seconds by stage:")
    for r in results:
        print(fmt_e2e(r))
    if not (a.quick or a.no_prefect):
        print()
        try:
            print(command_wall())
            print(prefect_overhead())
        except ChildFailed as exc:
            print(f"Prefect overhead: FAILED: {exc}")
            failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
