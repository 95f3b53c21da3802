"""`coalition ...`: parse arguments, call the package's functions, print what a person needs.

Heavy imports (Prefect, Great Expectations, DuckDB, pandas) happen inside the commands, so
`coalition --help` answers at once. Errors the user can act on are printed as one paragraph,
without a traceback, and exit with status 2.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys

QUIET_ENV = {
    # No telemetry and no network at run time; a cold ephemeral Prefect server needs > 20 s here.
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
    "GX_ANALYTICS_ENABLED": "false",
}


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", metavar="PATH", help="coalition.toml (default: ./coalition.toml, else the bundled example)")
    p.add_argument("--source", metavar="LOCATION", help="a CSV folder, an .xlsx workbook or a Google Sheets URL/key; overrides the config")
    p.add_argument("--out", metavar="DIR", help="output folder (default: [output] folder in the config)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="coalition",
        description="Audited quarterly metrics and reports from the spreadsheets a coalition keeps.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    run = sub.add_parser("run", help="run the quarterly report (extract, snapshot, validate, load, transform, render, publish)",
                         description="With a portfolio file as --config (docs/portfolio.md) every coalition of it runs and a "
                                     "portfolio summary is written; exit status 0 all published, 1 some failed and the others "
                                     "published, 2 none published, 3 all published but a Google Sheet write-back failed.")
    _common(run)
    run.add_argument("--quarter", metavar="Q", help="quarter to report, e.g. 2026-Q3 or FY2027-Q1 (default: the last completed quarter)")
    run.add_argument("--from-snapshot", metavar="RUN_ID", help="replay an earlier run's snapshot (run id or snapshot id) instead of reading the source")
    run.add_argument("--no-prefect", action="store_true", help="run the stages directly, without the Prefect flow")
    run.add_argument("--no-write-back", action="store_true", help="do not write the funder table to the Google Sheet's [write_back] tab")

    ref = sub.add_parser("refresh", help="refresh the funder metrics for the current quarter to date (no report)")
    _common(ref)
    ref.add_argument("--as-of", metavar="DATE", help="figures as of this day, YYYY-MM-DD (default: today)")
    ref.add_argument("--no-prefect", action="store_true", help="run the stages directly, without the Prefect flow")
    ref.add_argument("--no-write-back", action="store_true", help="do not write the funder table to the Google Sheet's [write_back] tab")

    pub = sub.add_parser("publish-sheet", help="write a published run's funder table to the Google Sheet it read (e.g. after sharing it as Editor)",
                         description="Exit status: 0 written, 3 the sheet refused it or could not be reached, 2 no such run.")
    pub.add_argument("run_id", metavar="RUN_ID", help="a run id as `coalition runs` lists it")
    pub.add_argument("--config", metavar="PATH", help="coalition.toml (credentials, [write_back] tab)")
    pub.add_argument("--out", metavar="DIR", help="output folder (default: [output] folder)")

    runs = sub.add_parser("runs", help="list the runs recorded in the output folder (newest first)")
    runs.add_argument("--config", metavar="PATH", help="coalition.toml (to find the output folder)")
    runs.add_argument("--out", metavar="DIR", help="output folder (default: [output] folder)")
    runs.add_argument("--limit", type=int, default=20, help="how many runs to show (default 20)")

    aud = sub.add_parser("audit", help="audit packs for evaluators (audit satisfaction: the member survey by item, scale and wave)")
    aud_sub = aud.add_subparsers(dest="audit", metavar="WHAT", required=True)
    sat = aud_sub.add_parser(
        "satisfaction", help="the satisfaction audit pack: audit.html and audit.xlsx under <out>/audit/",
        description="Builds the survey's statistics for the waves --from .. --to from a fresh extract of the source "
                    "(or an earlier run's snapshot with --from-snapshot) and writes audit.html, audit.xlsx and the "
                    "charts to <out>/audit/<from>_<to>/<run_id>/. See docs/audit.md.")
    _common(sat)
    sat.add_argument("--from", dest="wave_from", metavar="Q", help="first survey wave, e.g. 2025-Q1 (default: the first quarter with data)")
    sat.add_argument("--to", dest="wave_to", metavar="Q", help="last survey wave (default: the last completed quarter)")
    sat.add_argument("--from-snapshot", metavar="RUN_ID", help="audit an earlier run's snapshot (run id or snapshot id) instead of reading the source")
    sat.add_argument("--no-prefect", action="store_true", help="run the stages directly, without the Prefect flow")

    srv = sub.add_parser("serve", help="serve the Prefect deployments: quarterly-report on its schedule, refresh-funder-metrics and audit-satisfaction on demand")
    srv.add_argument("--config", metavar="PATH", help="coalition.toml the deployments run with")

    val = sub.add_parser("validate", help="check the sheet: extract, snapshot and validate only, and list the rows to fix",
                         description="Exit status: 0 every row passed, 1 rows were quarantined, 2 blocking problems (a run would stop).")
    _common(val)
    val.add_argument("--format", choices=("table", "csv", "json"), default="table", help="how to print the problems (default: table)")
    val.add_argument("--html", metavar="PATH", help="also write the data-quality page to PATH")

    exp = sub.add_parser("explain", help="what a metric means, its published values, and the sheet rows behind a figure",
                         description="The definition, the published values by quarter, and the figure's lineage in one "
                                     "quarter: the raw rows counted (tab, sheet row, cells, role) and the rows left out "
                                     "with the reason. Exit status: 0 shown, 2 unknown metric, run, quarter or member.")
    exp.add_argument("metric", metavar="METRIC_ID", help="e.g. attendance_rate, meetings_held[weekly_call], item_mean[trust]")
    exp.add_argument("--quarter", metavar="Q", help="the quarter whose figure to trace (default: the run's quarter)")
    exp.add_argument("--member", metavar="ID", help="only this member's rows, and the member-level figure where there is one")
    exp.add_argument("--run", metavar="RUN_ID", help="a published run (default: the latest published run)")
    exp.add_argument("--format", choices=("text", "json"), default="text",
                     help="text (rows grouped, the first few of each group) or json (every row with its cells)")
    exp.add_argument("--config", metavar="PATH", help="coalition.toml (to find the output folder)")
    exp.add_argument("--out", metavar="DIR", help="output folder holding coalition.duckdb (default: [output] folder)")

    ver = sub.add_parser("verify", help="recompute a published run from its snapshot and config, and check every figure matches byte for byte",
                         description="Exit status: 0 every figure and funder file matches, 1 something differs (named, with its "
                                     "likely cause), 2 the run cannot be verified (unknown, not published, damaged).")
    ver.add_argument("run_id", metavar="RUN_ID", help="a published run's id as `coalition runs` lists it (or a unique prefix of 8+ characters)")
    ver.add_argument("--config", metavar="PATH", help="coalition.toml (to find the output folder; the run's own saved config is used)")
    ver.add_argument("--out", metavar="DIR", help="output folder holding the run (default: [output] folder)")
    ver.add_argument("--format", choices=("text", "json"), default="text", help="how to print the result (default: text)")

    tpl = sub.add_parser("template", help="write a blank workbook with every tab, header and drop-down, or add them to a Google Sheet")
    tpl.add_argument("--config", metavar="PATH", help="coalition.toml (tab names, survey questions, scale)")
    where = tpl.add_mutually_exclusive_group(required=True)
    where.add_argument("--xlsx", metavar="PATH", help="write a new .xlsx workbook (refuses to overwrite a file)")
    where.add_argument("--sheet", metavar="URL_OR_KEY", help="add the missing tabs and headers to this Google Sheet; existing data is never touched")
    return parser


def main(argv: list[str] | None = None, gx_early: bool = False) -> int:
    """The command ``argv`` asks for. ``gx_early`` (the `coalition` command's own process, see
    console()): a command that validates in this process starts Great Expectations' import in a
    process of its own at once (validate/gx_process.py)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 0
    for k, v in QUIET_ENV.items():
        os.environ.setdefault(k, v)
    if gx_early and _validates_here(args):
        from .validate import gx_process

        gx_process.start(while_waiting=_later_imports)
    from .errors import CoalitionError

    try:
        if args.command == "run":
            return cmd_run(args)
        if args.command == "validate":
            return cmd_validate(args)
        if args.command == "refresh":
            return cmd_refresh(args)
        if args.command == "runs":
            return cmd_runs(args)
        if args.command == "publish-sheet":
            return cmd_publish_sheet(args)
        if args.command == "serve":
            return cmd_serve(args)
        if args.command == "template":
            return cmd_template(args)
        if args.command == "explain":
            return cmd_explain(args)
        if args.command == "verify":
            return cmd_verify(args)
        if args.command == "audit":
            return cmd_audit(args)
    except CoalitionError as exc:
        print(f"error: {exc}", file=sys.stderr)
        _release(exc)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted; nothing was published by this run", file=sys.stderr)
        return 130
    except OSError as exc:
        # Last resort: the specific cases (full disk, read-only or misplaced folders, damaged files)
        # have their own messages; any other OS-level failure is still one paragraph.
        from .errors import os_advice

        where = f" ({exc.filename})" if exc.filename else ""
        print(f"error: coalition {args.command} stopped: {exc.strerror or exc}{where}. {os_advice(exc)} "
              f"A run that stops like this publishes nothing; earlier runs are untouched.", file=sys.stderr)
        _release(exc)
        return 2
    except Exception as exc:  # (after OSError, a subclass)
        if not _interrupted_query(exc):
            raise
        print("interrupted; nothing was published by this run", file=sys.stderr)
        return 130
    parser.error(f"unknown command {args.command}")
    return 2


