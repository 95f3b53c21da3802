"""The one Settings object: a TOML file, overridden by environment variables.

Lookup order for the file: ``--config PATH``, then ``$COALITION_CONFIG``, then ``./coalition.toml``;
with none of them, the embedded defaults run the bundled example coalition.

Every setting can be overridden from the environment as ``COALITION_<SECTION>_<KEY>`` (for example
``COALITION_SOURCE_LOCATION`` or ``COALITION_QUARTERS_FISCAL_YEAR_START_MONTH``). Unknown sections
or keys are an error, so a misspelled key fails at start instead of being ignored.

This module is the only reader of the environment (apart from the standard
``GOOGLE_APPLICATION_CREDENTIALS``, also read here).
"""

from __future__ import annotations

import re

import copy
import hashlib
import json
import math
import os
import tomllib
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .instrument import Instrument, build_instrument

PROJECT_ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_DIR = PROJECT_ROOT / "examples" / "riverside"

TABS = ("members", "meetings", "attendance", "survey", "tasks", "goals", "goal_measurements", "milestones")

DEFAULT_ITEMS = {
    "satisfaction": "Overall, how satisfied are you with your organization's participation in the coalition?",
    "trust": "I trust the other members of this coalition to follow through on their commitments.",
    "voice_heard": "My organization's voice is heard in coalition decisions.",
    "shared_vision": "Members share a clear, common vision of what the coalition is trying to achieve.",
    "communication": "Communication among members is timely and useful.",
    "value_received": "The benefits of participating outweigh the costs for my organization.",
}

