"""Run the Prefect flows from the command line (Prefect is imported only here and in flows/)."""

from __future__ import annotations

import logging


def run_flow(settings, **kwargs):
    """Run `quarterly-report` in-process: against PREFECT_API_URL if set, else ephemeral mode."""
    for name in ("prefect", "prefect.server", "uvicorn", "httpx"):
        logging.getLogger(name).setLevel(logging.WARNING)
    from flows.quarterly_report import quarterly_report

    return quarterly_report(settings, **kwargs)