def _interrupted_query(exc: BaseException) -> bool:
    """True when Ctrl-C stopped a DuckDB query: DuckDB takes the signal itself and raises
    RuntimeError("Query interrupted") (DuckDB 2.0; InterruptException in older releases), not
    KeyboardInterrupt, and a stage may have wrapped it with what it was doing (run_models)."""
    duckdb = sys.modules.get("duckdb")
    interrupt = getattr(duckdb, "InterruptException", ()) if duckdb is not None else ()
    seen = set()
    while duckdb is not None and exc is not None and id(exc) not in seen:
        if isinstance(exc, interrupt) or (type(exc) is RuntimeError and str(exc) == "Query interrupted"):
            return True
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return False


def _release(exc: BaseException) -> None:
    """Let go of what a failed stage still holds through the error's traceback (an open DuckDB
    connection in a frame), so the interpreter's exit prints nothing after the message."""
    import gc
    import traceback

    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if exc.__traceback__ is not None:
            traceback.clear_frames(exc.__traceback__)
        exc = exc.__cause__ or exc.__context__
    gc.collect()


def cmd_run(args) -> int:
    from .config import load_settings
    from .portfolio.config import is_portfolio

    if is_portfolio(_config_path(args.config)):
        return cmd_run_portfolio(args, _config_path(args.config))
    settings = load_settings(args.config)
    write_back = not args.no_write_back

    def run():
        if args.no_prefect:
            from .pipeline import run_quarterly

            return run_quarterly(settings, quarter=args.quarter, source=args.source, out=args.out,
                                 from_snapshot=args.from_snapshot, write_back=write_back)
        from .orchestration import run_flow

        return run_flow(args.config, quarter=args.quarter, source=args.source, out=_abs(args.out),
                        from_snapshot=args.from_snapshot, write_back=write_back)

    return _published(run, _print_run)