# The schema: every section, every key, its default. Types are checked against the default's type.
DEFAULTS: dict[str, dict[str, Any]] = {
    # id: the coalition's id in a portfolio's one database (every raw/staging/marts/lineage table's
    # coalition_id); a single run is "coalition".
    "coalition": {"name": "Riverside Health Equity Coalition", "id": "coalition"},
    "source": {
        # A CSV folder, an .xlsx workbook, or a Google Sheets URL or key.
        "location": str(EXAMPLE_DIR / "csv"),
        # Service-account JSON key file for Google Sheets (or GOOGLE_APPLICATION_CREDENTIALS).
        "credentials_file": "",
        # How dates typed as text are read: "M/D/YYYY" (US, Google Forms) or "D/M/YYYY".
        "date_format": "M/D/YYYY",
        # Google Sheets: "unformatted" reads date cells as serial numbers (locale-proof);
        # "formatted" reads what the sheet shows.
        "value_render": "unformatted",
        # Google Sheets: seconds to wait between retries of a 429 or 5xx answer.
        "retry_delays": [1.0, 2.0, 4.0, 8.0, 16.0],
        "timeout_seconds": 60.0,
        # Google Sheets: read requests per minute per service account (the API's default quota),
        # shared by every worker of a run through a Prefect global concurrency limit (ratelimit.py).
        "sheets_reads_per_minute": 60,
    },
    "tabs": {t: t for t in TABS},
    # A tab whose header differs from the contract's column name: tab = { column = "Sheet header" },
    # e.g. tasks = { owner_id = "Owner", due_on = "Due date" }. The survey's headers are set in
    # [survey] and [survey_items].
    "columns": {t: {} for t in TABS if t != "survey"},
    "survey": {
        # Header of the respondent column: organization name or member id. "" = anonymous survey.
        "respondent_column": "Organization",
        "timestamp_column": "Timestamp",
        "scale_min": 1,
        "scale_max": 5,
        # true: the six default items (DEFAULT_ITEMS) are part of the instrument, [survey_items]
        # overrides their question text and adds items; false: the instrument is exactly [survey_items].
        "default_items": True,
        # The item each figure rests on ("" = none): satisfaction_mean and satisfaction_change, voice_gap,
        # and the line beside satisfaction in the survey chart. A default naming an item the instrument
        # lacks leaves those figures "no data"; any other name must be an item.
        "satisfaction_item": "satisfaction",
        "voice_item": "voice_heard",
        "trust_item": "trust",
    },
    # The instrument's items (instrument.py): code = "question text", or code = { question = "...",
    # scale = [1, 5], labels = [...], reverse = false, funder = true }. Keys are the survey's own codes.
    "survey_items": {},
    # Composite scales: code = { name = "...", items = [...], bands = [{ label, min }, ...], funder,
    # min_items }; and, as before, an item answered on another scale than [survey]: item = [min, max].
    "survey_scales": {},
    "quarters": {
        # 1 = calendar quarters; 7 = fiscal year from July (labels like FY2027-Q1).
        "fiscal_year_start_month": 1,
    },
    "metrics": {
        # Meeting kinds counted for attendance, engagement and alerts.
        "counted_kinds": ["weekly_call", "monthly_call", "quarterly_meeting"],
        # Any survey figure over fewer responses than this is published as suppressed (n<5).
        "small_n": 5,
        # disengagement_alerts: a member's attendance rate falling by at least this much from last
        # quarter (0.25 = 25 points), or absent from this many expected meetings in a row.
        "alert_drop": 0.25,
        "alert_absences": 3,
        # single_champion_risk: one member holds more than this share of tasks or facilitation.
        "champion_share": 0.40,
        # on_track: goal_progress >= expected_progress - this margin.
        "on_track_margin": 0.10,
        # voice_gap pools the voice_heard answers of this many waves (4 = a rolling year).
        "voice_gap_waves": 4,
    },
    # The report's pitfall watch (pitfalls.py): where each signal turns from "ok" to "watch" and from
    # "watch" to "act". The single-champion "act" line is [metrics] champion_share.
    "pitfall_watch": {
        # Unclear roles: tasks due in the quarter with a RACI gap; act from this many (watch from 1).
        "raci_gaps_act": 3,
        # Single champion: watch when one member holds more than this share of tasks or facilitation.
        "champion_watch": 0.30,
        # Mission creep: goal_focus_share below these shares.
        "goal_focus_watch": 0.75,
        "goal_focus_act": 0.50,
        # Neglected communication: cadence_adherence below these shares.
        "cadence_watch": 0.90,
        "cadence_act": 0.75,
        # Ignored power dynamics: voice_gap (large minus small members, 1-5 scale) at or beyond these
        # points either way.
        "voice_gap_watch": 0.5,
        "voice_gap_act": 1.0,
        # Member disengagement: watch from one alert; act when alerts reach this share of the roster.
        "alerts_act_share": 0.25,
    },
    # goal_focus_share: workstream name (as in the tasks tab's workstream column, matched as
    # enumerations are: trimmed, case-folded, spaces, hyphens and underscores alike) = the goal id
    # its tasks serve, e.g. "Data & evaluation" = "G2"; "" = not tied to a goal. A task's own
    # goal_id, when filled in, wins over this mapping.
    # Keys are free text, so this section is set in the config file only (no environment override).
    "workstreams": {},
    # cadence_adherence: meetings of each kind expected per quarter (0 = no expected cadence).
    "cadence": {"weekly_call": 13, "monthly_call": 3, "quarterly_meeting": 1, "committee": 0, "event": 0},
    "validation": {
        # A tab with more than this share of its rows quarantined stops the run.
        "max_bad_share": 0.20,
    },
    "output": {
        # Run folders, snapshots and the DuckDB database go here.
        "folder": "output",
        # A run waits this long for another run to finish with the database, then stops.
        "lock_timeout_seconds": 600.0,
        # Print report.pdf and funder.pdf (WeasyPrint, 5-6 s a run) beside their HTML pages; false
        # publishes the HTML pages only, e.g. for a coordinator's quick refresh of the figures.
        "pdf": True,
        # Build explain's row listings (transforms/lineage) with every run: `coalition explain` then
        # answers at once. Their size grows with rows x quarters (a sheet row is listed for every
        # quarter), so for a very large coalition false saves most of the transform time; explain
        # then replays the run from its snapshot when asked. A portfolio never builds them.
        "lineage": True,
        # ... but not when the coalition's sheet rows x reporting quarters exceed this (0: no limit):
        # listed rows are 4-6 per row-quarter, so 1,000,000 is about 5 million listed rows, a few
        # seconds and under 1 GiB; 147,000 rows over 41 quarters listed 33.6 million in 27 s at
        # 2.3 GiB, 1.3 million over 80 quarters took 9 minutes and 19 GiB. Explain replays such a run.
        "lineage_max_row_quarters": 1_000_000,
    },
    "write_back": {
        # A run or refresh whose source is a Google Sheet writes its funder table to a tab of that
        # sheet (share the sheet with the service account as Editor). --no-write-back skips it.
        "enabled": True,
        # The tab it replaces (created if missing); never one of the data tabs in [tabs].
        "tab": "Funder metrics",
    },
    "orchestration": {
        # Time zone of the quarterly schedule (cron 0 6 1 <quarter start months> *), an IANA name.
        "timezone": "UTC",
        # The extract task: how often a run retries a Google Sheets outage that outlasted the
        # client's own retries ([source] retry_delays), and the seconds to wait before each retry.
        "extract_retries": 2,
        "extract_retry_delays": [60.0, 300.0],
        # A flow run that takes longer than this is stopped and marked failed.
        "flow_timeout_seconds": 3600.0,
        # A portfolio's per-coalition extract -> snapshot -> validate tasks: "dask" (a Dask cluster,
        # through prefect-dask) or "sequential" (one after another in the flow's process).
        "task_runner": "dask",
        # A portfolio run without Prefect (--no-prefect): its coalitions are prepared and published
        # in this many worker processes (the Prefect flow publishes in them); 0 = one per CPU core,
        # once there are 10 coalitions per core (a worker costs about 3 s to start), 1 = all in the
        # run's own process.
        "portfolio_processes": 0,
        # "" = a local Dask cluster of dask_workers processes; "tcp://host:8786" = a running
        # dask.distributed scheduler (its workers need this project's lock installed).
        "dask_address": "",
        "dask_workers": 2,
    },
}

