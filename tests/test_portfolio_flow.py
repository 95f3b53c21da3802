"""The portfolio-run flow end to end on a real local Dask cluster (prefect-dask, two worker
processes) through a real Prefect server: each coalition's extract -> snapshot -> validate is a
task on a worker, the one-pass database is built in the flow's process and the coalitions are
published in two local worker processes (portfolio_processes); each
coalition's funder files are byte-identical to a single run of that coalition; a coalition whose
source fails is reported while the others publish."""

from __future__ import annotations

import asyncio
from datetime import date

from conftest import ROOT

EXAMPLES = ROOT / "examples"

PORTFOLIO = """
[output]
pdf = false

[orchestration]
task_runner = "dask"
dask_workers = 2
portfolio_processes = 2  # the flow's publishing in two local worker processes

[[portfolio.coalitions]]
id = "flow-riverside"
[portfolio.coalitions.source]
location = "{riverside}"

[[portfolio.coalitions]]
id = "flow-fy"
[portfolio.coalitions.coalition]
name = "Riverside Fiscal-Year Partnership"
[portfolio.coalitions.source]
location = "{riverside}"
[portfolio.coalitions.quarters]
fiscal_year_start_month = 7

[[portfolio.coalitions]]
id = "flow-wilder"
config = "{wilder}"

[[portfolio.coalitions]]
id = "flow-gone"
[portfolio.coalitions.source]
location = "{gone}"
"""


def _task_runs(names: list[str]) -> dict[str, list[str]]:
    """The server's task runs by name: name -> their final states."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import TaskRunFilter, TaskRunFilterName

    async def read():
        async with get_client() as client:
            runs = await client.read_task_runs(task_run_filter=TaskRunFilter(name=TaskRunFilterName(any_=names)))
            found: dict[str, list[str]] = {}
            for r in runs:
                found.setdefault(r.name, []).append(r.state_type.value)
            return found

    return asyncio.run(read())


def test_a_portfolio_on_a_local_dask_cluster_publishes_what_single_runs_publish(tmp_path, on_prefect_api):
    from coalition_metrics.orchestration import run_portfolio_flow
    from coalition_metrics.pipeline import run_quarterly

    config = tmp_path / "portfolio.toml"
    config.write_text(PORTFOLIO.format(riverside=EXAMPLES / "riverside" / "csv", wilder=EXAMPLES / "wilder" / "coalition.toml",
                                       gone=tmp_path / "no-such-folder"))
    out = tmp_path / "out"
    result = run_portfolio_flow(str(config), quarter="2026-Q3", out=str(out), write_back=False)

    assert sorted(p.coalition_id for p in result.published) == ["flow-fy", "flow-riverside", "flow-wilder"]
    (gone,) = result.failed
    assert gone.coalition_id == "flow-gone" and gone.stage == "extract"
    assert "no-such-folder" in gone.message and "\n" not in gone.message
    assert result.exit_code == 1
    assert (out / "portfolio.duckdb").is_file()  # one database for every coalition

    # the prepare tasks ran as task runs on the server, one per coalition, the failing one failed
    states = _task_runs([f"prepare-flow-{c}" for c in ("riverside", "fy", "wilder", "gone")])
    assert states == {"prepare-flow-riverside": ["COMPLETED"], "prepare-flow-fy": ["COMPLETED"],
                      "prepare-flow-wilder": ["COMPLETED"], "prepare-flow-gone": ["FAILED"]}

    # each coalition's funder files: byte-identical to a single run of that coalition alone
    for pub in result.published:
        settings = pub.plan.settings
        assert settings.coalition_id == pub.coalition_id
        single = run_quarterly(settings, quarter=pub.plan.quarter.label, out=tmp_path / "single" / pub.coalition_id,
                               today=date.today(), write_back=False)
        for name in ("funder_metrics.csv", "funder_metrics.json", "validation/quarantine.json"):
            assert (pub.result.folder / name).read_bytes() == (single.folder / name).read_bytes(), (pub.coalition_id, name)
    fy = next(p for p in result.published if p.coalition_id == "flow-fy")
    assert fy.plan.quarter.label == "FY2027-Q1"

    # the summary lists all four, with the failed one's stage
    summary = (result.folder / "summary.csv").read_text()
    assert "flow-gone" in summary and "extract" in summary