def _config_path(config):
    """The config file a command reads, found as load_settings finds it (None: the defaults)."""
    from pathlib import Path

    if config:
        return config
    if os.environ.get("COALITION_CONFIG"):
        return os.environ["COALITION_CONFIG"]
    return "coalition.toml" if Path("coalition.toml").is_file() else None


def cmd_run_portfolio(args, path) -> int:
    """`coalition run --config portfolio.toml`: every coalition of the portfolio, then its summary.
    Exit status: 0 all published, 1 some failed (the others published), 2 none published, 3 all
    published but a Google Sheet refused its funder table."""
    from .errors import CoalitionError
    from .portfolio.config import load_portfolio

    for value, flag in ((args.source, "--source"), (args.from_snapshot, "--from-snapshot")):
        if value:
            raise CoalitionError(f"{flag} cannot be used with the portfolio {path}: each coalition of a portfolio names "
                                 f"its own source in the file. Run a single coalition with its own coalition.toml to "
                                 f"use {flag}.")
    portfolio = load_portfolio(path)
    write_back = not args.no_write_back
    if args.no_prefect:
        from .portfolio.run import run_portfolio

        result = run_portfolio(portfolio, quarter=args.quarter, out=args.out, write_back=write_back)
    else:
        from .orchestration import run_portfolio_flow

        result = run_portfolio_flow(str(path), quarter=args.quarter, out=_abs(args.out), write_back=write_back)
    _print_portfolio(result)
    return result.exit_code