# The [survey] roles' defaults name default items; an instrument without them leaves those figures "no data".
DEFAULT_ROLES = {key: DEFAULTS["survey"][key] for key in ("satisfaction_item", "voice_item", "trust_item")}
# Sections whose keys are the coalition's own names (not a fixed schema): every value is text.
FREE_KEY_SECTIONS = ("workstreams",)
# Sections whose keys are the survey's item and scale codes, checked by instrument.py.
INSTRUMENT_SECTIONS = ("survey_items", "survey_scales")


@dataclass(frozen=True)
class Settings:
    data: dict[str, Any]
    path: Path | None = None  # the config file, None for the embedded defaults
    base_dir: Path = field(default_factory=Path.cwd)

    # ---- convenient views -------------------------------------------------------------
    @property
    def coalition_name(self) -> str:
        return self.data["coalition"]["name"]

    @property
    def coalition_id(self) -> str:
        return self.data["coalition"]["id"]

    @property
    def source_location(self) -> str:
        return self.data["source"]["location"]

    @property
    def credentials_file(self) -> str:
        return self.data["source"]["credentials_file"]

    @property
    def date_format(self) -> str:
        return self.data["source"]["date_format"]

    @property
    def tabs(self) -> dict[str, str]:
        return self.data["tabs"]

    @property
    def columns(self) -> dict[str, dict[str, str]]:
        """Contract column -> the sheet's own header, per tab (only the mapped ones)."""
        return self.data["columns"]

    @property
    def survey(self) -> dict[str, Any]:
        return self.data["survey"]

    @cached_property
    def instrument(self) -> Instrument:
        """The survey's items, scales and roles (instrument.py), checked when the settings were read."""
        return build_instrument(self.data, DEFAULT_ITEMS, "the config", DEFAULT_ROLES)

    @property
    def survey_items(self) -> dict[str, str]:
        """Item code -> question text (the Forms column header), in the instrument's order."""
        return {i.code: i.question for i in self.instrument.items}

    def item_scale(self, item: str) -> tuple[int, int]:
        """(min, max) of an item's answers (its own scale, else the survey's)."""
        i = self.instrument.item(item)
        return i.scale_min, i.scale_max

    @property
    def workstreams(self) -> dict[str, str]:
        """[workstreams]: workstream name as written in the config -> goal id ("" = no goal)."""
        return self.data["workstreams"]

    @property
    def fiscal_year_start_month(self) -> int:
        return self.data["quarters"]["fiscal_year_start_month"]

    @property
    def counted_kinds(self) -> list[str]:
        return self.data["metrics"]["counted_kinds"]

    @property
    def small_n(self) -> int:
        return self.data["metrics"]["small_n"]

    @property
    def max_bad_share(self) -> float:
        return self.data["validation"]["max_bad_share"]

    @property
    def output_folder(self) -> Path:
        return Path(self.data["output"]["folder"])

    @property
    def print_pdfs(self) -> bool:
        """[output] pdf: print report.pdf and funder.pdf beside the HTML pages."""
        return self.data["output"]["pdf"]

    @property
    def build_lineage(self) -> bool:
        """[output] lineage: build transforms/lineage with the run (else explain replays the run)."""
        return self.data["output"]["lineage"]

    @property
    def lineage_max_row_quarters(self) -> int:
        """[output] lineage_max_row_quarters: a run whose sheet rows x reporting quarters exceed it
        builds no lineage (explain replays it); 0 = no limit."""
        return self.data["output"]["lineage_max_row_quarters"]

    def with_overrides(self, **section_keys: dict[str, Any]) -> "Settings":
        """A copy with some values replaced, e.g. ``with_overrides(source={"location": x})``."""
        data = copy.deepcopy(self.data)
        for section, values in section_keys.items():
            for key, value in values.items():
                data[section][key] = _coerce(section, key, value, "override")
        _check_values(data, "override")
        return Settings(data, self.path, self.base_dir)

    def config_hash(self) -> str:
        """SHA-256 of the settings as canonical JSON (paths as given, no secrets in it)."""
        blob = json.dumps(self.public_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()

    def public_dict(self) -> dict[str, Any]:
        """The settings without anything secret (the credentials path is replaced by a flag)."""
        data = copy.deepcopy(self.data)
        data["source"]["credentials_file"] = bool(data["source"]["credentials_file"])
        return data


def load_settings(path: str | Path | None = None, environ: dict[str, str] | None = None) -> Settings:
    """Read the config file (or the embedded defaults) and apply environment overrides."""
    env = os.environ if environ is None else environ
    data = copy.deepcopy(DEFAULTS)
    chosen: Path | None = None
    if path is None and env.get("COALITION_CONFIG"):
        path = env["COALITION_CONFIG"]
    if path is not None:
        chosen = Path(path)
        if not chosen.is_file():
            raise ConfigError(
                f"Config file {chosen} does not exist. Pass the path of your coalition.toml with "
                f"--config, or leave --config out to run the bundled example coalition."
            )
    elif Path("coalition.toml").is_file():
        chosen = Path("coalition.toml")

    base_dir = Path.cwd()
    if chosen is not None:
        base_dir = chosen.resolve().parent
        file_data = read_toml(chosen)
        _merge(data, file_data, str(chosen))

    _apply_env(data, env)
    _check_values(data, str(chosen) if chosen else "the defaults")
    # Relative paths in the file are relative to the file, so a config works from any directory.
    resolve_paths(data, base_dir if chosen else Path.cwd())
    if not data["source"]["credentials_file"] and env.get("GOOGLE_APPLICATION_CREDENTIALS"):
        data["source"]["credentials_file"] = env["GOOGLE_APPLICATION_CREDENTIALS"]
    return Settings(data, chosen, base_dir)


PATH_SETTINGS = (("source", "location"), ("source", "credentials_file"), ("output", "folder"))


def resolve_paths(data: dict[str, Any], base_dir: Path) -> None:
    """Make the paths among PATH_SETTINGS in ``data`` absolute: ``~`` is the user's home folder (as
    the README writes credentials_file), a relative path is relative to ``base_dir`` (the folder of
    the file that names it); Google Sheets URLs and keys are left alone."""
    for section, key in PATH_SETTINGS:
        value = data.get(section, {}).get(key)
        if not value or not isinstance(value, str) or _looks_like_sheet(value):
            continue
        path = Path(value).expanduser() if value.startswith("~") else Path(value)
        if not path.is_absolute():
            data[section][key] = str((base_dir / path).resolve())
        elif path != Path(value):
            data[section][key] = str(path)


def read_toml(path: Path) -> dict[str, Any]:
    """A config file's TOML as a dict; any problem reading it is one paragraph (ConfigError)."""
    try:  # utf-8-sig: a byte-order mark (Windows Notepad writes one) is accepted
        return tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"Config file {path} is not UTF-8 text (byte {exc.start} cannot be read). Save it again "
            f"as UTF-8 (in most editors: Save As > Encoding: UTF-8) and run again."
        ) from None
    except OSError as exc:
        raise ConfigError(
            f"Config file {path} could not be read: {exc.strerror or exc}. Check its permissions "
            f"(or pass another file with --config) and run again."
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"Config file {path} is not valid TOML: {exc}. Fix that line and run again.") from None


