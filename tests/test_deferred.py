"""Modules imported on first use (coalition_metrics.deferred) and what a run no longer imports:
Great Expectations starts without altair and scipy.stats, and the figures that need Student's t
take it from scipy.special, equal to scipy.stats bit for bit."""

import json
import subprocess
import sys
import textwrap

import numpy as np
from scipy import stats

from coalition_metrics import deferred
from coalition_metrics.student_t import t_quantile, two_sided_p, two_sided_ps


def test_a_deferred_module_runs_on_its_first_attribute(tmp_path, monkeypatch):
    pkg = tmp_path / "lazypkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "heavy.py").write_text("import os\nos.environ['LAZYPKG_LOADS'] = str(int(os.environ.get('LAZYPKG_LOADS', '0')) + 1)\n"
                                  "ANSWER = 42\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delenv("LAZYPKG_LOADS", raising=False)
    try:
        deferred.defer("lazypkg.heavy")
        import lazypkg.heavy as h1
        from lazypkg import heavy as h2

        import os

        assert "LAZYPKG_LOADS" not in os.environ  # imported by name only: nothing ran
        assert not deferred.is_loaded("lazypkg.heavy")
        assert h1.ANSWER == 42 and h2.ANSWER == 42
        assert os.environ["LAZYPKG_LOADS"] == "1"  # ran once, for both names
        assert deferred.is_loaded("lazypkg.heavy")
        assert sys.modules["lazypkg.heavy"].ANSWER == 42
        deferred.defer("lazypkg.heavy")  # already imported: left alone
        assert deferred.is_loaded("lazypkg.heavy")
    finally:
        for name in ("lazypkg.heavy", "lazypkg"):
            sys.modules.pop(name, None)


def test_t_from_scipy_special_is_scipy_stats_bit_for_bit():
    dfs = np.arange(1, 20001)
    assert t_quantile(0.975, dfs).tolist() == stats.t.ppf(0.975, dfs).astype(float).tolist()
    rng = np.random.default_rng(7)
    t_stat, df = rng.normal(0, 4, 5000), rng.uniform(0.5, 3000, 5000)
    expected = [float(2 * stats.t.sf(abs(t), d)) for t, d in zip(t_stat, df)]
    assert [two_sided_p(t, d) for t, d in zip(t_stat, df)] == expected
    # the SQL's one call for every pair of a build (cm_t_two_sided_ps) gives the same floats, and no
    # test where there is none: t or df null, t NaN, df 0 or negative
    untested = [(None, 3.0), (1.5, None), (float("nan"), 3.0), (1.5, 0.0), (1.5, -2.0)]
    ts = [*t_stat.tolist(), *(t for t, _ in untested)]
    ds = [*df.tolist(), *(d for _, d in untested)]
    assert two_sided_ps(ts, ds) == expected + [None] * len(untested)
    assert two_sided_ps([], []) == []


def test_the_example_run_never_imports_altair_or_scipy_stats(tmp_path):
    """The whole run without Prefect (validation with Great Expectations in this process, the models,
    publishing) imports neither: 1.5-2 s of imports per process saved. Nor sqlalchemy and Google's
    libraries, which Great Expectations imports without them (deferred.left_out: 1.5-1.7 s); both
    still import afterwards, as Prefect and a Google Sheet's extract import them."""
    code = textwrap.dedent(f"""
        import json, os, sys
        os.environ["COALITION_OUTPUT_PDF"] = "false"
        from coalition_metrics import deferred
        from coalition_metrics.config import load_settings
        from coalition_metrics.pipeline import run_quarterly
        result = run_quarterly(load_settings(None), "2026-Q3", out={str(tmp_path)!r}, write_back=False)
        import great_expectations
        left = {{name: name in sys.modules for name in ("sqlalchemy", "google")}}
        import sqlalchemy, google.auth
        print(json.dumps({{"published": (result.folder / "funder_metrics.csv").is_file(), "gx": "great_expectations" in sys.modules,
                          "altair": deferred.is_loaded("altair"), "scipy.stats": deferred.is_loaded("scipy.stats"),
                          "left out": left, "later": [sqlalchemy.__name__, google.auth.__name__]}}))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got == {"published": True, "gx": True, "altair": False, "scipy.stats": False,
                   "left out": {"sqlalchemy": False, "google": False}, "later": ["sqlalchemy", "google.auth"]}