def _print_portfolio(result) -> None:
    print(f"Portfolio {result.quarter} (portfolio run {result.run_id}): {len(result.published)} published, "
          f"{len(result.failed)} failed")
    lines = [(p.coalition_id, f"published -> {p.result.folder}" + (f" (write-back failed: {p.write_back})"
                                                                     if p.write_back else ""))
             for p in result.published]
    lines += [(f.coalition_id, f"failed -> {f.stage}: {f.message}") for f in result.failed]
    order = [c["id"] for c in result.manifest.get("coalitions", [])]
    lines.sort(key=lambda line: order.index(line[0]) if line[0] in order else len(order))
    for cid, text in lines:
        print(f"  {cid}: {text}")
    print(f"  summary: {result.folder / 'summary.html'} (and summary.csv)")


def _published(run, show) -> int:
    """Run a publishing command and show its result; a run published whose write-back to the Sheet
    failed is shown too, then the write-back's paragraph, with its exit status (3)."""
    from .errors import WriteBackError

    try:
        result = run()
    except WriteBackError as exc:
        if exc.result is None:
            raise
        show(exc.result)
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    show(result)
    return 0


def _print_run(result) -> None:
    q = sum(result.manifest["quarantined_counts"].values())
    print(f"Quarterly report {result.quarter} (run {result.run_id})")
    print(f"  rows set aside for review: {q} (listed in {result.folder / 'validation' / 'index.html'})")
    print(f"  funder metrics: {result.folder / 'funder_metrics.csv'}")
    print(f"  funder page: {_page(result.folder, 'funder.pdf', 'funder.html')}")
    print(f"  report: {_page(result.folder, 'report.html', 'report.pdf')}")
    for note in result.notes:
        print(f"  note: {note}")


def _page(folder, shown: str, also: str) -> str:
    """A page of a run folder as the summary names it, with its other form; the HTML alone when the
    run printed no PDFs ([output] pdf = false)."""
    if not (folder / "funder.pdf").is_file():
        return str(folder / (shown if shown.endswith(".html") else also))
    return f"{folder / shown} (and {also})"


def _abs(path):
    from pathlib import Path

    return str(Path(path).resolve()) if path else None


def cmd_refresh(args) -> int:
    from .config import load_settings

    settings = load_settings(args.config)
    write_back = not args.no_write_back

    def run():
        if args.no_prefect:
            from .pipeline import run_refresh

            return run_refresh(settings, source=args.source, out=args.out, as_of=args.as_of, write_back=write_back)
        from .orchestration import run_refresh_flow

        return run_refresh_flow(args.config, source=args.source, out=_abs(args.out), as_of=args.as_of,
                                write_back=write_back)

    return _published(run, _print_refresh)