def _looks_like_sheet(value: str) -> bool:
    from .sources import looks_like_google_sheet

    return looks_like_google_sheet(value)


def _merge(data: dict[str, Any], file_data: dict[str, Any], where: str) -> None:
    for section, values in file_data.items():
        if section == "portfolio":
            raise ConfigError(
                f"{where} is a portfolio file (several coalitions, docs/portfolio.md): `coalition run --config` "
                f"runs it. For one coalition's runs, pass its own coalition.toml (or none) with --out "
                f"<portfolio output folder>/<coalition id>."
            )
        if section not in DEFAULTS:
            raise ConfigError(
                f"{where}: unknown section [{section}]. Known sections: {', '.join(DEFAULTS)}."
            )
        if not isinstance(values, dict):
            raise ConfigError(f"{where}: [{section}] must be a table of settings, not a single value.")
        for key, value in values.items():
            data[section][key] = _coerce(section, key, value, where)


def _coerce(section: str, key: str, value: Any, where: str) -> Any:
    if section not in DEFAULTS:
        raise ConfigError(f"{where}: unknown section [{section}].")
    if section in FREE_KEY_SECTIONS:
        if not isinstance(value, str):
            raise ConfigError(f"{where}: [{section}] {key!r} must be text (a goal id such as \"G2\", or \"\" for "
                              f"no goal), not {value!r}.")
        return value
    if section == "survey_items":
        if not isinstance(value, (str, dict)):
            raise ConfigError(f"{where}: [survey_items] {key} must be the question text, or a table like "
                              f"{{ question = \"...\", scale = [1, 5] }}, not {value!r}.")
        return value
    if section == "survey_scales":
        if not isinstance(value, (list, dict)):
            raise ConfigError(f"{where}: [survey_scales] {key} must be a scale table like {{ name = \"Trust\", items = "
                              f"[\"a\", \"b\"] }}, or an item's answer range [min, max]; not {value!r}.")
        return value
    if key not in DEFAULTS[section]:
        known = ", ".join(DEFAULTS[section])
        raise ConfigError(f"{where}: unknown setting '{key}' in [{section}]. Known settings there: {known}.")
    default = DEFAULTS[section][key]
    kind = type(default)
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if kind is float and isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"{where}: [{section}] {key} must be a finite number (like {default!r}), not {value!r}.")
    if kind is list and isinstance(value, list):
        if default and all(isinstance(d, float) for d in default):  # seconds: [1.0, 2.0, ...]
            return [_seconds_item(section, key, item, default, where) for item in value]
        return value
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ConfigError(
            f"{where}: [{section}] {key} must be {kind.__name__} (like {default!r}), not {value!r}."
        )
    return value


