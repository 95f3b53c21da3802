"""Validate: match headers, derive checked columns, run the Great Expectations suites per tab.

Blocking problems (a required tab missing, a tab with no header, a missing required column, a
required tab with no rows, more than ``max_bad_share`` of a tab's rows quarantined, a [workstreams]
entry naming a workstream no task has or a goal the goals tab lacks) stop the run
with a message that names the tab, the column and the fix. Row-level failures are quarantined with
tab, sheet row, column, value, the expectation that failed and a sentence; the run goes on.

The suites (expectations/<tab>.json, Great Expectations 1.x suite JSON) run against a frame with
one row per non-blank sheet row and these columns:
- ``sheet_row`` and every contract column as trimmed text (None when blank);
- ``<col>__value``: the parsed value of a date, timestamp, number, Likert or enumerated column
  (dates as ISO text, enumerations case-folded), None when blank or unparseable;
- ``<col>__invalid``: the cell text when it is not blank but cannot be parsed, else None;
- ``<col>__when``: date and timestamp columns as datetimes, for the plausible-range checks;
- ``row__formula_error``: ``column<TAB>text`` of the first cell showing a spreadsheet error
  (#REF!, #N/A, ...); the suite's ``"column": "$cell"`` names that cell's column;
- ``row__formula_uncalculated``: ``column<TAB>formula`` of the first checked cell that holds a
  formula but no saved value (an .xlsx written by a script);
- ``row__repeat``: for a repeated unique key, the sheet row of its first occurrence;
- attendance: ``row__outside_membership`` (the meeting was held before the member joined or after
  it left); grid form also ``member__ambiguous`` (an organization name two members share);
- goals: ``row__goal_target`` (a target equal to the baseline or on the wrong side of it);
- survey: ``respondent__unknown`` (respondent text that matches no member),
  ``respondent__ambiguous`` (it matches several), ``row__outside_membership`` (answered while not a
  member) and ``row__superseded`` (the sheet row of the same member's later submission in the
  wave; severity "info": nothing to fix).
A suite entry's ``meta.severity`` "info" marks a rule that sets a row aside with nothing to fix. A
row set aside only because it refers to a row set aside in another tab carries ``caused_by``; it
is listed under that row and does not count toward ``max_bad_share``.
A kwarg written ``{"$ref": "members.member_id"}`` names the accepted ids of that tab: the check runs on
a flag column (``<column>__in__members__member_id``, computed once by a hash join; suites.load_suite),
``{"$ref": "scale.trust.min"}`` by the item's scale (Settings.item_scale), ``{"$ref": "run.today"}`` by the end of the day the
validation runs (so "not in the future" means not after that day) and ``{"$date": "1990-01-01"}``
by that date.

Attendance in grid form (one row per member, one column per meeting id or meeting date, cells
P/A/E, TRUE/FALSE, yes/no, x or blank) becomes one record per marked cell with ``sheet_column``
(the header) and the same columns as the long form; a cell that cannot be read is quarantined on
its own (scope ``cell``), a row whose member is unknown or repeated is quarantined whole.
A blank grid cell is no record, so an expected member counts as absent (docs/metrics.md).

Each sheet row is counted once: rows read = blank + accepted + quarantined, where a quarantined
row is one with at least one quarantined cell.

The suites run in three stages (STAGES: a tab's id checks read the tabs of earlier stages), and in
each stage the declared expectations of every tab (and of every coalition, validate_many) run as a
few Great Expectations expectations over stacked columns (suites.run_suites): GX's cost is per
expectation and per call, not per row.

Modules: frames (header matching, the checked frame of a tab), grid (grid-form attendance),
references (respondents and grid rows to members), workstreams (the [workstreams] mapping against
the tasks and goals tabs), suites (Great Expectations), quarantine
(failures to entries, the bad-share rule), row_rules (rules over several cells of a row),
results (the dataclasses), gx_process (Great Expectations in a process of its own), ahead (a
validation made ahead of Great Expectations' answer, which checks it before the run keeps anything).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from ..errors import BlockingValidationError
from ..sources import RawTab
from .frames import FORMULA_ERRORS, prepare_tab
from .grid import resolve_grid
from .quarantine import accepted_records, bad_share_problem, quarantine_cells
from .references import derive_survey, mark_attendance_membership
from .row_rules import mark_goal_targets
from .results import QuarantinedCell, TabResult, ValidationResult
from .suites import load_suite, run_suites
from .workstreams import workstream_problems

__all__ = ["FORMULA_ERRORS", "STAGES", "TAB_ORDER", "QuarantinedCell", "TabResult", "ValidationResult", "load_suite",
           "validate_many", "validate_snapshot"]

TAB_ORDER = ("members", "meetings", "goals", "attendance", "tasks", "goal_measurements", "survey", "milestones")


# The suites run in three passes, each after the tabs its id checks and derived columns read are
# accepted: members and goals; then meetings, tasks, goal measurements, survey and milestones
# (members, goals); then attendance (members, meetings).
STAGES = (("members", "goals"), ("meetings", "tasks", "goal_measurements", "survey", "milestones"), ("attendance",))


def validate_snapshot(tabs: dict[str, RawTab], settings, today: date | None = None, check=None) -> ValidationResult:
    """Validate every tab; raise BlockingValidationError listing every blocking problem.

    ``today`` is the day the checks treat as now ("measured_on not in the future"); ``check`` runs
    the suites' stacked calls (suites.run_suites)."""
    (outcome,) = validate_many([(settings, tabs, today)], check)
    if isinstance(outcome, BlockingValidationError):
        raise outcome
    return outcome


