"""`coalition ...`: parse arguments, call the package's functions, print what a person needs.

Heavy imports (Prefect, Great Expectations, DuckDB, pandas) happen inside the commands, so
`coalition --help` answers at once. Errors the user can act on are printed as one paragraph,
without a traceback, and exit with status 2.
"""

from __future__ import annotations

import argparse
import os
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
    run = sub.add_parser("run", help="run the quarterly report (extract, snapshot, validate, load, transform, render, publish)")
    _common(run)
    run.add_argument("--quarter", metavar="Q", help="quarter to report, e.g. 2026-Q3 or FY2027-Q1 (default: the last completed quarter)")
    run.add_argument("--from-snapshot", metavar="RUN_ID", help="replay an earlier run's snapshot (run id or snapshot id) instead of reading the source")
    run.add_argument("--no-prefect", action="store_true", help="run the stages directly, without the Prefect flow")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 0
    for k, v in QUIET_ENV.items():
        os.environ.setdefault(k, v)
    from .errors import CoalitionError

    try:
        if args.command == "run":
            return cmd_run(args)
    except CoalitionError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted; nothing was published by this run", file=sys.stderr)
        return 130
    parser.error(f"unknown command {args.command}")
    return 2


def cmd_run(args) -> int:
    from .config import load_settings

    settings = load_settings(args.config)
    if args.no_prefect:
        from .pipeline import run_quarterly

        result = run_quarterly(settings, quarter=args.quarter, source=args.source, out=args.out,
                               from_snapshot=args.from_snapshot)
    else:
        from .orchestration import run_flow

        result = run_flow(settings, quarter=args.quarter, source=args.source, out=args.out,
                          from_snapshot=args.from_snapshot)
    q = sum(result.manifest["quarantined_counts"].values())
    print(f"Quarterly report {result.quarter} (run {result.run_id})")
    print(f"  rows set aside for review: {q} (listed in the report's Data quality section)")
    print(f"  funder metrics: {result.folder / 'funder_metrics.csv'}")
    print(f"  report: {result.report}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