def _seconds_item(section: str, key: str, item: Any, default: list, where: str) -> float:
    """One number of a list of seconds; the text of one (the environment's comma form) is read."""
    try:
        number = float(item.strip()) if isinstance(item, str) else None
    except ValueError:
        number = None
    if isinstance(item, (int, float)) and not isinstance(item, bool):
        number = float(item)
    if number is None or not math.isfinite(number) or number < 0:
        raise ConfigError(f"{where}: [{section}] {key} must be a list of seconds, each a number 0 or more (like "
                          f"{default!r}), not {item!r} in it.")
    return number


def _apply_env(data: dict[str, Any], env: dict[str, str]) -> None:
    for name, raw in env.items():
        if not name.startswith("COALITION_") or name == "COALITION_CONFIG":
            continue
        rest = name[len("COALITION_"):].lower()
        section = next((s for s in sorted(DEFAULTS, key=len, reverse=True) if rest.startswith(s + "_")), None)
        if section is None:
            raise ConfigError(
                f"Environment variable {name} names no setting. Use COALITION_<SECTION>_<KEY>, "
                f"for example COALITION_SOURCE_LOCATION."
            )
        key = rest[len(section) + 1:]
        if section in FREE_KEY_SECTIONS:
            raise ConfigError(f"Environment variable {name}: [{section}] names the coalition's own "
                              f"{section}, which an environment variable cannot spell; set it in the config file.")
        if section in INSTRUMENT_SECTIONS:  # COALITION_SURVEY_ITEMS_TRUST="question", _SURVEY_SCALES_TRUST="[1, 7]"
            text = raw.strip()
            if section == "survey_items" and not text.startswith("{"):
                value: Any = raw
            else:
                value = _from_env_text(raw, {} if text.startswith("{") else [], name)
            data[section][key] = _coerce(section, key, value, f"environment {name}")
            continue
        default = DEFAULTS[section].get(key)
        if default is None:
            raise ConfigError(f"Environment variable {name}: unknown setting '{key}' in [{section}].")
        data[section][key] = _coerce(section, key, _from_env_text(raw, default, name), f"environment {name}")


