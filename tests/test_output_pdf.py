"""[output] pdf = false: the run publishes the HTML pages without printing the PDFs, and every
other output is what a run that prints them publishes."""

import os

from test_cli_errors import run_cli


def test_a_run_without_pdfs_publishes_the_same_files_but_the_pdfs(tmp_path, example_run):
    proc = run_cli("run", "--no-prefect", "--quarter", "2026-Q3", "--out", "out", cwd=tmp_path,
                   env_extra={"COALITION_OUTPUT_PDF": "false"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    (folder,) = (tmp_path / "out" / "2026-Q3").glob("2026*")
    with_pdfs = sorted(str(p.relative_to(example_run.folder)) for p in example_run.folder.rglob("*"))
    without = sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))
    assert without == [n for n in with_pdfs if not n.endswith(".pdf")] and "report.html" in without
    for name in ("funder_metrics.json", "funder_metrics.csv", "validation/quarantine.json", "validation/quarantine.csv"):
        assert (folder / name).read_bytes() == (example_run.folder / name).read_bytes(), name
    # the summary names the pages that exist
    assert f"  funder page: {folder / 'funder.html'}\n" in proc.stdout
    assert f"  report: {folder / 'report.html'}\n" in proc.stdout
    assert ".pdf" not in proc.stdout


def test_a_refresh_without_pdfs_publishes_the_funder_page_as_html(settings):
    from coalition_metrics.pipeline import run_refresh

    result = run_refresh(settings.with_overrides(output={"pdf": False}), as_of="2026-09-30")
    assert sorted(os.listdir(result.folder)) == ["config.json", "funder.html", "funder_metrics.csv",
                                                 "funder_metrics.json", "manifest.json", "validation"]
    assert "Riverside" in (result.folder / "funder.html").read_text(encoding="utf-8")


def test_the_run_summary_names_the_pdfs_when_they_were_printed(tmp_path, capsys):
    from coalition_metrics.cli import _print_run
    from coalition_metrics.plan import RunResult

    folder = tmp_path / "run"
    folder.mkdir()
    for name in ("report.html", "report.pdf", "funder.html", "funder.pdf"):
        (folder / name).write_text("x")
    _print_run(RunResult("r1", "2026-Q3", folder, folder / "report.html", {"quarantined_counts": {"survey": 2}}))
    out = capsys.readouterr().out
    assert f"  funder page: {folder / 'funder.pdf'} (and funder.html)\n" in out
    assert f"  report: {folder / 'report.html'} (and report.pdf)\n" in out