def validate_many(coalitions: list[tuple[Any, dict[str, RawTab], date | None]], check=None) -> list:
    """Validate several coalitions, each ``(settings, tabs, today)``, with one Great Expectations
    pass per stage for all of them (the suites' cost is per expectation, not per row, and the same
    declared expectation of every coalition runs as one; see suites.run_suites). Returns, in order,
    each coalition's ValidationResult, or the BlockingValidationError that stops it (carrying the
    row-level result when the row checks ran); one coalition's problems never stop another's."""
    states = []
    for settings, tabs, today in coalitions:
        today = today or date.today()
        problems: list[str] = []
        results: dict[str, TabResult] = {}
        frames: dict[str, Any] = {}
        for name in TAB_ORDER:
            raw = tabs.get(name) or RawTab(name, settings.tabs[name], present=False)
            result, frame, tab_problems = prepare_tab(raw, settings)
            results[name] = result
            problems += tab_problems
            if frame is not None:
                frames[name] = frame
        states.append({"settings": settings, "today": today, "results": results, "frames": frames,
                       "blocked": bool(problems), "problems": problems, "share": {}})

    for stage in STAGES:
        jobs, owners = [], []
        for k, st in enumerate(states):
            if st["blocked"]:
                continue
            settings, results = st["settings"], st["results"]
            for name in TAB_ORDER:
                if name not in stage or name not in st["frames"]:
                    continue
                frame = st["frames"][name]
                if name == "survey":
                    derive_survey(frame, results, settings)
                if name == "goals":
                    mark_goal_targets(frame)
                if name == "attendance":
                    if results[name].form == "grid":
                        resolve_grid(frame, results, settings)
                    mark_attendance_membership(frame, results)
                jobs.append((name, frame, load_suite(name, results, settings, st["today"], frame)))
                owners.append(k)
        if not jobs:
            continue
        for k, (name, frame, _suite), (failures, checks) in zip(owners, jobs, run_suites(jobs, check)):
            st = states[k]
            settings, results = st["settings"], st["results"]
            result = results[name]
            result.checks = checks
            result.quarantined = quarantine_cells(name, frame, failures, result.form, settings, results)
            result.records = frame
            result.accepted = accepted_records(frame, result.quarantined)
            bad = {q.sheet_row for q in result.quarantined}
            result.accepted_rows = [r for r in result.checked_rows if r not in bad]
            st["share"][name] = bad_share_problem(result, frame, settings.max_bad_share)

    outcomes = []
    for st in states:
        if st["blocked"]:
            outcomes.append(BlockingValidationError(st["problems"]))
            continue
        problems = [st["share"][name] for name in TAB_ORDER if st["share"].get(name)]
        problems += workstream_problems(st["results"], st["settings"])
        validation = ValidationResult(st["results"], st["today"])
        outcomes.append(BlockingValidationError(problems, validation) if problems else validation)
    return outcomes