def _from_env_text(raw: str, default: Any, name: str) -> Any:
    try:
        if isinstance(default, bool):
            return raw.strip().lower() in ("1", "true", "yes", "y")
        if isinstance(default, int):
            return int(raw)
        if isinstance(default, float):
            return float(raw)
        if isinstance(default, list):
            return json.loads(raw) if raw.strip().startswith("[") else [x.strip() for x in raw.split(",") if x.strip()]
        if isinstance(default, dict):
            return json.loads(raw)  # e.g. COALITION_COLUMNS_TASKS='{"owner_id": "Owner"}'
    except ValueError:
        raise ConfigError(f"Environment variable {name}={raw!r} is not a {type(default).__name__}.") from None
    return raw


def _norm(text: str) -> str:
    return " ".join(str(text).strip().casefold().split())


def _check_names(data: dict[str, Any], where: str) -> None:
    """Settings that name things (meeting kinds, columns, questions) name things that exist, and
    never two things with one name: a typo must fail here, not publish a 0% figure."""
    from .contract import CONTRACT, ENUMS

    kinds = ENUMS["kind"]
    counted = data["metrics"]["counted_kinds"]
    if not counted:
        raise ConfigError(f"{where}: [metrics] counted_kinds is empty; list the meeting kinds that count for "
                          f"attendance and engagement, e.g. {kinds[:3]!r}.")
    for kind in counted:
        if kind not in kinds:
            import difflib

            close = difflib.get_close_matches(str(kind).replace("-", "_").replace(" ", "_").lower(), kinds, n=1)
            hint = f" Did you mean \"{close[0]}\"?" if close else ""
            raise ConfigError(f"{where}: [metrics] counted_kinds has {kind!r}, which is not a meeting kind.{hint} "
                              f"The kinds are {', '.join(kinds)}.")
    if len(set(counted)) != len(counted):
        raise ConfigError(f"{where}: [metrics] counted_kinds lists a kind twice: {counted!r}.")

    for tab, title in data["tabs"].items():
        if not str(title).strip():
            raise ConfigError(f"{where}: [tabs] {tab} is empty; give the title of the tab in your sheet.")
    titles: dict[str, str] = {}
    for tab, title in data["tabs"].items():
        other = titles.setdefault(_norm(title), tab)
        if other != tab:
            raise ConfigError(f"{where}: [tabs] {other} and {tab} both name the tab {title!r}; each contract tab "
                              f"needs a tab of its own.")

    for tab, mapping in data["columns"].items():
        if not isinstance(mapping, dict):
            raise ConfigError(f"{where}: [columns] {tab} must be a table like {{ member_id = \"Member\" }}.")
        names = [c.name for c in CONTRACT[tab]]
        for column, header in mapping.items():
            if column not in names:
                raise ConfigError(f"{where}: [columns] {tab}.{column}: the {tab} tab has no column {column!r} in the "
                                  f"data contract; its columns are {', '.join(names)}.")
            if not isinstance(header, str) or not header.strip():
                raise ConfigError(f"{where}: [columns] {tab}.{column} must be the header text of that column in "
                                  f"your sheet, not {header!r}.")
        headers: dict[str, str] = {}
        for name in names:
            header = mapping.get(name, name)
            other = headers.setdefault(_norm(header), name)
            if other != name:
                raise ConfigError(f"{where}: [columns] {tab}: {other} and {name} would both be read from the "
                                  f"column {header!r}; map each to a column of its own.")

    from .parsing import enum_value  # names match as enumerations do (the SQL's cm_enum)

    streams: dict[str, str] = {}
    for name in data["workstreams"]:
        if not str(name).strip():
            raise ConfigError(f"{where}: [workstreams] has an empty workstream name; write the name as in the tasks "
                              f"tab's workstream column.")
        other = streams.setdefault(enum_value(name), name)
        if other != name:
            raise ConfigError(f"{where}: [workstreams] {other!r} and {name!r} name the same workstream (names are "
                              f"matched ignoring case, spaces at the ends, and spaces, hyphens and underscores "
                              f"alike); keep one of them.")

    _check_write_back_tab(data, where)

    survey = data["survey"]
    questions: dict[str, str] = {}
    for label, header in (("[survey] timestamp_column", survey["timestamp_column"]),
                          ("[survey] respondent_column", survey["respondent_column"])):
        if header.strip():
            questions.setdefault(_norm(header), label)
    if not survey["timestamp_column"].strip():
        raise ConfigError(f"{where}: [survey] timestamp_column is empty; it is the header of the Forms "
                          f"'Timestamp' column.")
    for item in build_instrument(data, DEFAULT_ITEMS, where, DEFAULT_ROLES).items:
        item, question = item.code, item.question
        other = questions.setdefault(_norm(question), f"[survey_items] {item}")
        if other != f"[survey_items] {item}":
            raise ConfigError(f"{where}: {other} and [survey_items] {item} name the same column {question!r}; "
                              f"one item would silently copy the other's answers. Give each item its own "
                              f"question text.")