def _print_refresh(result) -> None:
    q = sum(result.manifest["quarantined_counts"].values())
    print(f"Funder metrics {result.quarter} as of {result.manifest['as_of']} (run {result.run_id})")
    print(f"  rows set aside for review: {q} (run `coalition validate` for the list)")
    print(f"  funder metrics: {result.folder / 'funder_metrics.csv'}")
    print(f"  funder page: {_page(result.folder, 'funder.pdf', 'funder.html')}")
    for note in result.notes:
        print(f"  note: {note}")


def cmd_publish_sheet(args) -> int:
    from .config import load_settings
    from .writeback import publish_sheet

    settings = load_settings(args.config)
    outcome = publish_sheet(args.run_id, settings, out=args.out)
    print(f"Run {args.run_id}: funder table {outcome.message}")
    return 0


def cmd_runs(args) -> int:
    from pathlib import Path

    from .config import load_settings
    from .runs import list_runs

    settings = load_settings(args.config)
    out = Path(args.out) if args.out else settings.output_folder
    runs = list_runs(out, settings)[: args.limit]
    if not runs:
        print(f"No runs recorded under {out}.")
        return 0
    head = ("run id", "flow", "quarter", "as of", "started (UTC)", "took", "status", "sheet", "snapshot", "output folder")
    rows = []
    for r in runs:
        took = f"{(r['finished_at'] - r['started_at']).total_seconds():.1f} s" if r["finished_at"] else ""
        rows.append((r["run_id"], r["flow"], r["quarter"], str(r["as_of"]), r["started_at"].strftime("%Y-%m-%d %H:%M:%S"),
                     took, r["status"], r["write_back"] or "", (r["snapshot_id"] or "")[:12], r["output_folder"] or ""))
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(head)]
    print("  ".join(h.ljust(w) for h, w in zip(head, widths)).rstrip())
    for row in rows:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip())
    failed = [r for r in runs if r["status"] in ("failed", "interrupted")]
    for r in failed:
        first_line = (r["message"] or "").splitlines()[0] if r["message"] else ""
        hint = f" Resume: coalition run --from-snapshot {r['run_id']}" if r["status"] == "interrupted" and r["snapshot_id"] else ""
        print(f"\n{r['run_id']} {r['status']}: {first_line}{hint}")
    for r in runs:
        if r["write_back"] == "failed":
            print(f"\n{r['run_id']} published, but the write-back to the Google Sheet failed: "
                  f"{r['write_back_message'] or ''}")
    return 0


def cmd_serve(args) -> int:
    from .serving import serve

    return serve(_abs(args.config))


def cmd_explain(args) -> int:
    from pathlib import Path

    from .config import load_settings
    from .errors import CoalitionError
    from .explain import explain

    settings = load_settings(args.config)
    out = Path(args.out) if args.out else settings.output_folder
    try:
        print(explain(args.metric, out, quarter=args.quarter, member=args.member, run_id=args.run,
                      fmt=args.format, progress=lambda text: print(text, file=sys.stderr, flush=True),
                      settings=settings))
    except KeyError:
        from .registry import load_registry

        raise CoalitionError(
            f"No metric '{args.metric}'. Known ids: {', '.join(m.id for m in load_registry())} "
            f"(with a dimension as id[dimension]; see docs/metrics.md)."
        ) from None
    return 0


def cmd_verify(args) -> int:
    from pathlib import Path

    from .config import load_settings
    from .verify import as_json, render_text, verify_run

    settings = load_settings(args.config)
    out = Path(args.out) if args.out else settings.output_folder
    result = verify_run(args.run_id, out, settings)
    print(as_json(result) if args.format == "json" else render_text(result))
    return result.exit_code


