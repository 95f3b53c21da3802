"""A portfolio file: several coalitions in one config (docs/portfolio.md).

A portfolio file is a coalition.toml whose sections are shared by every coalition, plus a list of
coalitions::

    [[portfolio.coalitions]]
    id = "riverside"                    # required, unique: 1-40 of a-z 0-9 _ -
    config = "riverside.toml"           # optional: a coalition.toml applied on top of the shared sections
    [portfolio.coalitions.source]       # optional inline sections, applied last
    location = "coalitions/riverside"   # relative to the file that names it

Each coalition's Settings are exactly what ``load_settings`` gives for one coalition.toml holding
the shared sections, then the entry's config file, then its inline sections (and ``[coalition]
id`` = the entry's id), so a coalition's portfolio run and its single run have the same settings
and config hash. Only PER_COALITION sections may differ between coalitions; the rest (output,
orchestration, write_back, ...) belong to the portfolio and may be set in the shared sections only.
"""

from __future__ import annotations

import copy
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import (DEFAULTS, Settings, _apply_env, _check_values, _merge, read_toml, resolve_paths)
from ..errors import ConfigError

PER_COALITION = ("coalition", "source", "tabs", "columns", "survey", "survey_items", "survey_scales",
                 "quarters", "metrics")
ENTRY_KEYS = ("id", "config")
ID_SHAPE = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")
SUMMARY_DIR = "portfolio"  # <out>/portfolio/<quarter>/<portfolio run id>/: no coalition may have this id


@dataclass(frozen=True)
class Portfolio:
    settings: Settings  # the shared sections (portfolio-wide settings: output, orchestration, ...)
    coalitions: list[Settings]  # one per entry, in the file's order, each with coalition_id set
    path: Path

    @property
    def ids(self) -> list[str]:
        return [s.coalition_id for s in self.coalitions]


def is_portfolio(path: str | Path | None) -> bool:
    """True when ``path`` is a TOML file with a [portfolio] section (or [[portfolio.coalitions]]);
    a file that cannot be read is left to load_settings / load_portfolio to explain."""
    if path is None:
        return False
    try:
        return "portfolio" in tomllib.loads(Path(path).read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return False


def load_portfolio(path: str | Path, environ: dict[str, str] | None = None) -> Portfolio:
    """Read a portfolio file: the shared Settings and each coalition's Settings (ConfigError, one
    paragraph naming the entry and the setting, for anything wrong)."""
    import os

    env = dict(os.environ if environ is None else environ)
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"Portfolio file {path} does not exist. Pass the path of your portfolio.toml with --config.")
    where = str(path)
    doc = read_toml(path)
    block = doc.pop("portfolio", None)
    entries = _entries(block, where)
    base_dir = path.resolve().parent
    shared_env = _portfolio_env(env, where)

    shared_file = copy.deepcopy(doc)
    source = shared_file.get("source")
    if isinstance(source, dict) and "location" in source:
        raise ConfigError(f"{where}: [source] location is set in the shared sections, which would give every "
                          f"coalition the same source. Set it for each coalition, in its entry "
                          f"([portfolio.coalitions.source] location) or in its config file.")
    shared = copy.deepcopy(DEFAULTS)
    _merge(shared, _resolved(shared_file, base_dir), where)
    _apply_env(shared, shared_env)
    _check_values(shared, where)
    resolve_paths(shared, base_dir)
    _credentials_from_env(shared, env)
    settings = Settings(shared, path, base_dir)

    coalitions = []
    seen: dict[str, int] = {}
    for number, entry in enumerate(entries, start=1):
        cid = _entry_id(entry, number, where)
        if cid in seen:
            raise ConfigError(f"{where}: [[portfolio.coalitions]] entries {seen[cid]} and {number} both have id "
                              f"{cid!r}; each coalition needs an id of its own (it names its output folder).")
        seen[cid] = number
        coalitions.append(_coalition(entry, cid, number, doc, base_dir, where, shared_env, env))
    return Portfolio(settings, coalitions, path)


def _entries(block: Any, where: str) -> list[dict[str, Any]]:
    if not isinstance(block, dict):
        raise ConfigError(f"{where}: [portfolio] must be a table holding [[portfolio.coalitions]] entries, not "
                          f"{block!r}.")
    unknown = [k for k in block if k != "coalitions"]
    if unknown:
        raise ConfigError(f"{where}: unknown setting '{unknown[0]}' in [portfolio]; it holds only the "
                          f"[[portfolio.coalitions]] entries.")
    entries = block.get("coalitions")
    if not isinstance(entries, list) or not entries or not all(isinstance(e, dict) for e in entries):
        raise ConfigError(f"{where}: [portfolio] lists no coalitions; add one [[portfolio.coalitions]] entry per "
                          f"coalition, each with an id and its source.")
    return entries


