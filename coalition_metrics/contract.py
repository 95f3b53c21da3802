"""The data contract (docs/data-contract.md) as data: each tab's columns, their kinds and which are required.

Validation (coalition_metrics/validate/) reads this to match headers and derive the checked columns; the suites in
expectations/ name the derived columns described in coalition_metrics/validate/.
"""

from __future__ import annotations

from dataclasses import dataclass

REQUIRED_TABS = ("members", "meetings", "attendance")

ENUMS = {
    "size_tier": ["small", "medium", "large"],
    "role": ["convener", "steering", "member"],
    "kind": ["weekly_call", "monthly_call", "quarterly_meeting", "committee", "event"],
    "status": ["present", "absent", "excused"],
    "direction": ["increase", "decrease"],
    "milestone_kind": ["quick_win", "policy_win", "media", "funding", "other"],
}


@dataclass(frozen=True)
class Column:
    name: str
    kind: str = "text"  # text | id | date | timestamp | number | enum | likert
    required: bool = False
    enum: str | None = None  # key into ENUMS for kind == "enum"


def _c(name, kind="text", required=False, enum=None) -> Column:
    return Column(name, kind, required, enum)


CONTRACT: dict[str, list[Column]] = {
    "members": [
        _c("member_id", "id", True), _c("organization", "text", True), _c("sector"),
        _c("size_tier", "enum", enum="size_tier"), _c("joined_on", "date", True),
        _c("left_on", "date"), _c("role", "enum", enum="role"),
    ],
    "meetings": [
        _c("meeting_id", "id", True), _c("date", "date", True), _c("kind", "enum", True, "kind"),
        _c("committee"), _c("facilitator_id", "id"),
    ],
    "attendance": [
        _c("meeting_id", "id", True), _c("member_id", "id", True), _c("status", "enum", True, "status"),
    ],
    "tasks": [
        _c("task_id", "id", True), _c("title", "text", True), _c("workstream"),
        _c("owner_id", "id", True), _c("accountable_id", "id"), _c("created_on", "date", True),
        _c("due_on", "date", True), _c("completed_on", "date"), _c("status"),
        # optional, last: a coalition adds it to a sheet it already keeps (goal_focus_share)
        _c("goal_id", "id"),
    ],
    "goals": [
        _c("goal_id", "id", True), _c("statement", "text", True), _c("unit"),
        _c("direction", "enum", True, "direction"), _c("baseline", "number", True),
        _c("baseline_on", "date", True), _c("target", "number", True), _c("target_on", "date", True),
    ],
    "goal_measurements": [
        _c("goal_id", "id", True), _c("measured_on", "date", True), _c("value", "number", True), _c("note"),
    ],
    "milestones": [
        _c("date", "date", True), _c("kind", "enum", True, "milestone_kind"),
        _c("description", "text", True), _c("member_ids"),
    ],
}

# Which column of a tab must be unique (a repeat keeps its first row) - composite keys allowed.
UNIQUE_KEYS = {
    "members": ("member_id",),
    "meetings": ("meeting_id",),
    "attendance": ("meeting_id", "member_id"),
    "tasks": ("task_id",),
    "goals": ("goal_id",),
    # one value per goal and day (the parsed date, so 9/30/2026 and 2026-09-30 are one day): two
    # would leave goal_progress to whichever row comes later
    "goal_measurements": ("goal_id", "measured_on__value"),
}


def survey_columns(settings) -> list[Column]:
    """The survey tab's columns: timestamp, the optional respondent, one Likert column per item."""
    cols = [Column("timestamp", "timestamp", True)]
    if settings.survey["respondent_column"]:
        cols.append(Column("respondent", "text", False))
    cols += [Column(item, "likert") for item in settings.survey_items]
    return cols


def survey_headers(settings) -> dict[str, str]:
    """Contract column -> header text expected in the Forms response sheet."""
    headers = {"timestamp": settings.survey["timestamp_column"]}
    if settings.survey["respondent_column"]:
        headers["respondent"] = settings.survey["respondent_column"]
    headers.update(settings.survey_items)
    return headers


def columns_of(tab: str, settings) -> list[Column]:
    return survey_columns(settings) if tab == "survey" else CONTRACT[tab]


def headers_of(tab: str, settings) -> dict[str, str]:
    """Contract column -> the header the sheet uses: the column's own name unless [columns] maps it."""
    if tab == "survey":
        return survey_headers(settings)
    mapped = settings.columns.get(tab, {})
    return {c.name: mapped.get(c.name, c.name) for c in CONTRACT[tab]}


def header_setting(tab: str, column: str, settings) -> str:
    """The config setting that names a column's header, for messages: '[columns] tasks.owner_id'."""
    if tab == "survey":
        if column == "timestamp":
            return "[survey] timestamp_column"
        if column == "respondent":
            return "[survey] respondent_column"
        return f"[survey_items] {column}"
    return f"[columns] {tab}.{column}"