def cmd_audit(args) -> int:
    from .config import load_settings

    settings = load_settings(args.config)
    if args.no_prefect:
        from .audit.pack import run_audit

        result = run_audit(settings, args.wave_from, args.wave_to, source=args.source, out=args.out,
                           from_snapshot=args.from_snapshot)
    else:
        from .audit.pack import audit_settings, plan_audit
        from .orchestration import run_audit_flow

        audited, run_quarter = audit_settings(settings, args.from_snapshot, args.out)
        plan_audit(audited, args.wave_from, args.wave_to or run_quarter, out=args.out or settings.output_folder)  # a bad range stops before Prefect starts
        result = run_audit_flow(args.config, wave_from=args.wave_from, wave_to=args.wave_to, source=args.source,
                                out=_abs(args.out), from_snapshot=args.from_snapshot)
    m = result.manifest
    print(f"Satisfaction audit {m['waves']['from']} to {m['waves']['to']} (run {result.run_id})")
    print(f"  audit pack: {result.report} (and audit.xlsx, charts/)")
    t = m["tables"]
    print(f"  integrity: {t['duplicates']} duplicate, {t['outside_membership']} outside membership, "
          f"{t['straight_lining']} straight-lining, {t['unmatched']} unmatched submission(s) listed")
    print("  member-level rows: for evaluators only, never for funders")
    return 0


def cmd_template(args) -> int:
    from pathlib import Path

    from .config import load_settings
    from .errors import CoalitionError

    settings = load_settings(args.config)
    if args.xlsx:
        from .template import write_xlsx

        path = Path(args.xlsx)
        if path.suffix.lower() != ".xlsx":
            raise CoalitionError(f"--xlsx {path}: give a file name ending in .xlsx.")
        if path.exists():
            raise CoalitionError(f"{path} already exists; the template never overwrites a file. Choose another name.")
        write_xlsx(path, settings)
        print(f"Template workbook: {path}")
        print("  Fill in the tabs (the About tab explains each), then: coalition validate --source " + str(path))
        return 0
    from .sources import looks_like_google_sheet, sheet_key
    from .template import update_sheet

    if not looks_like_google_sheet(args.sheet):
        raise CoalitionError(f"--sheet {args.sheet} is not a Google Sheets URL or key.")
    changes = update_sheet(sheet_key(args.sheet), settings)
    if not changes:
        print("The sheet already has every tab and header; nothing was changed.")
    for c in changes:
        what = "added tab" if c.created else "added columns to"
        print(f"  {what} '{c.tab}': {', '.join(c.headers_added)}")
    return 0


def cmd_validate(args) -> int:
    import json
    from pathlib import Path

    from .config import load_settings
    from .errors import BlockingValidationError
    from .pipeline import check_source, with_source
    from .publish import source_description
    from .quality import count_table, problem_table, quality_context, quarantine_csv, render_quality_page

    settings = with_source(load_settings(args.config), args.source)
    blocking, snap_id = None, ""
    try:
        snap, result = check_source(settings, out=args.out)
        snap_id = snap.snapshot_id
    except BlockingValidationError as exc:
        blocking, result = exc, exc.result
    if result is not None:
        if args.format == "csv":
            sys.stdout.write(quarantine_csv(result))
        elif args.format == "json":
            print(json.dumps([q.as_dict() for q in result.quarantined], indent=2, ensure_ascii=False))
        else:
            print(f"Validated {source_description(settings)}" + (f" (snapshot {snap_id[:12]})" if snap_id else ""))
            print()
            print(count_table(result))
            if result.quarantined:
                print()
                print(problem_table(result))
        if args.html:
            page = render_quality_page(quality_context(
                result, coalition=settings.coalition_name, quarter=None, run_id=None, snapshot_id=snap_id,
                source=source_description(settings), validated_on=result.validated_on.isoformat()))
            try:
                Path(args.html).write_text(page, encoding="utf-8")
            except OSError as exc:
                from .errors import storage_error

                raise storage_error(exc, f"Writing the data-quality page to {args.html}") from None
            print(f"\ndata-quality page: {args.html}", file=sys.stderr)
    if blocking is not None:
        print(f"\nerror: {blocking}", file=sys.stderr)
        return 2
    from .quality import rows_to_fix

    n, total = rows_to_fix(result), sum(t.rows_quarantined for t in result.tabs.values())
    if n:
        rows = f"{n} row{'s' if n != 1 else ''}"
        what = (f"{rows} would be set aside (quarantined)" if total == n else
                f"{rows} to fix; with the rows that depend on them and superseded submissions, {total} rows "
                f"would be set aside (quarantined)")
        print(f"\n{what}. Fix them in the sheet, then run `coalition validate` again.", file=sys.stderr)
        return 1
    if total:
        print(f"\nNothing to fix; {total} row{'s' if total != 1 else ''} kept for information only "
              f"(listed above).", file=sys.stderr)
        return 0
    print("\nEvery row passed.", file=sys.stderr)
    return 0