def _check_write_back_tab(data: dict[str, Any], where: str) -> None:
    """[write_back] tab is replaced wholesale on every publish: it must never be a data tab."""
    from .template import ABOUT_TITLE

    tab = data["write_back"]["tab"]
    if not tab.strip() or len(tab) > 100 or any(ch in tab for ch in "\r\n\t"):
        raise ConfigError(f"{where}: [write_back] tab must be a tab title of 1 to 100 characters on one line "
                          f"(like \"Funder metrics\"), not {tab!r}.")
    taken = [(title, f"the {name} tab ([tabs] {name})") for name, title in data["tabs"].items()]
    for title, what in taken + [(ABOUT_TITLE, "the About tab `coalition template` writes")]:
        if _norm(title) == _norm(tab):
            raise ConfigError(f"{where}: [write_back] tab {tab!r} is the title of {what}; the write-back "
                              f"replaces that whole tab, so give it a tab of its own, like \"Funder metrics\".")


def _check_orchestration(data: dict[str, Any], where: str) -> None:
    """The portfolio's task runner and the Sheets read budget."""
    o = data["orchestration"]
    if o["task_runner"] not in ("dask", "sequential"):
        raise ConfigError(f"{where}: [orchestration] task_runner must be \"dask\" or \"sequential\", not "
                          f"{o['task_runner']!r}.")
    address = o["dask_address"].strip()
    if address and not re.fullmatch(r"(tcp|tls)://[A-Za-z0-9.\-\[\]:]+:\d{1,5}", address):
        raise ConfigError(f"{where}: [orchestration] dask_address must be \"\" (a local Dask cluster) or a "
                          f"scheduler address like \"tcp://10.0.0.5:8786\", not {o['dask_address']!r}.")
    if not 1 <= o["dask_workers"] <= 256:
        raise ConfigError(f"{where}: [orchestration] dask_workers must be 1 to 256 worker processes, not "
                          f"{o['dask_workers']}.")
    if not 0 <= o["portfolio_processes"] <= 256:
        raise ConfigError(f"{where}: [orchestration] portfolio_processes must be 0 (one per CPU core) or 1 to 256 "
                          f"worker processes, not {o['portfolio_processes']}.")
    reads = data["source"]["sheets_reads_per_minute"]
    if not 1 <= reads <= 100_000:
        raise ConfigError(f"{where}: [source] sheets_reads_per_minute must be 1 to 100000 (Google's default "
                          f"quota is 60 read requests per minute per service account), not {reads}.")
    # a longer wait (an hour between requests, a day between extract attempts) would only hold a run
    for section, key, most in (("source", "retry_delays", 3600.0), ("orchestration", "extract_retry_delays", 86400.0)):
        if any(d > most for d in data[section][key]):
            raise ConfigError(f"{where}: [{section}] {key} must be seconds from 0 to {most:g} each, not "
                              f"{data[section][key]!r}.")
    timeout = data["source"]["timeout_seconds"]
    if not 0 < timeout <= 3600:
        raise ConfigError(f"{where}: [source] timeout_seconds must be above 0 and at most 3600 (how long one "
                          f"Google Sheets request may take), not {timeout!r}.")


COALITION_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")


