"""Generate the bundled example coalition: deterministic (seeded), realistic, with planted defects.

    python examples/generate_example.py          # writes examples/riverside/csv/*.csv and riverside.xlsx

The Riverside Health Equity Coalition: 10 members (a hospital, a school district, the county health
department, a chamber of commerce, nonprofits, a faith alliance), two years of weekly calls, monthly
calls and quarterly meetings from October 2024, one member joining late (M10, July 2025) and one
leaving (M09, March 2026), attendance fading for two small members, a Google-Forms survey every
quarter, tasks that pile on the hospital (the champion) in some quarters, two goals with quarterly
measurements, and milestones.

Planted defects, so the quarantine path runs in every demo (see examples/README.md):
- attendance: an unknown member id (M11) and one wholly blank row in the middle;
- survey: a Likert answer of 6, and one organization that answered twice in a wave (superseded);
- tasks: a due date typed as "March 15, 2026", and task id T017 used twice.
"""

from __future__ import annotations

import csv
import random
import re
from datetime import date, datetime, timedelta
from pathlib import Path

from coalition_metrics.config import DEFAULT_ITEMS

HERE = Path(__file__).resolve().parent / "riverside"
SEED = 20241001
START = date(2024, 10, 1)
END = date(2026, 11, 20)  # the data runs into the current quarter, for quarter-to-date refreshes

QUESTIONS = DEFAULT_ITEMS  # item code -> the question text, the Forms column header
LABELS = {1: "Strongly disagree", 2: "Disagree", 3: "Neither agree nor disagree", 4: "Agree", 5: "Strongly agree"}

MEMBERS = [
    # id, organization, sector, size_tier, joined_on, left_on, role
    ("M01", "Riverside General Hospital", "health care", "large", date(2024, 10, 1), None, "convener"),
    ("M02", "Riverside Unified School District", "education", "large", date(2024, 10, 1), None, "steering"),
    ("M03", "Riverside County Public Health", "government", "large", date(2024, 10, 1), None, "steering"),
    ("M04", "Riverside Chamber of Commerce", "business association", "medium", date(2024, 10, 1), None, "member"),
    ("M05", "Eastside Food Bank", "nonprofit", "small", date(2024, 10, 1), None, "member"),
    ("M06", "Youth Forward Riverside", "nonprofit", "small", date(2024, 10, 1), None, "member"),
    ("M07", "Casa de la Familia", "nonprofit", "small", date(2024, 10, 15), None, "member"),
    ("M08", "Northside Faith Alliance", "faith-based", "small", date(2024, 10, 1), None, "member"),
    ("M09", "Riverside Parks & Recreation", "government", "medium", date(2024, 10, 1), date(2026, 3, 31), "member"),
    ("M10", "Greenway Housing Partners", "nonprofit", "medium", date(2025, 7, 14), None, "member"),
]


def quarter_index(d: date) -> int:
    """0 for Oct-Dec 2024, 1 for Jan-Mar 2025, ..."""
    return (d.year - 2024) * 4 + (d.month - 1) // 3 - 3


def p_present(member_id: str, d: date) -> float:
    qi = quarter_index(d)
    base = {"M01": 0.95, "M02": 0.8, "M03": 0.85, "M04": 0.7, "M05": 0.85, "M06": 0.75,
            "M07": 0.7, "M08": 0.8, "M09": 0.6, "M10": 0.85}[member_id]
    if member_id == "M05":  # fades steadily
        return max(0.15, base - 0.1 * qi)
    if member_id == "M08":  # drops sharply in 2026, then stops coming
        return base if qi < 6 else (0.3 if qi == 6 else 0.0)
    if member_id == "M04":
        return base - 0.02 * qi
    return base


def on_roster(m, d: date) -> bool:
    return m[4] <= d and (m[5] is None or m[5] >= d)


def first_weekday(year: int, month: int, weekday: int, nth: int = 1) -> date:
    d = date(year, month, 1)
    while d.weekday() != weekday:
        d += timedelta(days=1)
    return d + timedelta(weeks=nth - 1)


def months():
    y, m = START.year, START.month
    while date(y, m, 1) <= END:
        yield y, m
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)


