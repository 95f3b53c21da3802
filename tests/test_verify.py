"""`coalition verify RUN_ID` and replay.py: a published run recomputed from its snapshot with its saved
config matches byte for byte; an altered snapshot file or config is named with the figures it changes.

The published quarterly run is conftest's example_run (2026-Q3); a test that alters a run works on a
copy of its output folder."""

import json
import shutil
import stat

import pytest

from coalition_metrics.cli import main


@pytest.fixture(scope="module")
def example_out(example_run):
    return example_run.folder.parent.parent


@pytest.fixture
def out_copy(example_out, tmp_path):
    """A copy of the example run's output folder (database, snapshots, run folders) to alter."""
    target = tmp_path / "out"
    shutil.copytree(example_out, target)
    return target


@pytest.fixture(scope="module")
def refresh_out(tmp_path_factory):
    """An output folder with a refresh run (published) and a quarterly run that failed."""
    from coalition_metrics.config import load_settings
    from coalition_metrics.pipeline import run_quarterly, run_refresh

    out = tmp_path_factory.mktemp("refresh-out")
    s = load_settings(None, environ={})
    refresh = run_refresh(s, out=out, as_of="2026-11-20")
    with pytest.raises(Exception):
        run_quarterly(s, quarter="2026-Q3", out=out, from_snapshot="nonexistent")
    return out, refresh