def _entry_id(entry: dict[str, Any], number: int, where: str) -> str:
    cid = entry.get("id")
    if cid is None:
        raise ConfigError(f"{where}: [[portfolio.coalitions]] entry {number} has no id; give it one like "
                          f"id = \"riverside\" (it names the coalition's output folder).")
    if not isinstance(cid, str) or not ID_SHAPE.fullmatch(cid):
        raise ConfigError(f"{where}: [[portfolio.coalitions]] entry {number} has id {cid!r}; an id is 1 to 40 "
                          f"characters of lower-case letters, digits, '_' and '-', starting with a letter or "
                          f"digit, like \"riverside\" or \"north-county_2\".")
    if cid == SUMMARY_DIR:
        raise ConfigError(f"{where}: [[portfolio.coalitions]] entry {number} has id {cid!r}, the name of the "
                          f"folder the portfolio summary goes in (<output folder>/{SUMMARY_DIR}/); give the "
                          f"coalition another id.")
    return cid


def _coalition(entry: dict[str, Any], cid: str, number: int, shared_doc: dict[str, Any], base_dir: Path,
               where: str, shared_env: dict[str, str], env: dict[str, str]) -> Settings:
    """One coalition's Settings: defaults, shared sections, its config file, its inline sections."""
    name = f"{where}: coalition {cid!r} (entry {number})"
    for key, value in entry.items():
        if key in ENTRY_KEYS:
            continue
        if key in PER_COALITION:
            if not isinstance(value, dict):
                raise ConfigError(f"{name}: [portfolio.coalitions.{key}] must be a table of settings, not {value!r}.")
            continue
        if key in DEFAULTS or key == "portfolio":
            raise ConfigError(f"{name} sets [{key}], which is portfolio-wide: set it once in the portfolio file's "
                              f"shared sections. A coalition may set only {', '.join(PER_COALITION)}.")
        raise ConfigError(f"{name}: unknown setting '{key}'. An entry holds id, config (a coalition.toml) and "
                          f"the per-coalition sections {', '.join(PER_COALITION)}.")
    data = copy.deepcopy(DEFAULTS)
    _merge(data, _resolved(copy.deepcopy(shared_doc), base_dir), where)
    located = False
    config = entry.get("config")
    if config is not None:
        if not isinstance(config, str) or not config.strip():
            raise ConfigError(f"{name}: config must be the path of a coalition.toml (relative to {where}), not {config!r}.")
        config_path = (base_dir / config).resolve()
        if not config_path.is_file():
            raise ConfigError(f"{name}: its config file {config_path} does not exist. Fix config = {config!r} "
                              f"(relative to the portfolio file) or remove it.")
        file_doc = read_toml(config_path)
        for section in file_doc:
            if section not in PER_COALITION:
                what = "portfolio-wide" if section in DEFAULTS or section == "portfolio" else "not a coalition section"
                raise ConfigError(f"{name}: its config file {config_path} sets [{section}], which is {what}; a "
                                  f"coalition's file may set only {', '.join(PER_COALITION)} (set [{section}] once in "
                                  f"the portfolio file).")
        located |= "location" in (file_doc.get("source") or {})
        _merge(data, _resolved(file_doc, config_path.parent), f"{config_path} (coalition {cid!r})")
    inline = {k: copy.deepcopy(v) for k, v in entry.items() if k in PER_COALITION}
    located |= "location" in inline.get("source", {})
    _merge(data, _resolved(inline, base_dir), name)
    if not located:
        raise ConfigError(f"{name} has no source: set [portfolio.coalitions.source] location (a CSV folder, an "
                          f".xlsx workbook or a Google Sheet URL) in its entry, or in its config file.")
    given = data["coalition"]["id"]
    if given not in (DEFAULTS["coalition"]["id"], cid):
        raise ConfigError(f"{name}: [coalition] id = {given!r} differs from the entry's id {cid!r}; leave [coalition] "
                          f"id out (the entry's id is the coalition's id).")
    data["coalition"]["id"] = cid
    _apply_env(data, shared_env)
    _check_values(data, name)
    resolve_paths(data, base_dir)  # defaults and environment values, as load_settings does
    _credentials_from_env(data, env)
    return Settings(data, Path(where), base_dir)


def _resolved(doc: dict[str, Any], base_dir: Path) -> dict[str, Any]:
    """The file's sections with its relative paths made absolute against its own folder."""
    holder = {section: dict(values) if isinstance(values, dict) else values for section, values in doc.items()}
    resolve_paths({k: v for k, v in holder.items() if isinstance(v, dict)}, base_dir)
    return holder


def _portfolio_env(env: dict[str, str], where: str) -> dict[str, str]:
    """The COALITION_* overrides a portfolio accepts: portfolio-wide settings only (an override of a
    per-coalition setting would silently give every coalition the same value)."""
    out = {}
    for name, value in env.items():
        if not name.startswith("COALITION_") or name == "COALITION_CONFIG":
            continue
        rest = name[len("COALITION_"):].lower()
        section = next((s for s in sorted(DEFAULTS, key=len, reverse=True) if rest.startswith(s + "_")), None)
        if section in PER_COALITION:
            raise ConfigError(f"Environment variable {name} overrides [{section}], which each coalition of the "
                              f"portfolio {where} sets for itself; unset it and set the value in the portfolio file.")
        out[name] = value
    return out


def _credentials_from_env(data: dict[str, Any], env: dict[str, str]) -> None:
    if not data["source"]["credentials_file"] and env.get("GOOGLE_APPLICATION_CREDENTIALS"):
        data["source"]["credentials_file"] = env["GOOGLE_APPLICATION_CREDENTIALS"]