def build(rng: random.Random):
    meetings = []
    d = START  # a Tuesday
    while d <= END:
        if not (d.month == 12 and d.day >= 23) and not (d.month == 1 and d.day <= 2):  # holiday weeks
            meetings.append([f"WC-{d.isoformat()}", d, "weekly_call", "", "M01" if rng.random() < 0.8 else "M03"])
        d += timedelta(weeks=1)
    for y, m in months():
        mc = first_weekday(y, m, 3)  # first Thursday
        if mc <= END:
            meetings.append([f"MC-{mc.isoformat()}", mc, "monthly_call", "", "M01" if rng.random() < 0.6 else "M02"])
        cm = first_weekday(y, m, 0, 3)  # third Monday: policy committee
        if cm <= END:
            meetings.append([f"CM-{cm.isoformat()}", cm, "committee", "Policy", "M03"])
        if m in (2, 5, 8, 11):
            qm = first_weekday(y, m, 2, 2)  # second Wednesday of the quarter's middle month
            if qm <= END:
                meetings.append([f"QM-{qm.isoformat()}", qm, "quarterly_meeting", "", "M01"])
    for ev in (date(2025, 5, 17), date(2026, 5, 16)):
        meetings.append([f"EV-{ev.isoformat()}", ev, "event", "", ""])
    meetings.sort(key=lambda r: (r[1], r[0]))
    # Case and spacing as people type them.
    for r in meetings:
        if rng.random() < 0.05:
            r[2] = r[2].replace("_", " ").title()

    attendance = []
    committee = {"M01", "M03", "M04", "M07"}
    for mid, d, kind, _, _ in meetings:
        kind_key = kind.lower().replace(" ", "_")
        for m in MEMBERS:
            if not on_roster(m, d):
                continue
            if kind_key == "committee" and m[0] not in committee:
                continue
            if kind_key == "event" and rng.random() < 0.5:
                continue
            p = p_present(m[0], d)
            if m[0] == "M06" and date(2026, 9, 1) <= d <= date(2026, 9, 30):
                p = 0.0  # absent from the last meetings of the quarter: an alert
            r = rng.random()
            if r < p:
                status = "present"
            elif r < p + 0.06:
                status = "excused"
            else:
                status = "absent"
            if status == "absent" and rng.random() < 0.4:
                continue  # absences often go unrecorded; a missing row counts as absent
            if rng.random() < 0.04:
                status = status.capitalize() + (" " if rng.random() < 0.5 else "")
            attendance.append([mid, m[0], status])
    # Defects: an unknown member id, and a blank row in the middle of the sheet.
    bad_at = next(i for i, r in enumerate(attendance) if r[0] == "WC-2026-04-14")
    attendance.insert(bad_at + 1, ["WC-2026-04-14", "M11", "present"])
    attendance.insert(len(attendance) // 2, ["", "", ""])

    survey = []
    for y, m in months():
        if m not in (3, 6, 9, 12) or date(y, m, 28) > END:
            continue
        qi = quarter_index(date(y, m, 1))
        respondents = [mm for mm in MEMBERS if on_roster(mm, date(y, m, 15))]
        if (y, m) == (2025, 3):
            respondents = [mm for mm in respondents if mm[0] in ("M01", "M02", "M05", "M07")]  # n = 4
        else:
            respondents = [mm for mm in respondents if rng.random() < 0.85]
        for mm in respondents:
            ts = datetime(y, m, 8, 9, 0) + timedelta(minutes=rng.randrange(0, 18 * 24 * 60), seconds=rng.randrange(60))
            answers = {}
            for item in QUESTIONS:
                mean = 4.1 if mm[3] == "large" else (3.7 if mm[3] == "medium" else 3.4)
                if item == "voice_heard":
                    mean += 0.5 if mm[3] == "large" else -0.7 if mm[3] == "small" else 0
                if mm[3] == "small" and qi >= 6:
                    mean -= 0.5
                score = min(5, max(1, round(rng.gauss(mean, 0.8))))
                answers[item] = str(score)
                if rng.random() < 0.03:
                    answers[item] = ""  # item non-response
                elif (y, m) == (2025, 12) and rng.random() < 0.5:
                    answers[item] = LABELS[score]  # that wave used a labelled grid
            org = mm[1]
            if rng.random() < 0.15:
                org = org.lower() + " "
            survey.append([ts, org, answers])
            if (y, m) == (2025, 9) and mm[0] == "M04":  # answered twice: the later one counts
                again = dict(answers, satisfaction="4", communication="4")
                survey.append([ts + timedelta(days=2, hours=3), mm[1], again])
    survey.sort(key=lambda r: r[0])
    # Defect: a Likert answer of 6.
    survey[len(survey) // 3][2]["trust"] = "6"

    tasks = []
    workstreams = ["Referrals", "Data sharing", "Policy", "Outreach", "Funding"]
    tid = 0
    for y, m in months():
        if date(y, m, 28) > date(2026, 12, 31):
            break
        qi = quarter_index(date(y, m, 1))
        for _ in range(rng.choice((2, 3, 3))):
            tid += 1
            champion_quarter = qi in (2, 5)
            owners = ["M01"] * (8 if champion_quarter else 2) + ["M02", "M03", "M04", "M05", "M06", "M07", "M08", "M10"]
            owner = rng.choice(owners)
            due = date(y, m, rng.randrange(5, 28))
            created = max(START, due - timedelta(days=rng.randrange(20, 70)))
            owner_m = next(mm for mm in MEMBERS if mm[0] == owner)
            if not on_roster(owner_m, created) or not on_roster(owner_m, due):
                owner = "M01"
            completed = None
            status = "not started"
            r = rng.random()
            if due <= date(2026, 11, 20):
                if r < 0.65:
                    completed = due - timedelta(days=rng.randrange(0, 10))
                elif r < 0.85:
                    completed = due + timedelta(days=rng.randrange(3, 40))
                if completed and completed < created:
                    completed = created + timedelta(days=rng.randrange(1, 5))
                if completed and completed > date(2026, 11, 20):
                    completed = None
            if completed:
                status = "done"
            elif rng.random() < 0.5:
                status = "in progress"
            accountable = "" if rng.random() < 0.12 else rng.choice(["M01", "M02", "M03"])
            title = f"{rng.choice(workstreams)}: " + rng.choice([
                "draft the shared intake form", "collect partner data for the dashboard", "brief the county board",
                "plan the community listening session", "update the resource directory", "write the grant narrative",
                "recruit two youth advisors", "map referral pathways", "prepare the quarterly newsletter",
                "review the data-sharing agreement"])
            tasks.append([f"T{tid:03d}", title, title.split(":")[0], owner, accountable, created, due, completed, status,
                          task_goal(title)])
    # Defects: a date typed another way, and a task id used twice.
    for t in tasks:
        if t[6] and t[6].year == 2026 and t[6].month == 3:
            t[6] = "March 15, 2026"
            break
    t17 = next(i for i, t in enumerate(tasks) if t[0] == "T017")
    dup = list(tasks[t17 + 3])
    dup[0] = "T017"
    tasks[t17 + 3] = dup

    goals = [
        ["G1", "Increase the share of children aged 3-17 with an annual well-child visit", "% of children",
         "increase", 62, date(2024, 10, 1), 75, date(2027, 9, 30)],
        ["G2", "Reduce emergency department visits for asthma among children", "visits per 10,000 children",
         "decrease", 85, date(2024, 10, 1), 60, date(2027, 9, 30)],
    ]
    measurements = []
    g1, g2 = 62.0, 85.0
    for y, m in months():
        if m not in (3, 6, 9, 12) or date(y, m, 28) > END:
            continue
        last_day = (date(y + (m == 12), m % 12 + 1, 1) - timedelta(days=1))
        g1 += rng.uniform(0.3, 1.6)
        g2 -= rng.uniform(-0.5, 2.0)
        measurements.append(["G1", last_day, round(g1, 1), "County immunization registry"])
        measurements.append(["G2", last_day, round(g2, 1), "Hospital discharge data" if rng.random() < 0.7 else ""])

    milestones = [
        [date(2024, 12, 10), "quick_win", "Shared referral form adopted by four clinics", "M01;M05;M07"],
        [date(2025, 3, 4), "media", "Riverside Courier feature on the coalition's asthma work", "M01;M03"],
        [date(2025, 8, 12), "funding", "Two-year community health grant awarded ($250,000)", "M01;M02;M03"],
        [date(2025, 11, 18), "other", "First youth advisory board convened", "M06"],
        [date(2026, 2, 3), "policy_win", "School district adopts asthma action plan policy", "M02;M03"],
        [date(2026, 6, 9), "media", "Radio interview on food access", "M05"],
        [date(2026, 9, 22), "quick_win", "Free sports physicals at three parks", "M10;M01"],
    ]
    return meetings, attendance, survey, tasks, goals, measurements, milestones


# goal_id on the tasks tab (the last column, as a coalition adds it to a sheet it already keeps): the
# referral and policy workstreams serve the two goals, and so do two kinds of task in any workstream;
# the rest (funding, outreach, most data sharing) is tied to no goal. Decided from the title, so no
# random draw is added and every other figure of the example stays as it was.
GOAL_OF_ACTIVITY = {"map referral pathways": "G1", "collect partner data for the dashboard": "G2"}
GOAL_OF_WORKSTREAM = {"Referrals": "G1", "Policy": "G2"}


def task_goal(title: str) -> str | None:
    workstream, _, activity = title.partition(": ")
    return GOAL_OF_ACTIVITY.get(activity) or GOAL_OF_WORKSTREAM.get(workstream)


def us(d) -> str:
    """A date the way a US sheet's CSV export writes it."""
    if isinstance(d, str) or d is None:
        return d or ""
    if isinstance(d, datetime):
        return f"{d.month}/{d.day}/{d.year} {d.hour}:{d.minute:02d}:{d.second:02d}"
    return f"{d.month}/{d.day}/{d.year}"


def iso(d) -> str:
    if isinstance(d, str) or d is None:
        return d or ""
    return d.isoformat()


def tables(data):
    meetings, attendance, survey, tasks, goals, measurements, milestones = data
    out = {
        "members": (["member_id", "organization", "sector", "size_tier", "joined_on", "left_on", "role"],
                    [list(m) for m in MEMBERS], {4: iso, 5: iso}),
        "meetings": (["meeting_id", "date", "kind", "committee", "facilitator_id"], meetings, {1: iso}),
        "attendance": (["meeting_id", "member_id", "status"], attendance, {}),
        "survey": (["Timestamp", "Organization", *QUESTIONS.values()],
                   [[ts, org, *[a[item] for item in QUESTIONS]] for ts, org, a in survey], {0: us}),
        "tasks": (["task_id", "title", "workstream", "owner_id", "accountable_id", "created_on", "due_on",
                   "completed_on", "status", "goal_id"], tasks, {5: us, 6: us, 7: us}),
        "goals": (["goal_id", "statement", "unit", "direction", "baseline", "baseline_on", "target", "target_on"],
                  goals, {5: iso, 7: iso}),
        "goal_measurements": (["goal_id", "measured_on", "value", "note"], measurements, {1: iso}),
        "milestones": (["date", "kind", "description", "member_ids"], milestones, {0: iso}),
    }
    return out


def write_csv(folder: Path, data) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, (header, rows, fmt) in tables(data).items():
        with (folder / f"{name}.csv").open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(header)
            for row in rows:
                w.writerow([fmt[i](v) if i in fmt else ("" if v is None else v) for i, v in enumerate(row)])


def write_xlsx(path: Path, data) -> None:
    """The same tabs as a workbook: date columns as real date cells, numbers as numbers."""
    import openpyxl

    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    fixed = datetime(2026, 11, 20)
    wb.properties.created = fixed
    wb.properties.modified = fixed
    wb.properties.creator = "examples/generate_example.py"
    for name, (header, rows, fmt) in tables(data).items():
        ws = wb.create_sheet(name)
        ws.append(header)
        for row in rows:
            cells = []
            for i, v in enumerate(row):
                if v is None:
                    cells.append(None)
                elif name == "survey" and i >= 2 and v.isdigit():
                    cells.append(int(v))  # Forms writes linear-scale answers as numbers
                else:
                    cells.append(v)
            ws.append(cells)
        for col in fmt:
            for (cell,) in ws.iter_rows(min_row=2, min_col=col + 1, max_col=col + 1):
                if isinstance(cell.value, datetime):
                    cell.number_format = "m/d/yyyy h:mm:ss"
                elif cell.value is not None and not isinstance(cell.value, str):
                    cell.number_format = "yyyy-mm-dd"
    wb.save(path)
    _fix_zip_timestamps(path)


def _fix_zip_timestamps(path: Path) -> None:
    """openpyxl stamps the zip entries with the current time; fix them so the bytes repeat."""
    import io
    import zipfile

    with zipfile.ZipFile(path) as src:
        entries = [(info, src.read(info.filename)) for info in src.infolist()]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as dst:
        for info, data in entries:
            if info.filename == "docProps/core.xml":  # openpyxl sets "modified" to now on save
                data = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>2026-11-20T00:00:00Z", data)
            fixed = zipfile.ZipInfo(info.filename, date_time=(2026, 11, 20, 0, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = info.external_attr
            dst.writestr(fixed, data)
    path.write_bytes(buf.getvalue())


def main(out: Path = HERE) -> None:
    data = build(random.Random(SEED))
    write_csv(out / "csv", data)
    write_xlsx(out / "riverside.xlsx", data)
    print(f"wrote {out / 'csv'} and {out / 'riverside.xlsx'}")


if __name__ == "__main__":
    import sys

    main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE)