def _validates_here(args) -> bool:
    """The command validates a coalition's rows in this process: `validate`, `verify`, and a single
    coalition's run, refresh or audit without Prefect (a portfolio's workers validate on their own)."""
    if args.command in ("validate", "verify"):
        return True
    if args.command in ("run", "refresh", "audit") and getattr(args, "no_prefect", False):
        from .portfolio.config import is_portfolio

        return not is_portfolio(_config_path(getattr(args, "config", None)))
    return False


def _later_imports() -> None:
    """What a run imports after validation (Student's t, the metric registry, the charts, the pages'
    modules), and the pages' templates compiled (Jinja: 0.2 s with its import), done while Great
    Expectations' process is still importing: the run would otherwise wait idle, then do it."""
    import scipy.special  # noqa: F401

    from . import (charts, funder_page, keyed_reads, pitfalls, quality, registry, report_reads,  # noqa: F401
                   student_t, transform)
    from .collector import keep_imported
    from .render import PAGE_TEMPLATES, template_env

    registry.load_registry()
    env = template_env()
    for name in PAGE_TEMPLATES:
        env.get_template(name)
    keep_imported()  # these modules stay too


# Commands that may end the process at once when they are done (see console()).
FAST_EXIT = {"validate", "runs", "explain", "verify", "template"}


def console() -> None:
    """The `coalition` command. A command that ran without Prefect ends the process as soon as its
    output is flushed: the interpreter's own teardown after Great Expectations and matplotlib are
    loaded costs about a second and does nothing this program needs (every file is closed and
    renamed into place before a command returns; DuckDB connections are closed by then). Commands
    that ran a Prefect flow or serve exit normally, so Prefect's exit handlers send their logs."""
    from .collector import tune

    tune()  # before the imports, which alone cost the default collector hundreds of passes
    argv = sys.argv[1:]
    fast = _fast_exit_ok(argv)
    try:
        code = main(argv, gx_early=True)
    finally:
        # The command has its result (a run may have published): a Ctrl-C from now on no longer
        # turns it into a traceback and exit code 130 while Great Expectations' process is stopped
        # and, after a run without Prefect, the process ends.
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        if "coalition_metrics.validate.gx_process" in sys.modules:
            sys.modules["coalition_metrics.validate.gx_process"].stop(now=True)
        if not fast:
            signal.signal(signal.SIGINT, previous)
    if fast:
        from .collector import leave_now

        leave_now(code if isinstance(code, int) else 1)
    sys.exit(code)


def _fast_exit_ok(argv: list[str]) -> bool:
    command = next((a for a in argv if not a.startswith("-")), None)
    return command in FAST_EXIT or (command in {"run", "refresh", "audit"} and "--no-prefect" in argv)


if __name__ == "__main__":
    console()
