"""deploy/systemd/*.service pass `systemd-analyze verify` once their placeholder folder is replaced
by this checkout (as the README tells), and carry the settings the README promises."""

from __future__ import annotations

import configparser
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
UNITS = sorted((ROOT / "deploy" / "systemd").glob("*.service"))
PLACEHOLDER = "/opt/coalition-metrics"


def _analyze() -> str:
    found = shutil.which("systemd-analyze")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("systemd-analyze is missing in CI: .ci/run installs it (apt-get install systemd)")
        pytest.skip("systemd-analyze is not installed here (apt-get install systemd); CI installs it")
    return found


def _installed_copy(unit: Path, folder: Path) -> Path:
    copy = folder / unit.name
    copy.write_text(unit.read_text().replace(PLACEHOLDER, str(ROOT)))
    return copy


def test_both_units_are_shipped():
    assert [u.name for u in UNITS] == ["coalition-prefect-server.service", "coalition-serve.service"]


def test_units_verify_cleanly(tmp_path):
    analyze = _analyze()
    copies = [_installed_copy(u, tmp_path) for u in UNITS]
    r = subprocess.run([analyze, "verify", *map(str, copies)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.strip() == "" and r.stderr.strip() == "", (r.returncode, r.stdout, r.stderr)


def test_verify_catches_a_broken_unit(tmp_path):
    """The check above can fail: a misspelt key and a path that does not exist are reported."""
    analyze = _analyze()
    broken = _installed_copy(UNITS[1], tmp_path)
    broken.write_text(broken.read_text().replace("Restart=on-failure", "Restart=sometimes")
                      .replace(str(ROOT) + "/.venv/bin/coalition", "/nonexistent/coalition"))
    r = subprocess.run([analyze, "verify", str(broken)], capture_output=True, text=True, timeout=60)
    assert r.returncode != 0
    assert "sometimes" in r.stderr and "/nonexistent/coalition" in r.stderr


def _service(unit: Path) -> configparser.SectionProxy:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str
    parser.read_string(unit.read_text())
    return parser["Service"]


def test_units_restart_on_failure_and_keep_telemetry_off():
    for unit in UNITS:
        service = _service(unit)
        assert service["Restart"] == "on-failure", unit.name
        assert service["WorkingDirectory"] == PLACEHOLDER, unit.name
        text = unit.read_text()
        for setting in ("DO_NOT_TRACK=1", "PREFECT_SERVER_ANALYTICS_ENABLED=false",
                        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS=120"):
            assert f"Environment={setting}" in text, (unit.name, setting)
    serve = UNITS[1].read_text()
    assert "Environment=PREFECT_API_URL=http://127.0.0.1:4200/api" in serve
    assert "After=coalition-prefect-server.service" in serve
    assert "Environment=PREFECT_SERVER_PORT=4200" in UNITS[0].read_text()