def _check_values(data: dict[str, Any], where: str) -> None:
    cid = data["coalition"]["id"]
    if not COALITION_ID.match(cid):
        raise ConfigError(f"{where}: [coalition] id {cid!r} is not a usable coalition id; write 1-40 lower-case "
                          f"letters, digits, '_' or '-', starting with a letter or digit (like \"riverside\").")
    fs = data["quarters"]["fiscal_year_start_month"]
    if not 1 <= fs <= 12:
        raise ConfigError(f"{where}: [quarters] fiscal_year_start_month must be 1..12, not {fs}.")
    if data["source"]["date_format"] not in ("M/D/YYYY", "D/M/YYYY"):
        raise ConfigError(f"{where}: [source] date_format must be \"M/D/YYYY\" or \"D/M/YYYY\".")
    if data["source"]["value_render"] not in ("unformatted", "formatted"):
        raise ConfigError(f"{where}: [source] value_render must be \"unformatted\" or \"formatted\".")
    if not 0 <= data["validation"]["max_bad_share"] <= 1:
        raise ConfigError(f"{where}: [validation] max_bad_share must be between 0 and 1.")
    for kind, n in data["cadence"].items():
        if n < 0:
            raise ConfigError(f"{where}: [cadence] {kind} must be 0 or more meetings per quarter, not {n}.")
    for key in ("alert_drop", "champion_share", "on_track_margin"):
        if not 0 <= data["metrics"][key] <= 1:
            raise ConfigError(f"{where}: [metrics] {key} must be between 0 and 1 (a share), not {data['metrics'][key]}.")
    pw = data["pitfall_watch"]
    for key in ("champion_watch", "goal_focus_watch", "goal_focus_act", "cadence_watch", "cadence_act",
                "alerts_act_share"):
        if not 0 <= pw[key] <= 1:
            raise ConfigError(f"{where}: [pitfall_watch] {key} must be between 0 and 1 (a share), not {pw[key]}.")
    for low, high in (("goal_focus_act", "goal_focus_watch"), ("cadence_act", "cadence_watch"),
                      ("champion_watch", None), ("voice_gap_watch", "voice_gap_act")):
        high_value = data["metrics"]["champion_share"] if high is None else pw[high]
        if pw[low] > high_value:
            raise ConfigError(f"{where}: [pitfall_watch] {low} ({pw[low]}) must not be above "
                              f"{high or '[metrics] champion_share'} ({high_value}).")
    if pw["raci_gaps_act"] < 1 or pw["voice_gap_watch"] < 0:
        raise ConfigError(f"{where}: [pitfall_watch] raci_gaps_act must be at least 1 and voice_gap_watch 0 or more.")
    if data["metrics"]["alert_absences"] < 1 or data["metrics"]["voice_gap_waves"] < 1:
        raise ConfigError(f"{where}: [metrics] alert_absences and voice_gap_waves must be at least 1.")
    try:
        from zoneinfo import ZoneInfo

        ZoneInfo(data["orchestration"]["timezone"])
    except (KeyError, ValueError):
        raise ConfigError(f"{where}: [orchestration] timezone {data['orchestration']['timezone']!r} is not a "
                          f"time zone name such as \"America/New_York\" or \"UTC\".") from None
    if data["orchestration"]["extract_retries"] < 0 or data["output"]["lock_timeout_seconds"] < 0:
        raise ConfigError(f"{where}: [orchestration] extract_retries and [output] lock_timeout_seconds must be 0 or more.")
    if data["output"]["lineage_max_row_quarters"] < 0:
        raise ConfigError(f"{where}: [output] lineage_max_row_quarters must be 0 (no limit) or more, not "
                          f"{data['output']['lineage_max_row_quarters']}.")
    _check_orchestration(data, where)
    if data["metrics"]["small_n"] < 2:
        raise ConfigError(f"{where}: [metrics] small_n must be at least 2.")
    if data["survey"]["scale_min"] >= data["survey"]["scale_max"]:
        raise ConfigError(f"{where}: [survey] scale_min must be below scale_max.")
    build_instrument(data, DEFAULT_ITEMS, where, DEFAULT_ROLES)  # every item, scale and role (instrument.py)
    _check_names(data, where)
    if not data["source"]["location"]:
        raise ConfigError(f"{where}: [source] location is empty; name a CSV folder, an .xlsx file or a Google Sheet URL.")
