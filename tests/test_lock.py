"""The installed environment is the lock: requirements.lock pins every package of the tree, agrees
with pyproject.toml's own pins, and is what `make install` put into this venv."""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements.lock"


def _locked() -> dict[str, tuple[str, str | None]]:
    """name -> (version, marker) for every line of the lock."""
    pins = {}
    for line in LOCK.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        req = Requirement(line)
        (spec,) = req.specifier  # exactly one ==X pin per package
        assert spec.operator == "==", line
        pins[canonicalize_name(req.name)] = (spec.version, str(req.marker) if req.marker else None)
    return pins


def _declared() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return [Requirement(r) for r in project["dependencies"] + project["optional-dependencies"]["test"]]


def test_every_declared_dependency_is_locked_at_a_version_it_allows():
    locked = _locked()
    for req in _declared():
        name = canonicalize_name(req.name)
        assert name in locked, f"{req.name} is in pyproject.toml but not in requirements.lock: run `make lock`"
        assert req.specifier.contains(locked[name][0]), f"{req} but the lock has {locked[name][0]}: run `make lock`"


def test_sqlalchemy_is_locked_below_2_1():
    """Prefect 3.8.8's scheduler fails on every loop with SQLAlchemy 2.1 (bulk_dml)."""
    version = _locked()["sqlalchemy"][0]
    assert re.fullmatch(r"2\.0\.\d+", version), version
    assert metadata.version("sqlalchemy") == version


def test_this_environment_holds_exactly_the_locked_versions():
    locked = _locked()
    assert len(locked) > 100  # the whole tree, not only the top-level pins
    wrong = {}
    for name, (version, marker) in locked.items():
        if marker and not Marker(marker).evaluate():
            continue
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            installed = None
        if installed != version:
            wrong[name] = (installed, version)
    assert wrong == {}, f"installed vs locked (reinstall with `make install`): {wrong}"


def test_the_lock_tool_is_not_part_of_the_install():
    names = set(_locked())
    assert not names & {"uv", "pip-tools"}
