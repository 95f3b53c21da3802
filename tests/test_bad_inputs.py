"""A corpus of realistic defects, one per case, each on the small clean coalition in bad_inputs/base.

Every case states its exact outcome: the quarantined cells (tab, sheet row, column -> a fragment of
the reason), or the blocking error; and every case checks that each sheet row is accounted for:
rows read = blank + accepted + quarantined, per tab. Validation runs with "today" = 2026-11-24.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Callable

import pytest

from coalition_metrics.errors import BlockingValidationError, ConfigError
from coalition_metrics.sources import RawTab, split_rows
from coalition_metrics.validate import validate_snapshot

BASE = Path(__file__).parent / "bad_inputs" / "base"
TODAY = date(2026, 11, 24)
TAB_FILES = ("members", "meetings", "attendance", "survey", "tasks", "goals", "goal_measurements", "milestones")
MISSING = object()


def base_values(tab: str) -> list[list[str]]:
    with (BASE / f"{tab}.csv").open(newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


# ---- edits: each takes the tab's cell grid (row 0 is sheet row 1, the header) and changes it ----
def set_cell(sheet_row: int, column: str, value: str) -> Callable:
    def edit(values):
        values[sheet_row - 1][values[0].index(column)] = value
    return edit


def append(*lines: str) -> Callable:
    def edit(values):
        values.extend(next(csv.reader([line])) for line in lines)
    return edit


def insert(sheet_row: int, line: str) -> Callable:
    def edit(values):
        values.insert(sheet_row - 1, next(csv.reader([line])))
    return edit


def replace_text(text: str) -> Callable:
    def edit(values):
        values[:] = list(csv.reader(io.StringIO(text)))
    return edit


def add_column(name: str, *cells: str) -> Callable:
    """A new last column headed ``name``, with ``cells`` down from sheet row 2 (blank after)."""
    def edit(values):
        values[0].append(name)
        for i, row in enumerate(values[1:]):
            row.append(cells[i] if i < len(cells) else "")
    return edit


def header(old: str, new: str) -> Callable:
    def edit(values):
        values[0][values[0].index(old)] = new
    return edit


@dataclass
class Case:
    id: str
    edits: dict[str, object]  # tab -> edit function, list of them, or MISSING
    quarantined: dict[tuple[str, int, str], str] = field(default_factory=dict)
    blocking: str | None = None
    blank: dict[str, int] = field(default_factory=dict)
    config: dict = field(default_factory=dict)
    check: Callable | None = None
    config_error: str | None = None  # the settings themselves are refused, naming the setting


def grid(text: str) -> dict:
    return {"attendance": replace_text(text)}


def thousands_of_rows() -> dict:
    """100 members x 30 weekly calls = 3,000 attendance rows, with three defects planted in them."""
    members = [f"M{n:03d},Org {n},nonprofit,small,2026-01-05,,member" for n in range(100, 200)]
    meetings = [f"WC-{w:02d},2026-{7 + w // 13:02d}-{1 + w % 13 * 2:02d},weekly_call,,M100" for w in range(30)]
    rows = [f"WC-{w:02d},M{n:03d},{'present' if (w + n) % 4 else 'absent'}" for w in range(30) for n in range(100, 200)]
    rows[1233] = "WC-12,M777,present"  # sheet row 1235
    rows[2000] = "WC-20,M100,prsent"  # sheet row 2002
    rows[2999] = "WC-00,M100,present"  # sheet row 3001 repeats row 2
    return {"members": append(*members), "meetings": append(*meetings),
            "attendance": replace_text("meeting_id,member_id,status\n" + "\n".join(rows) + "\n")}


CASES = [
    Case("clean-baseline", {}),
    # -- headers and spacing
    Case("header-case-and-spaces", {"attendance": [header("member_id", "  Member_ID "), header("status", "STATUS")]},
         check=lambda r: r.tabs["attendance"].rows_accepted == 15),
    Case("trailing-spaces-in-ids", {"attendance": [set_cell(2, "member_id", "M01  "), set_cell(3, "meeting_id", " WC-07-07")]},
         check=lambda r: list(r.tabs["attendance"].accepted["member_id"][:2]) == ["M01", "M02"]),
    Case("enum-case-and-spaces", {"attendance": set_cell(2, "status", " Present "), "meetings": set_cell(4, "kind", "Monthly Call")},
         check=lambda r: list(r.tabs["meetings"].accepted["kind__value"][:3]) == ["weekly_call", "weekly_call", "monthly_call"]),
    Case("renamed-required-column", {"attendance": header("member_id", "memberid")},
         blocking="Tab 'attendance' has no required column 'member_id' (header row 1). The tab has a column 'memberid': rename it to 'member_id'."),
    Case("merged-title-row-above-header", {"attendance": insert(1, "Attendance log 2026,,")},
         blocking="Tab 'attendance': the column names are in sheet row 2, not row 1"),
    # -- blank rows
    Case("blank-row-in-the-middle", {"attendance": insert(5, ",,")}, blank={"attendance": 1}),
    Case("several-blank-rows", {"tasks": [insert(3, ",,,,,,,,"), insert(4, "  ,,,,,,,,"), append(",,,,,,,,", "T6,Plan retreat,Events,M02,M01,2026-09-01,2026-10-01,,open")]},
         blank={"tasks": 3}),
    # -- ids: unknown, duplicate
    Case("unknown-member-id", {"attendance": append("WC-07-14,M99,present")},
         {("attendance", 17, "member_id"): "member id 'M99' is not in the members tab"}),
    Case("unknown-meeting-id", {"attendance": append("WC-09-01,M01,present")},
         {("attendance", 17, "meeting_id"): "meeting id 'WC-09-01' is not in the meetings tab"}),
    Case("duplicate-attendance", {"attendance": append("WC-07-07,M03,present")},
         {("attendance", 17, "member_id"): "member 'M03' is recorded twice for this meeting (repeats row 4)"}),
    Case("duplicate-task-id", {"tasks": append("T3,Book the venue again,Events,M03,M01,2026-07-10,2026-09-01,,open")},
         {("tasks", 7, "task_id"): "duplicate task id 'T3' (repeats row 4)"},
         check=lambda r: list(r.tabs["tasks"].accepted["title"])[2] == "Book the fall venue"),
    Case("duplicate-member-id", {"members": append("M03,Northside Food Pantry,nonprofit,small,2026-03-01,,member")},
         {("members", 8, "member_id"): "duplicate member id"}),
    Case("blank-required-id", {"tasks": set_cell(3, "owner_id", "")},
         {("tasks", 3, "owner_id"): "owner_id is blank; it is required"}),
    Case("unknown-task-owner", {"tasks": set_cell(4, "owner_id", "M7")},
         {("tasks", 4, "owner_id"): "owner 'M7' is not in the members tab"}),
    Case("unknown-facilitator", {"meetings": set_cell(6, "facilitator_id", "Maria")},
         {("meetings", 6, "facilitator_id"): "facilitator 'Maria' is not in the members tab"}),
    # -- formula errors
    Case("ref-error-in-id", {"attendance": set_cell(6, "member_id", "#REF!")},
         {("attendance", 6, "member_id"): "the cell shows the spreadsheet error #REF!"}),
    Case("na-error-column-of-dates", {"tasks": [set_cell(r, "completed_on", "#N/A") for r in (2,)]},
         {("tasks", 2, "completed_on"): "the cell shows the spreadsheet error #N/A"}),
    Case("value-error-in-number", {"goal_measurements": set_cell(3, "value", "#VALUE!")},
         {("goal_measurements", 3, "value"): "spreadsheet error #VALUE!"}),
    # -- dates
    Case("day-first-date-under-month-first", {"tasks": set_cell(5, "due_on", "31/12/2026")},
         {("tasks", 5, "due_on"): "'31/12/2026' is not a date: write YYYY-MM-DD or the configured M/D/YYYY (it reads as a D/M/YYYY date"}),
    Case("day-first-sheet-configured", {"tasks": [set_cell(5, "due_on", "31/12/2026"), set_cell(5, "created_on", "10/7/2026")]},
         config={"source": {"date_format": "D/M/YYYY"}},
         check=lambda r: r.tabs["tasks"].accepted["due_on__value"][3] == "2026-12-31"
         and r.tabs["tasks"].accepted["created_on__value"][3] == "2026-07-10"),
    Case("month-first-date-under-day-first", {"tasks": set_cell(5, "due_on", "12/31/2026"),
                                              "survey": set_cell(6, "Timestamp", "12/31/2025 09:00:00")},
         {("tasks", 5, "due_on"): "'12/31/2026' is not a date: write YYYY-MM-DD or the configured D/M/YYYY (it reads as a M/D/YYYY date",
          ("survey", 6, "timestamp"): "is not a date and time: write D/M/YYYY H:MM:SS or YYYY-MM-DD HH:MM:SS"},
         config={"source": {"date_format": "D/M/YYYY"}}),
    Case("month-first-date", {"tasks": set_cell(5, "due_on", "12/31/2026")},
         check=lambda r: r.tabs["tasks"].accepted["due_on__value"][3] == "2026-12-31"),
    Case("excel-serial-dates", {"meetings": [set_cell(2, "date", "46210"), set_cell(3, "date", "46217.0")]},
         check=lambda r: list(r.tabs["meetings"].accepted["date__value"][:2]) == ["2026-07-07", "2026-07-14"]),
    Case("date-written-in-words", {"milestones": set_cell(3, "date", "August 20, 2026")},
         {("milestones", 3, "date"): "'August 20, 2026' is not a date"}),
    Case("year-typo-implausible", {"meetings": append("EV-09-19,2206-09-19,event,,M02")},
         {("meetings", 8, "date"): "'2206-09-19' is not a plausible date"}),
    Case("typo-cascades-to-attendance", {"meetings": set_cell(4, "date", "2206-08-04")},
         # the meeting is set aside, so its 5 attendance rows refer to a set-aside row: one thing to
         # fix (meetings row 4), and the 5 rows (33% of the tab) do not count toward max_bad_share
         {("meetings", 4, "date"): "'2206-08-04' is not a plausible date",
          **{("attendance", r, "meeting_id"): "meeting_id 'MC-08-04' is on row 4 of the meetings tab, which was set aside"
             for r in range(12, 17)}},
         check=lambda r: [q.caused_by for q in r.tabs["attendance"].quarantined] == ["meetings row 4"] * 5
         and [q.to_fix for q in r.quarantined] == [True] + [False] * 5),
    Case("measurement-in-the-future", {"goal_measurements": append("G2,2027-01-15,78,projected")},
         {("goal_measurements", 10, "measured_on"): "measured_on '2027-01-15' is after 2026-11-24, the day the sheet was read"}),
    Case("completed-before-created", {"tasks": set_cell(4, "completed_on", "2026-07-01")},
         {("tasks", 4, "completed_on"): "before created_on"}),
    Case("due-before-created", {"tasks": set_cell(6, "due_on", "2026-07-15")},
         {("tasks", 6, "due_on"): "due_on '2026-07-15' is before created_on"}),
    Case("left-before-joined", {"members": set_cell(7, "left_on", "2026-01-15")},
         {("members", 7, "left_on"): "left_on '2026-01-15' is before joined_on"}),
    Case("survey-timestamp-in-the-future", {"survey": set_cell(6, "Timestamp", "12/1/2026 09:00:00")},
         {("survey", 6, "timestamp"): "Timestamp '12/1/2026 09:00:00' is after 2026-11-24, the day the sheet was read"}),
    # -- enumerations and numbers
    Case("unknown-status", {"attendance": set_cell(8, "status", "late")},
         {("attendance", 8, "status"): "'late' is not a known attendance status"}),
    Case("unknown-meeting-kind", {"meetings": append("EV-09-19,2026-09-19,webinar,,M02")},
         {("meetings", 8, "kind"): "'webinar' is not a known meeting kind"}),
    Case("unknown-size-tier", {"members": set_cell(7, "size_tier", "tiny")},
         {("members", 7, "size_tier"): "'tiny' is not a known size tier"}),
    Case("text-in-number-cell", {"goals": set_cell(6, "baseline", "about 4")},
         # the goal is set aside, so its measurement refers to an unknown goal
         {("goals", 6, "baseline"): "'about 4' is not a number",
          ("goal_measurements", 9, "goal_id"): "goal_id 'G5' is on row 6 of the goals tab, which was set aside"}),
    Case("thousands-separator-and-percent", {"goal_measurements": [set_cell(2, "value", "1,063.5"), set_cell(3, "value", "65%")]},
         check=lambda r: list(r.tabs["goal_measurements"].accepted["value__value"][:2]) == [1063.5, 65.0]),
    # -- survey
    Case("likert-six", {"survey": set_cell(3, "I trust the other members of this coalition to follow through on their commitments.", "6")},
         {("survey", 3, "trust"): "answer '6' is outside the item's scale"}),
    Case("likert-zero", {"survey": set_cell(4, "Communication among members is timely and useful.", "0")},
         {("survey", 4, "communication"): "answer '0' is outside the item's scale"}),
    Case("likert-labels-accepted", {"survey": [set_cell(2, "Communication among members is timely and useful.", "Strongly agree"),
                                               set_cell(3, "Communication among members is timely and useful.", "4 - Agree"),
                                               set_cell(4, "Communication among members is timely and useful.", "")]},
         check=lambda r: list(r.tabs["survey"].accepted["communication__value"][:3].fillna(-1)) == [5.0, 4.0, -1]),
    Case("likert-free-text", {"survey": set_cell(5, "My organization's voice is heard in coalition decisions.", "mostly")},
         {("survey", 5, "voice_heard"): "'mostly' is not an answer on the scale"}),
    Case("survey-unknown-respondent", {"survey": append("9/6/2026 10:00:00,Westside Public Library,4,4,4,4,4,4")},
         {("survey", 7, "respondent"): "respondent 'Westside Public Library' matches no member"}),
    Case("survey-duplicate-submission", {"survey": append("9/10/2026 11:00:00,northside food bank ,4,4,3,3,3,4")},
         {("survey", 4, "respondent"): "answered again later in the same wave (superseded by row 7)"},
         # information, not a row to fix: `coalition validate` does not exit 1 for it
         check=lambda r: [q.severity for q in r.quarantined] == ["info"] and not r.quarantined[0].to_fix),
    Case("survey-respondent-by-member-id", {"survey": set_cell(6, "Organization", "m05")}),
    # -- tabs
    Case("required-tab-missing", {"attendance": MISSING},
         blocking="Tab 'attendance' is missing. Add a tab named 'attendance'"),
    Case("optional-tab-missing", {"milestones": MISSING, "goal_measurements": MISSING},
         check=lambda r: not r.tabs["milestones"].present and r.tabs["milestones"].rows_read == 0),
    Case("wholly-empty-tab", {"members": replace_text("")},
         blocking="Tab 'members' is empty: it has no header row."),
    Case("header-only-required-tab", {"meetings": replace_text("meeting_id,date,kind,committee,facilitator_id\n")},
         blocking="Tab 'meetings' has a header but no rows."),
    Case("too-many-bad-rows", {"attendance": [set_cell(r, "status", "?") for r in (2, 3, 4, 5)]},
         blocking="Tab 'attendance': 4 of 15 rows (27%) failed checks, more than the 20% allowed"),
    # -- grid-form attendance
    Case("grid-pae", grid("member_id,WC-07-07,WC-07-14,MC-08-04\nM01,P,P,P\nM02,P,A,P\nM03,A,P,P\nM04,E,P,A\nM05,P,P,P\n"),
         check=lambda r: r.tabs["attendance"].form == "grid" and len(r.tabs["attendance"].accepted) == 15
         and sorted(r.tabs["attendance"].accepted["status__value"]).count("excused") == 1),
    Case("grid-booleans-yes-x-true", grid("Organization,WC-07-07,WC-07-14\nRiverside General Hospital,TRUE,x\n"
                                          "Riverside Unified School District,Yes,FALSE\nNorthside Food Bank,no,\n"),
         check=lambda r: list(zip(r.tabs["attendance"].accepted["member_id"], r.tabs["attendance"].accepted["status__value"]))
         == [("M01", "present"), ("M01", "present"), ("M02", "present"), ("M02", "absent"), ("M03", "absent")]),
    Case("grid-member-id-header-in-words", grid("Member ID,WC-07-07,WC-07-14\nM01,P,P\nM02,A,P\n"),
         check=lambda r: r.tabs["attendance"].form == "grid" and list(r.tabs["attendance"].accepted["member_id"])
         == ["M01", "M01", "M02", "M02"]),
    Case("grid-date-headers", grid("member_id,7/7/2026,2026-07-14,46238\nM01,P,P,P\nM02,A,P,P\n"),
         check=lambda r: sorted(set(r.tabs["attendance"].accepted["meeting_id"])) == ["MC-08-04", "WC-07-07", "WC-07-14"]),
    Case("grid-unreadable-cell", grid("member_id,WC-07-07,WC-07-14,MC-08-04\nM01,P,P,P\nM02,P,?,P\nM03,A,P,P\nM04,E,P,A\nM05,P,P,P\n"),
         {("attendance", 3, "WC-07-14"): "'?' is not a known attendance status"},
         check=lambda r: len(r.tabs["attendance"].accepted) == 14 and r.tabs["attendance"].cells_quarantined == 1),
    Case("grid-unknown-meeting-column", grid("member_id,WC-07-07,WC-09-01,Notes\nM01,P,P,chair\nM02,P,,\nM03,A,,\nM04,E,,\nM05,P,,\n"),
         {("attendance", 2, "WC-09-01"): "column 'WC-09-01' is neither a meeting id nor a meeting date"},
         check=lambda r: len(r.tabs["attendance"].accepted) == 5),
    Case("grid-date-with-no-meeting", grid("member_id,WC-07-07,7/28/2026\nM01,P,P\nM02,P,\nM03,A,\nM04,E,\nM05,P,\n"),
         {("attendance", 2, "7/28/2026"): "the meetings tab has no meeting on 2026-07-28"}),
    Case("grid-unknown-member-row", grid("member_id,WC-07-07,WC-07-14\nM01,P,P\nM02,P,A\nM03,A,P\nM04,E,P\nM05,P,P\nM09,P,A\n"),
         {("attendance", 7, "member_id"): "member id 'M09' is not in the members tab"},
         check=lambda r: len(r.tabs["attendance"].accepted) == 10),
    Case("grid-share-counts-cells-not-rows",
         grid("member_id,WC-07-07,7/14/2026,MC-08-04,Notes\nM01,P,P,P,chair\nM02,P,?,P,\nM03,A,x,TRUE,\nM04,E,P,#REF!,\nM05,P,P,P,\n"),
         # 2 of 15 marked cells (13%) are bad although 2 of 5 member rows (40%) hold one: not blocking
         {("attendance", 3, "7/14/2026"): "'?' is not a known attendance status",
          ("attendance", 5, "MC-08-04"): "the cell shows the spreadsheet error #REF!"},
         check=lambda r: len(r.tabs["attendance"].accepted) == 13 and r.tabs["attendance"].rows_accepted == 3),
    Case("grid-too-many-bad-cells", grid("member_id,WC-07-07,WC-07-14\nM01,P,?\nM02,??,P\nM03,A,-\nM04,E,P\nM05,P,P\n"),
         blocking="Tab 'attendance': 3 of 10 marked cells (30%) failed checks"),
    Case("grid-repeated-member-row", grid("member_id,WC-07-07,WC-07-14\nM01,P,P\nM02,P,A\nM03,A,P\nM04,E,P\nM05,P,P\nM01,A,A\n"),
         {("attendance", 7, "member_id"): "repeats row 2"},
         check=lambda r: list(r.tabs["attendance"].accepted["status__value"][:2]) == ["present", "present"]),
    # -- issue 10: inputs that used to publish a wrong figure with exit 0
    Case("shared-organization-name", {"members": append("M07,Northside Food Bank,nonprofit,small,2026-02-01,,member")},
         # the response cannot be given to one of two members: never counted twice
         {("survey", 4, "respondent"): "respondent 'Northside Food Bank' matches more than one member: 2 members "
                                       "(M03, M07) share that name"}),
    Case("grid-shared-organization-name",
         {"members": append("M07,Northside Food Bank,nonprofit,small,2026-02-01,,member"),
          "attendance": replace_text("Organization,WC-07-07,WC-07-14,MC-08-04\nRiverside General Hospital,P,P,P\n"
                                     "Riverside Unified School District,P,A,P\nNorthside Food Bank,A,P,P\n"
                                     "Eastside Youth League,E,P,A\nDowntown Business Association,P,P,P\n")},
         {("attendance", 4, "member_id"): "member 'Northside Food Bank' matches more than one member: 2 members (M03, M07)",
          ("survey", 4, "respondent"): "matches more than one member"},
         check=lambda r: len(r.tabs["attendance"].accepted) == 12),
    Case("two-status-columns", {"attendance": add_column("Status", *["absent"] * 15)},
         blocking="Tab 'attendance' has 2 columns headed 'status' (C and D); only one can be read as status."),
    Case("two-columns-for-one-question",
         {"survey": add_column("Communication among members is timely and useful. ", "1", "1", "1", "1", "1")},
         blocking="Tab 'survey' has 2 columns headed 'Communication among members is timely and useful.' (G and I)"),
    Case("grid-two-identical-meeting-columns", grid("member_id,WC-07-07,WC-07-07\nM01,P,A\nM02,P,P\n"),
         blocking="Tab 'attendance' has two columns headed 'WC-07-07' (B and C): one meeting would be counted twice"),
    Case("grid-id-and-date-of-one-meeting",
         grid("member_id,WC-07-07,WC-07-14,MC-08-04,7/7/2026\nM01,P,P,P,A\nM02,P,A,P,\nM03,A,P,P,\nM04,E,P,A,\nM05,P,P,P,\n"),
         {("attendance", 2, "7/7/2026"): "column '7/7/2026' is meeting WC-07-07 again (column 'WC-07-07' already is)"},
         check=lambda r: len(r.tabs["attendance"].accepted) == 15
         and list(r.tabs["attendance"].accepted["status__value"][:1]) == ["present"]),
    # -- goal ties (goal_focus_share): tasks.goal_id and [workstreams]
    Case("task-goal-id-unknown", {"tasks": add_column("goal_id", "G1", "G9")},
         {("tasks", 3, "goal_id"): "goal id 'G9' is not in the goals tab"}),
    Case("task-goal-id-trimmed-and-blank", {"tasks": add_column("Goal ID", " G1 ", "", "G3")},
         check=lambda r: list(r.tabs["tasks"].accepted["goal_id"].fillna("-")) == ["G1", "-", "G3", "-", "-"]),
    Case("task-goal-id-on-a-set-aside-goal", {"goals": set_cell(6, "baseline", "about 4"),
                                               "tasks": add_column("goal_id", "", "", "", "", "G5")},
         {("goals", 6, "baseline"): "'about 4' is not a number",
          ("goal_measurements", 9, "goal_id"): "goal_id 'G5' is on row 6 of the goals tab, which was set aside",
          ("tasks", 6, "goal_id"): "goal_id 'G5' is on row 6 of the goals tab, which was set aside"},
         check=lambda r: [q.caused_by for q in r.tabs["tasks"].quarantined] == ["goals row 6"]),
    Case("workstream-name-typo", {}, config={"workstreams": {"Referals": "G1"}},
         blocking="[workstreams] \"Referals\": no task in the tasks tab has the workstream 'Referals'. Did you mean "
                  "\"Referrals\"? The tasks tab's workstreams are Admin, Data, Events, Outreach, Referrals."),
    Case("workstream-goal-unknown", {}, config={"workstreams": {"Referrals": "G9"}},
         blocking="[workstreams] \"Referrals\" = \"G9\": the goals tab has no goal 'G9'."),
    Case("workstream-goal-id-in-lower-case", {}, config={"workstreams": {"Referrals": "g1"}},
         blocking="[workstreams] \"Referrals\" = \"g1\": the goals tab has no goal 'g1'. Did you mean \"G1\"?"),
    Case("workstream-mapping-without-a-goals-tab", {"goals": MISSING, "goal_measurements": MISSING},
         config={"workstreams": {"Referrals": "G1"}},
         blocking="[workstreams] \"Referrals\" = \"G1\": the goals tab has no goal 'G1'. The goals tab has no goals."),
    Case("workstream-names-match-like-enumerations", {"tasks": set_cell(3, "workstream", "  OUTREACH ")},
         config={"workstreams": {" outreach": "G2", "REFERRALS": "G1", "Events": ""}}),
    Case("workstream-goal-on-a-set-aside-goals-row", {"goals": set_cell(6, "baseline", "about 4")},
         {("goals", 6, "baseline"): "'about 4' is not a number",
          ("goal_measurements", 9, "goal_id"): "goal_id 'G5' is on row 6 of the goals tab, which was set aside"},
         config={"workstreams": {"Data": "G5"}}),
    Case("goal-column-header-near-miss", {"tasks": add_column("Goal", "G1")},
         blocking="Tab 'tasks' has no column 'goal_id', but it has a column 'Goal' (column J) that is not read"),
    Case("workstream-named-twice", {}, config={"workstreams": {"Referrals": "G1", "referrals ": "G2"}},
         config_error="[workstreams] 'Referrals' and 'referrals ' name the same workstream"),
    Case("workstream-goal-not-text", {}, config={"workstreams": {"Referrals": 1}},
         config_error="[workstreams] 'Referrals' must be text"),
    Case("counted-kind-typo", {}, config={"metrics": {"counted_kinds": ["weekly-call"]}},
         config_error="[metrics] counted_kinds has 'weekly-call', which is not a meeting kind. Did you mean \"weekly_call\"?"),
    Case("two-items-one-question", {},
         config={"survey_items": {"trust": "Communication among members is timely and useful."}},
         config_error="[survey_items] trust and [survey_items] communication name the same column"),
    Case("tab-title-typo", {"survey": MISSING}, config={"tabs": {"survey": "Form Responses 1"}},
         blocking="Tab 'Form Responses 1' is missing, and [tabs] survey names it"),
    Case("respondent-column-typo", {}, config={"survey": {"respondent_column": "Member ID"}},
         blocking="Tab 'survey' has no column 'Member ID', the respondent column that [survey] respondent_column names"),
    Case("no-respondent-column-is-anonymous", {"survey": header("Organization", "Comments")},
         check=lambda r: "respondent" not in r.tabs["survey"].column_map and r.tabs["survey"].rows_accepted == 5),
    Case("mapped-header-missing", {}, config={"columns": {"tasks": {"owner_id": "Owner"}}},
         blocking="Tab 'tasks' has no column 'Owner', the header that [columns] tasks.owner_id names"),
    Case("mapped-header", {"tasks": [header("owner_id", "Owner"), header("due_on", "Due date")]},
         config={"columns": {"tasks": {"owner_id": "Owner", "due_on": "Due date"}}},
         check=lambda r: list(r.tabs["tasks"].accepted["owner_id"]) == ["M01", "M01", "M03", "M02", "M05"]
         and r.tabs["tasks"].accepted["due_on__value"][0] == "2026-07-20"),
    Case("renamed-column-suggests-mapping", {"tasks": header("owner_id", "Owner")},
         blocking="Add the column, or map it in the config: [columns] tasks = { owner_id = \"Owner\" }."),
    Case("attendance-before-joining", {"members": set_cell(5, "joined_on", "2026-07-10")},
         {("attendance", 5, "member_id"): "member 'M04' was not a member on the meeting's date: M04 joined on "
                                          "2026-07-10, after meeting WC-07-07 (2026-07-07)"}),
    Case("attendance-and-survey-after-leaving", {"members": set_cell(6, "left_on", "2026-07-31")},
         {("attendance", 16, "member_id"): "M05 left on 2026-07-31, before meeting MC-08-04 (2026-08-04)",
          ("survey", 6, "respondent"): "respondent 'Downtown Business Association' was not a member when answering: "
                                       "M05 left on 2026-07-31, before this response (2026-09-05)"}),
    Case("grid-cell-before-joining", {"members": set_cell(5, "joined_on", "2026-07-10"),
                                      "attendance": replace_text("member_id,WC-07-07,WC-07-14,MC-08-04\nM01,P,P,P\n"
                                                                 "M02,P,A,P\nM03,A,P,P\nM04,E,P,A\nM05,P,P,P\n")},
         {("attendance", 5, "WC-07-07"): "M04 joined on 2026-07-10, after meeting WC-07-07 (2026-07-07)"},
         check=lambda r: len(r.tabs["attendance"].accepted) == 14 and r.tabs["attendance"].cells_quarantined == 1),
    Case("long-form-marks", {"attendance": [set_cell(2, "status", "P"), set_cell(3, "status", "x"), set_cell(4, "status", "no"),
                                            set_cell(5, "status", "E"), set_cell(6, "status", "TRUE")]},
         check=lambda r: list(r.tabs["attendance"].accepted["status__value"][:5])
         == ["present", "present", "absent", "excused", "present"]),
    Case("goal-target-equals-baseline", {"goals": set_cell(2, "target", "62")},
         {("goals", 2, "target"): "target '62' equals the baseline, so progress toward it cannot be measured",
          ("goal_measurements", 2, "goal_id"): "goal_id 'G1' is on row 2 of the goals tab, which was set aside",
          ("goal_measurements", 3, "goal_id"): "goal_id 'G1' is on row 2 of the goals tab, which was set aside"}),
    Case("goal-target-on-the-wrong-side", {"goals": set_cell(3, "target", "90")},
         {("goals", 3, "target"): "target '90' is above the baseline (85) but the direction is decrease",
          ("goal_measurements", 4, "goal_id"): "goal_id 'G2' is on row 3",
          ("goal_measurements", 5, "goal_id"): "goal_id 'G2' is on row 3"}),
    Case("goal-target-date-equals-baseline-date", {"goals": set_cell(4, "target_on", "2026-01-01")},
         {("goals", 4, "target_on"): "target_on '2026-01-01' is not after baseline_on",
          ("goal_measurements", 6, "goal_id"): "goal_id 'G3' is on row 4",
          ("goal_measurements", 7, "goal_id"): "goal_id 'G3' is on row 4"}),
    Case("uncalculated-formula-text", {"tasks": set_cell(2, "completed_on", "=G2-2")},
         {("tasks", 2, "completed_on"): "the cell holds the formula =G2-2 but no value"}),
    # -- hostile inputs: an optional column a figure reads, under a header that is not quite its name,
    # was ignored and read as blank in every row (task completion 0%, raci_gaps = every task,
    # members who left still on the roster)
    Case("optional-column-header-near-miss", {"tasks": header("completed_on", "Completed")},
         blocking="Tab 'tasks' has no column 'completed_on', but it has a column 'Completed' (column H)"),
    # spaces, hyphens and underscores are one in a header: 'Left on' is left_on, 'Member ID' member_id
    Case("header-with-spaces-for-underscores", {"members": header("left_on", "Left on"),
                                                "attendance": [header("member_id", "Member ID"), header("meeting_id", "meeting-id")]},
         check=lambda r: r.tabs["members"].column_map["left_on"] == 5 and r.tabs["attendance"].column_map["member_id"] == 1
         and r.tabs["attendance"].form == "long"),
    Case("two-headers-one-column-loosely", {"members": [header("left_on", "Left on"), header("role", "left-on")]},
         blocking="Tab 'members' has 2 columns headed 'left_on' (F and G)"),
    Case("optional-column-header-facilitator", {"meetings": header("facilitator_id", "Facilitator")},
         blocking="Tab 'meetings' has no column 'facilitator_id', but it has a column 'Facilitator' (column E)"),
    Case("invisible-character-in-header", {"tasks": header("accountable_id", "accountable_id\u200b"),
                                           "members": header("left_on", "\ufeffleft_on")},
         check=lambda r: r.tabs["tasks"].column_map["accountable_id"] == 4 and r.tabs["members"].column_map["left_on"] == 5),
    Case("unrelated-extra-columns-are-fine", {"members": add_column("Notes", "founding member"),
                                              "goal_measurements": header("note", "notes"),
                                              "tasks": add_column("Priority", "high")}),
    # a label means a point of the 1-5 scale: on an item scored 1-7 'Strongly agree' was counted as 5
    Case("likert-label-on-a-1-7-item", {"survey": [set_cell(2, "I trust the other members of this coalition to follow through on their commitments.", "Strongly agree"),
                                                   set_cell(3, "I trust the other members of this coalition to follow through on their commitments.", "7"),
                                                   set_cell(3, "Communication among members is timely and useful.", "Agree")]},
         {("survey", 2, "trust"): "'Strongly agree' is not an answer on the scale (a number or a label such as Agree) "
                                  "('Strongly agree' is a point of the 1-5 agreement scale, but trust is answered on 1-7: write the number)"},
         config={"survey_scales": {"trust": [1, 7]}},
         check=lambda r: list(r.tabs["survey"].accepted["trust__value"][:1]) == [7.0]
         and list(r.tabs["survey"].accepted["communication__value"][:1]) == [4.0]),
    # -- a survey instrument of the coalition's own (issue 12)
    Case("custom-item-question-missing-from-the-sheet", {},
         config={"survey_items": {"equity": "Small members have an equal say."}},
         blocking="Tab 'survey' has no column for survey item 'equity': expected the question 'Small members have an equal say.'"),
    Case("custom-item-answer-off-its-scale-and-its-own-labels",
         {"survey": add_column("How often do small members have an equal say?", "Always", "sometimes", "7", "Agree", "Maybe")},
         {("survey", 4, "equity"): "answer '7' is outside the item's scale",
          ("survey", 6, "equity"): "'Maybe' is not an answer on the scale (a number or a label such as Agree) (equity takes "
                                   "a number from 1-5 or one of its labels (Never, Rarely, Sometimes, Often, Always))"},
         config={"survey_items": {"equity": {"question": "How often do small members have an equal say?", "reverse": True,
                                             "labels": ["Never", "Rarely", "Sometimes", "Often", "Always"]}},
                 "validation": {"max_bad_share": 0.5}},
         # validated on the raw scale: Always = 5, sometimes = 3, Agree = 4 (the 1-5 label)
         check=lambda r: list(r.tabs["survey"].accepted["equity__value"]) == [5.0, 3.0, 4.0]),
    Case("custom-item-labels-unequal-to-its-scale", {},
         config={"survey_items": {"equity": {"question": "Equal say?", "scale": [1, 7], "labels": ["No", "Yes"]}}},
         config_error="[survey_items] equity has 2 labels for the 7 points of its scale 1-7"),
    Case("scale-names-an-unknown-item", {}, config={"survey_scales": {"team": {"items": ["trust", "equity"]}}},
         config_error="[survey_scales] team items names 'equity', which is not a survey item"),
    Case("scale-bands-not-descending", {},
         config={"survey_scales": {"team": {"items": ["trust", "communication"],
                                            "bands": [{"label": "concern", "min": 1.0}, {"label": "strength", "min": 4.0}]}}},
         config_error="[survey_scales] team bands must be ordered by min, highest first"),
    Case("scale-min-items-out-of-range", {},
         config={"survey_scales": {"team": {"items": ["trust", "communication"], "min_items": 5}}},
         config_error="[survey_scales] team min_items must be a whole number from 1 to 2"),
    Case("voice-role-names-a-missing-item", {}, config={"survey": {"voice_item": "equity"}},
         config_error="[survey] voice_item = 'equity' names no survey item"),
    # two values for one goal on one day: the later sheet row silently decided goal_progress
    Case("goal-measured-twice-on-one-day", {"goal_measurements": append("G3,2026-09-30,150,program log recount",
                                                                         "G2,9/30/2026,78.4,discharge data again")},
         {("goal_measurements", 10, "measured_on"): "goal G3 is measured again on 2026-09-30 (repeats row 7): the first row is kept",
          ("goal_measurements", 11, "measured_on"): "goal G2 is measured again on 2026-09-30 (repeats row 5)"},
         check=lambda r: list(r.tabs["goal_measurements"].accepted["value__value"]) == [63.5, 65, 80.2, 78.4, 120, 210, 3.0, 9]),
    # -- volume
    Case("thousands-of-rows", thousands_of_rows(),
         {("attendance", 1235, "member_id"): "member id 'M777' is not in the members tab",
          ("attendance", 2002, "status"): "'prsent' is not a known attendance status",
          ("attendance", 3001, "member_id"): "repeats row 2"},
         check=lambda r: r.tabs["attendance"].rows_accepted == 2997 and r.tabs["members"].rows_accepted == 106),
]


def _tabs_for(case: Case) -> dict[str, RawTab]:
    tabs = {}
    for tab in TAB_FILES:
        edit = case.edits.get(tab)
        if edit is MISSING:
            continue
        values = base_values(tab)
        for e in edit if isinstance(edit, list) else [edit] if edit else []:
            e(values)
        head, rows = split_rows(values)
        tabs[tab] = RawTab(tab, tab, head, rows)
    return tabs


@pytest.fixture(scope="module")
def base_settings():
    from coalition_metrics.config import load_settings

    return load_settings(None, environ={})


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case: Case, base_settings):
    if case.config_error:
        with pytest.raises(ConfigError) as err:
            base_settings.with_overrides(**case.config)
        assert case.config_error in str(err.value), str(err.value)
        return
    settings = base_settings.with_overrides(**case.config) if case.config else base_settings
    tabs = _tabs_for(case)
    if case.blocking:
        with pytest.raises(BlockingValidationError) as err:
            validate_snapshot(tabs, settings, today=TODAY)
        assert case.blocking in str(err.value), str(err.value)
        assert "Traceback" not in str(err.value)
        return
    result = validate_snapshot(tabs, settings, today=TODAY)
    got = {(q.tab, q.sheet_row, q.column): q.reason for q in result.quarantined}
    assert set(got) == set(case.quarantined), got
    for key, fragment in case.quarantined.items():
        assert fragment in got[key], (key, got[key])
    for name, t in result.tabs.items():
        raw = tabs.get(name)
        assert t.rows_read == (len(raw.rows) if raw else 0), name
        assert t.rows_blank + t.rows_accepted + t.rows_quarantined == t.rows_read, name
        assert t.rows_blank == case.blank.get(name, 0), name
        if t.accepted is not None and t.form == "long":
            assert len(t.accepted) == t.rows_accepted, name
    for q in result.quarantined:  # every entry tells the coordinator what to do
        assert q.reason and q.fix and q.expectation.startswith("expect_"), q
    if case.check:
        assert case.check(result), case.id


def test_the_corpus_has_at_least_30_defect_cases():
    defects = [c for c in CASES if c.id != "clean-baseline"]
    assert len(defects) >= 30


def _workbook_from_base(path: Path, attendance_rows: list[list]) -> None:
    import openpyxl

    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for tab in TAB_FILES:
        ws = wb.create_sheet(tab)
        for row in (attendance_rows if tab == "attendance" else base_values(tab)):
            ws.append(row)
    return wb


def test_merged_title_cells_in_a_workbook_name_the_header_row(tmp_path, base_settings):
    """A real .xlsx with a merged title over the columns: the error says where the header is."""
    rows = [["Attendance log, summer 2026", None, None], *base_values("attendance")]
    wb = _workbook_from_base(tmp_path / "w.xlsx", rows)
    wb["attendance"].merge_cells("A1:C1")
    wb.save(tmp_path / "w.xlsx")
    s = base_settings.with_overrides(source={"location": str(tmp_path / "w.xlsx")})
    from coalition_metrics.pipeline import extract

    with pytest.raises(BlockingValidationError, match="Tab 'attendance': the column names are in sheet row 2, not row 1"):
        validate_snapshot(extract(s), s, today=TODAY)


def test_merged_header_cell_over_two_columns_leaves_the_second_unnamed(tmp_path, base_settings):
    """'status' merged across C1:D1: column D has no header; its cells are not read as data."""
    rows = [["meeting_id", "member_id", "status", None], *[r + ["note"] for r in base_values("attendance")[1:]]]
    wb = _workbook_from_base(tmp_path / "w.xlsx", rows)
    wb["attendance"].merge_cells("C1:D1")
    wb.save(tmp_path / "w.xlsx")
    s = base_settings.with_overrides(source={"location": str(tmp_path / "w.xlsx")})
    from coalition_metrics.pipeline import extract

    result = validate_snapshot(extract(s), s, today=TODAY)
    att = result.tabs["attendance"]
    assert (att.rows_read, att.rows_accepted, att.rows_quarantined) == (15, 15, 0)
    assert list(att.accepted["status__value"][:3]) == ["present", "present", "absent"]


def test_an_item_on_its_own_scale(base_settings):
    """[survey_scales] trust = [1, 7]: a 6 or 7 is a valid trust answer, 0 is not; other items stay 1-5."""
    s = base_settings.with_overrides(survey_scales={"trust": [1, 7]}, validation={"max_bad_share": 0.5})
    trust = "I trust the other members of this coalition to follow through on their commitments."
    case = Case("trust-1-7", {"survey": [set_cell(2, trust, "7"), set_cell(3, trust, "6"), set_cell(4, trust, "0"),
                                         set_cell(5, "Communication among members is timely and useful.", "6")]})
    result = validate_snapshot(_tabs_for(case), s, today=TODAY)
    got = {(q.sheet_row, q.column): q.reason for q in result.quarantined}
    assert got == {(4, "trust"): "answer '0' is outside the item's scale",
                   (5, "communication"): "answer '6' is outside the item's scale"}