def verify(capsys, *args):
    code = main(["verify", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def _writable(path):
    path.chmod(path.stat().st_mode | stat.S_IWUSR)
    return path


def test_verify_passes_on_the_example_run(example_run, example_out, capsys):
    from coalition_metrics.registry import load_registry

    code, out, err = verify(capsys, example_run.run_id, "--out", example_out)
    assert code == 0, out + err
    lines = out.splitlines()
    assert lines[0].startswith(f"Verifying run {example_run.run_id} (quarterly-report 2026-Q3, as of 2026-09-30)")
    assert "  snapshot " + example_run.manifest["snapshot"]["id"][:12] + ": 8 files match the manifest's hashes" in lines
    assert f"  config: config.json matches the manifest's config_hash {example_run.manifest['config_hash'][:12]}…" in lines
    groups = {line.split(":")[0]: line for line in lines if line.endswith(" figures match")}
    # every metric group with figures is listed, each matching; the default instrument declares no
    # composite scale, so only the scale figures have none
    assert set(groups) == {m.id for m in load_registry()} - {"scale_mean", "scale_ci_low", "scale_ci_high"}
    assert groups["attendance_rate"] == "attendance_rate: 32 figures match"  # 8 quarters x (overall + 3 kinds)
    assert "funder_metrics.csv: identical bytes" in lines and "funder_metrics.json: identical bytes" in lines
    assert "manifest.json metrics: identical to the recomputed figures" in lines
    assert lines[-1].startswith("Verdict: MATCHES. All 827 published figures of 35 metrics")


def test_the_run_folder_keeps_its_config_whose_hash_is_the_manifests(example_run, settings):
    from coalition_metrics.publish import config_json
    from coalition_metrics.replay import saved_config_hash, settings_from_saved

    doc = json.loads((example_run.folder / "config.json").read_text())
    assert saved_config_hash(doc) == example_run.manifest["config_hash"]
    assert settings_from_saved(doc, "config.json").config_hash() == example_run.manifest["config_hash"]
    assert doc["metrics"]["small_n"] == 5 and doc["source"]["credentials_file"] is False
    # A credentials file is recorded as set, never by its path or content; the hash still agrees.
    with_key = settings.with_overrides(source={"credentials_file": "/secret/service-account.json"})
    text = config_json(with_key)
    assert '"credentials_file": true' in text and "/secret" not in text
    assert saved_config_hash(json.loads(text)) == with_key.config_hash()


def test_an_altered_snapshot_file_is_named_with_the_figures_it_changes(example_run, out_copy, capsys):
    snap = out_copy / "snapshots" / example_run.manifest["snapshot"]["id"]
    tasks = _writable(snap / "tasks.json")
    text = tasks.read_text()
    done = '"T063","Policy: map referral pathways","Policy","M01","M01","7/19/2026","8/20/2026","8/12/2026","done"'
    assert done in text
    tasks.write_text(text.replace(done, done.replace('"8/12/2026","done"', '"","in progress"')))

    code, out, err = verify(capsys, example_run.run_id[:12], "--out", out_copy, "--format", "json")
    assert code == 1, out + err
    doc = json.loads(out)
    assert doc["verdict"] == "differ" and doc["exit_code"] == 1
    assert len(doc["causes"]) == 1
    assert doc["causes"][0].startswith(
        f"snapshot file tasks.json (the tasks tab) changed (hash in manifest "
        f"{example_run.manifest['snapshot']['tabs']['tasks'][:12]}…, now ")
    changed = {m["metric_id"]: m["differences"] for m in doc["metrics"] if m["differ"]}
    assert set(changed) == {"task_completion_rate", "on_time_rate", "overdue_open"}
    assert changed["task_completion_rate"] == [{  # T063 was due in Q3 and done: 8 of 9, now 7 of 9
        "published_id": "task_completion_rate", "quarter": "2026-Q3",
        "published": {"value": "0.8888888888888888", "n": "9", "suppressed": "false"},
        "recomputed": {"value": "0.7777777777777778", "n": "9", "suppressed": "false"}}]
    assert changed["overdue_open"][0]["published"]["value"] == "10.0"
    assert changed["overdue_open"][0]["recomputed"]["value"] == "11.0"
    assert all(m["match"] + m["differ"] == 8 for m in doc["metrics"] if m["metric_id"] in changed)
    assert doc["files"]["funder_metrics.csv"].startswith("differs from line ")
    assert doc["files"]["funder_metrics.json"] != "identical"
    assert doc["files"]["manifest.json metrics"] == ("differs from the recomputed funder figures of 2026-Q3 at "
                                                     "task_completion_rate")


def test_an_edited_config_is_named(example_run, out_copy, capsys):
    config = out_copy / "2026-Q3" / example_run.run_id / "config.json"
    config.write_text(config.read_text().replace('"small_n": 5', '"small_n": 3'))

    code, out, err = verify(capsys, example_run.run_id, "--out", out_copy)
    assert code == 1, out + err
    verdict = out.splitlines()[-1]
    assert verdict.startswith("Verdict: DIFFERS. Differing from what the run published: 60 of 827 figures (11 metrics: "
                              "satisfaction_mean, item_mean,")
    assert ("Likely cause: config changed: the run's config.json hash" in verdict
            and f"differs from the manifest's config_hash {example_run.manifest['config_hash'][:12]}…." in verdict)
    assert "  config: config.json differs from the manifest's config_hash" in out
    # 2025-Q1 had 4 responses: suppressed under small_n 5, a figure under 3.
    assert ("    satisfaction_mean 2025-Q1: value published null, recomputed 3.5; suppressed published true, "
            "recomputed false") in out
    assert "differs from the run's in [metrics] small_n" in out  # the note on the current config


def test_a_run_published_without_its_config_is_recomputed_with_the_current_one(example_run, out_copy, capsys):
    (out_copy / "2026-Q3" / example_run.run_id / "config.json").unlink()
    code, out, err = verify(capsys, example_run.run_id, "--out", out_copy)
    assert code == 0, out + err
    assert "  config: the run has no config.json (published before runs saved their config); recomputed with the " \
           "current config" in out
    assert "was published before runs saved their config, so it was recomputed with the current config" in out


def test_a_refresh_run_verifies(refresh_out, capsys):
    out, refresh = refresh_out
    code, text, err = verify(capsys, refresh.run_id, "--out", out)
    assert code == 0, text + err
    assert text.splitlines()[0].startswith(f"Verifying run {refresh.run_id} (refresh-funder-metrics 2026-Q4, as of 2026-11-20)")
    assert "funder_metrics.json: identical bytes" in text and "Verdict: MATCHES." in text
    assert f"  config: config.json matches the manifest's config_hash {refresh.manifest['config_hash'][:12]}…" in text
    assert "manifest.json metrics: identical to the recomputed figures" in text


def test_unknown_and_unpublished_runs_are_refused_in_one_paragraph(refresh_out, capsys):
    from coalition_metrics.runs import list_runs
    from coalition_metrics.config import load_settings

    out, _ = refresh_out
    code, text, err = verify(capsys, "20991231T000000000Z-abcd", "--out", out)
    assert code == 2 and text == ""
    assert err.startswith("error: No published run '20991231T000000000Z-abcd' under ") and err.count("\n") == 1
    assert "Traceback" not in err

    failed = next(r for r in list_runs(out, load_settings(None, environ={})) if r["status"] == "failed")
    code, text, err = verify(capsys, failed["run_id"], "--out", out)
    assert code == 2 and text == "" and err.count("\n") == 1
    assert err.startswith(f"error: Run {failed['run_id']} failed (") and "published nothing" in err


def test_a_damaged_database_is_one_paragraph(example_run, out_copy, capsys):
    (out_copy / "coalition.duckdb").write_bytes(b"not a database" * 100)
    code, text, err = verify(capsys, example_run.run_id, "--out", out_copy)
    assert code == 2 and text == "" and err.count("\n") == 1
    assert "is damaged or is not a coalition database" in err


def test_replay_builds_the_same_tables_as_the_live_database(example_run, example_out, tmp_path):
    from coalition_metrics.coalition_db import coalition_view
    from coalition_metrics.replay import replay_run

    # both sides as the readers see them: the coalition's tables under their names (coalition_view)
    live_view = coalition_view(example_out / "coalition.duckdb", "coalition")
    live = live_view.con
    try:
        tables = live.execute("""select table_schema, table_name from information_schema.tables
                                 where table_catalog = current_database()
                                   and table_schema in ('raw', 'staging', 'marts', 'quarantine', 'ref')
                                 order by all""").fetchall()
        with replay_run(example_run.run_id[:15], example_out, work_dir=tmp_path) as replay:
            assert replay.run.run_id == example_run.run_id and replay.config_source == "saved"
            assert replay.settings.config_hash() == example_run.manifest["config_hash"]
            assert str(replay.folder).startswith(str(tmp_path))
            mine = replay.con.execute("""select table_schema, table_name from information_schema.tables
                                         where table_catalog = current_database()
                                           and table_schema in ('raw', 'staging', 'marts', 'quarantine', 'ref')
                                         order by all""").fetchall()
            assert mine == tables and ("marts", "published_metrics") in tables
            for schema, table in tables:
                query = f"select * from {schema}.{table} order by all"
                assert replay.con.execute(query).fetchall() == live.execute(query).fetchall(), f"{schema}.{table}"
            folder = replay.folder
    finally:
        live_view.close()
    assert not folder.exists()  # the private database is gone with the replay
    assert not (example_out / "coalition.duckdb.wal").exists()


def test_a_config_that_no_longer_reads_is_named_without_recomputing(example_run, out_copy, capsys):
    config = out_copy / "2026-Q3" / example_run.run_id / "config.json"
    config.write_text('{"metrics": ')
    code, out, err = verify(capsys, example_run.run_id, "--out", out_copy)
    assert code == 1, out + err
    assert "the recomputation could not start: the run's config.json cannot be used as its config" in out
    assert out.splitlines()[-1].startswith("Verdict: DIFFERS. The run could not be recomputed from its inputs as they "
                                           "are now. Likely cause: config changed: the run's config.json cannot be read")


def test_a_snapshot_file_altered_so_the_run_no_longer_validates_is_named(example_run, out_copy, capsys):
    attendance = _writable(out_copy / "snapshots" / example_run.manifest["snapshot"]["id"] / "attendance.json")
    attendance.write_text(attendance.read_text().replace('"status"', '"state"', 1))
    code, out, err = verify(capsys, example_run.run_id, "--out", out_copy)
    assert code == 1 and err == "", out + err
    assert "the recomputation stopped: Validation stopped the run; nothing was published. - Tab 'attendance' has " \
           "no required column 'status'" in out
    assert "Likely cause: snapshot file attendance.json (the attendance tab) changed (hash in manifest" in out
