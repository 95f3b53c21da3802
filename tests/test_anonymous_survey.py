"""An anonymous survey ([survey] respondent_column = ""): the run and the audit pack publish, no
response names a member, and response_rate is responses / roster (docs/data-contract.md).
The expected figures are counted here from survey.csv with the csv module."""

import csv
import json
from datetime import datetime

import duckdb
import pytest

from conftest import EXAMPLE_CSV


@pytest.fixture(scope="module")
def anonymous(tmp_path_factory):
    from coalition_metrics.config import load_settings
    from coalition_metrics.pipeline import run_quarterly

    out = tmp_path_factory.mktemp("anonymous")
    s = load_settings(None, environ={}).with_overrides(survey={"respondent_column": ""},
                                                       output={"folder": str(out), "pdf": False})
    return s, run_quarterly(s, quarter="2026-Q3", out=out)


def test_an_anonymous_survey_publishes_responses_over_roster(anonymous):
    settings, run = anonymous
    with open(EXAMPLE_CSV / "survey.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))[1:]
    quarantined = {q["sheet_row"] for q in json.loads((run.folder / "validation" / "quarantine.json").read_text())
                   if q["tab"] == "survey"}
    q3 = [i for i, r in enumerate(rows, start=2)
          if r and r[0].strip() and datetime.strptime(r[0].split()[0], "%m/%d/%Y").strftime("%Y-%m") in
          ("2026-07", "2026-08", "2026-09") and i not in quarantined]
    con = duckdb.connect(str(settings.output_folder / "coalition.duckdb"), read_only=True)
    try:
        assert con.execute("select count(*) from staging.stg_survey_responses where member_id is not null"
                           ).fetchone()[0] == 0
        roster = con.execute("select count(*) from marts.roster_by_quarter where quarter = '2026-Q3'").fetchone()[0]
        rate, n_responses = con.execute(
            "select response_rate, count_responses from marts.survey_response_rate where wave = '2026-Q3'").fetchone()
    finally:
        con.close()
    assert n_responses == len(q3) > 0
    assert rate == pytest.approx(len(q3) / roster, abs=1e-12)
    published = {m["metric_id"]: m for m in run.manifest["metrics"]}
    assert published["response_rate"]["value"] == pytest.approx(len(q3) / roster, abs=1e-12)


@pytest.fixture(scope="module")
def audit_pack(anonymous):
    from coalition_metrics.audit.pack import run_audit

    settings, run = anonymous
    return run_audit(settings, "2026-Q1", "2026-Q3", from_snapshot=run.run_id)


def test_an_anonymous_survey_gets_an_audit_pack(audit_pack):
    result = audit_pack
    manifest = json.loads((result.folder / "manifest.json").read_text())
    assert manifest["waves"] == {"from": "2026-Q1", "to": "2026-Q3"}
    assert manifest["tables"]["unmatched"] == 0 and manifest["tables"]["duplicates"] == 0


def test_verify_refuses_an_audit_run_saying_what_it_is(anonymous, audit_pack, capsys):
    from coalition_metrics.cli import main

    settings, _run = anonymous
    assert main(["verify", audit_pack.run_id, "--out", str(settings.output_folder)]) == 2
    err = capsys.readouterr().err
    assert f"Run {audit_pack.run_id} is a satisfaction audit" in err and "Traceback" not in err
