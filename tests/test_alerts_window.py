"""The absent-streak alerts (transforms/marts/disengagement_alerts.sql) are one window pass over
marts.expected_attendance per member. They must give exactly the rows of the earlier form, which
paired every (quarter, member) with all that member's meetings up to as_of (OLD_ALERTS below, kept
as the oracle): on the example, on crafted cases (a streak crossing a quarter boundary, excused
meetings inside a streak, a member leaving or joining, two meetings on one day, alert_absences = 1
and larger than any streak) and on random attendance."""

import random
from datetime import date, timedelta

import duckdb
import pytest

from coalition_metrics.transform import TRANSFORMS_DIR

NEW_ALERTS = (TRANSFORMS_DIR / "marts" / "disengagement_alerts.sql").read_text(encoding="utf-8")

# The model before the window rewrite (issue 13): 17.5 s and 5.9 GiB at 1000x the example.
OLD_ALERTS = """
-- grain: one row per (quarter, member, reason)
-- A member on the roster at the quarter's as_of is flagged when
--   attendance_drop: their attendance rate fell by >= [metrics] alert_drop from last quarter, or
--   absent_streak:   they were absent from their last alert_absences expected meetings up to as_of
--                    (excused meetings are skipped; the streak may start in an earlier quarter).
with

params as (
    select coalition_id, alert_drop, alert_absences from ref.params
),

quarters as (
    select coalition_id, quarter, seq, as_of from ref.quarters
),

on_roster as (
    select quarters.coalition_id, quarters.quarter, quarters.seq, quarters.as_of, members.member_id
    from quarters
    join staging.stg_members as members
      on members.coalition_id = quarters.coalition_id
     and members.joined_on <= quarters.as_of
     and (members.left_on is null or members.left_on >= quarters.as_of)
),

rates as (
    select coalition_id, quarter, seq, member_id, attendance_rate from marts.attendance_by_member
),

drops as (
    select
        this_q.coalition_id,
        this_q.quarter,
        this_q.member_id,
        'attendance_drop' as reason,
        format('attendance fell from {:.0f}% to {:.0f}%', 100 * last_q.attendance_rate,
               100 * this_q.attendance_rate) as detail
    from rates as this_q
    join rates as last_q
      on last_q.coalition_id = this_q.coalition_id and last_q.member_id = this_q.member_id and last_q.seq = this_q.seq - 1
    join on_roster
      on on_roster.coalition_id = this_q.coalition_id and on_roster.quarter = this_q.quarter
     and on_roster.member_id = this_q.member_id
    join params on params.coalition_id = this_q.coalition_id
    where this_q.attendance_rate <= last_q.attendance_rate - params.alert_drop + 1e-9
),

recent as (
    select
        on_roster.coalition_id,
        on_roster.quarter,
        on_roster.member_id,
        expected.meeting_id,
        expected.meeting_on,
        expected.status,
        row_number() over (
            partition by on_roster.coalition_id, on_roster.quarter, on_roster.member_id
            order by expected.meeting_on desc, expected.meeting_id desc
        ) as recency
    from on_roster
    join marts.expected_attendance as expected
      on expected.coalition_id = on_roster.coalition_id
     and expected.member_id = on_roster.member_id
     and expected.meeting_on <= on_roster.as_of
     and expected.status <> 'excused'
),

streaks as (
    select
        recent.coalition_id,
        quarter,
        member_id,
        'absent_streak' as reason,
        format('absent from the last {} expected meetings (since {})', count(*), min(meeting_on)) as detail
    from recent
    join params on params.coalition_id = recent.coalition_id
    where recency <= params.alert_absences
    group by recent.coalition_id, quarter, member_id, params.alert_absences
    having count(*) = params.alert_absences
       and count(*) filter (where status = 'absent') = count(*)
),

alerts as (
    select * from drops
    union all
    select * from streaks
)

select * from alerts
"""


def rows(con, sql):
    return sorted(con.execute(sql).fetchall())


def test_the_example_gives_the_same_alerts(example_run_copy):
    con = duckdb.connect(str(example_run_copy.folder.parent.parent / "coalition.duckdb"))
    try:
        old, new = rows(con, OLD_ALERTS), rows(con, NEW_ALERTS)
        assert new == old
        assert new == rows(con, "select * from marts.disengagement_alerts")
        streaks = [r for r in new if r[3] == "absent_streak"]
        assert streaks, "the example has absent-streak alerts, so the comparison is not vacuous"
        for n in (1, 2, 4, 6, 50):
            con.execute(f"update ref.params set alert_absences = {n}")
            assert rows(con, NEW_ALERTS) == rows(con, OLD_ALERTS), n
    finally:
        con.close()


QUARTERS = [("2026-Q1", 1, date(2026, 3, 31)), ("2026-Q2", 2, date(2026, 6, 30)), ("2026-Q3", 3, date(2026, 8, 15))]


def crafted_db(members, meetings, alert_absences):
    """An in-memory database with just the tables the alerts model reads, holding two coalitions with
    the same rows: "x" with alert_absences and "y" with alert_absences + 1 (each streak is measured
    with its own coalition's length). members: (id, joined_on, left_on); meetings: (member_id,
    meeting_id, meeting_on, status)."""
    con = duckdb.connect()
    for schema in ("ref", "staging", "marts"):
        con.execute(f"create schema {schema}")
    con.execute("create table ref.params (coalition_id varchar, alert_drop double, alert_absences integer)")
    con.executemany("insert into ref.params values (?, 0.25, ?)", [("x", alert_absences), ("y", alert_absences + 1)])
    con.execute("create table ref.quarters (coalition_id varchar, quarter varchar, seq integer, as_of date)")
    con.execute("create table staging.stg_members (coalition_id varchar, member_id varchar, joined_on date, left_on date)")
    con.execute("create table marts.attendance_by_member (coalition_id varchar, quarter varchar, seq integer, "
                "member_id varchar, attendance_rate double)")
    con.execute("create table marts.expected_attendance (coalition_id varchar, member_id varchar, meeting_id varchar, "
                "meeting_on date, status varchar)")
    for cid in ("x", "y"):
        con.executemany("insert into ref.quarters values (?, ?, ?, ?)", [(cid, *q) for q in QUARTERS])
        con.executemany("insert into staging.stg_members values (?, ?, ?, ?)", [(cid, *m) for m in members])
        con.executemany("insert into marts.expected_attendance values (?, ?, ?, ?, ?)", [(cid, *m) for m in meetings])
    return con


D = date.fromisoformat
CRAFTED_MEMBERS = [
    ("A", D("2025-01-01"), None),           # streak crossing Q1 -> Q2
    ("B", D("2025-01-01"), None),           # an excused meeting inside a streak
    ("C", D("2025-01-01"), D("2026-02-28")),  # left before Q1's as_of: never flagged
    ("E", D("2025-01-01"), None),           # two meetings on one day
    ("F", D("2025-01-01"), None),           # only two meetings ever, both missed
    ("G", D("2026-05-01"), None),           # joins in Q2; its last meeting is on Q3's as_of
]
CRAFTED_MEETINGS = [
    ("A", "a1", D("2026-02-10"), "present"), ("A", "a2", D("2026-03-10"), "absent"),
    ("A", "a3", D("2026-03-24"), "absent"), ("A", "a4", D("2026-04-07"), "absent"),
    ("B", "b1", D("2026-01-10"), "absent"), ("B", "b2", D("2026-01-24"), "excused"),
    ("B", "b3", D("2026-02-07"), "absent"), ("B", "b4", D("2026-02-21"), "absent"),
    ("B", "b5", D("2026-04-10"), "present"),
    ("C", "c1", D("2026-01-10"), "absent"), ("C", "c2", D("2026-01-24"), "absent"),
    ("C", "c3", D("2026-02-07"), "absent"),
    ("E", "e1", D("2026-03-03"), "absent"), ("E", "m10", D("2026-03-10"), "present"),
    ("E", "m11", D("2026-03-10"), "absent"), ("E", "e3", D("2026-03-17"), "absent"),
    ("F", "f1", D("2026-05-05"), "absent"), ("F", "f2", D("2026-05-19"), "absent"),
    ("G", "g1", D("2026-05-12"), "absent"), ("G", "g2", D("2026-06-09"), "absent"),
    ("G", "g3", D("2026-08-15"), "absent"), ("G", "g4", D("2026-08-20"), "present"),  # g4 after as_of
]


def streaks(con, coalition="x"):
    return {(q, m): detail for cid, q, m, reason, detail in con.execute(NEW_ALERTS).fetchall()
            if reason == "absent_streak" and cid == coalition}


def test_crafted_streaks_are_flagged_as_before():
    con = crafted_db(CRAFTED_MEMBERS, CRAFTED_MEETINGS, 3)
    assert streaks(con) == {
        ("2026-Q1", "B"): "absent from the last 3 expected meetings (since 2026-01-10)",  # b2 excused, skipped
        ("2026-Q2", "A"): "absent from the last 3 expected meetings (since 2026-03-10)",  # starts in Q1
        ("2026-Q3", "A"): "absent from the last 3 expected meetings (since 2026-03-10)",  # no meeting since
        ("2026-Q3", "G"): "absent from the last 3 expected meetings (since 2026-05-12)",  # g3 on as_of
    }
    assert rows(con, NEW_ALERTS) == rows(con, OLD_ALERTS)
    con = crafted_db(CRAFTED_MEMBERS, CRAFTED_MEETINGS, 2)
    got = streaks(con)
    # E on 2026-03-10: m10 (present) comes before m11 (absent) by meeting_id, so the last two
    # non-excused meetings up to Q1's as_of are e3 and m11
    assert got[("2026-Q1", "E")] == "absent from the last 2 expected meetings (since 2026-03-10)"
    assert got[("2026-Q2", "F")] == "absent from the last 2 expected meetings (since 2026-05-05)"
    assert ("2026-Q1", "C") not in got
    assert rows(con, NEW_ALERTS) == rows(con, OLD_ALERTS)
    con = crafted_db(CRAFTED_MEMBERS, CRAFTED_MEETINGS, 1)
    got = streaks(con)
    assert got[("2026-Q1", "A")] == "absent from the last 1 expected meetings (since 2026-03-24)"
    assert ("2026-Q2", "B") not in got  # present at b5
    assert rows(con, NEW_ALERTS) == rows(con, OLD_ALERTS)
    con = crafted_db(CRAFTED_MEMBERS, CRAFTED_MEETINGS, 5)  # longer than any streak
    assert streaks(con) == {}
    assert rows(con, NEW_ALERTS) == rows(con, OLD_ALERTS) == []


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_attendance_gives_the_same_alerts(seed):
    rng = random.Random(seed)
    start = date(2025, 11, 1)
    members, meetings = [], []
    for k in range(60):
        joined = start + timedelta(days=rng.randrange(0, 200))
        left = joined + timedelta(days=rng.randrange(20, 300)) if rng.random() < 0.3 else None
        members.append((f"M{k}", joined, left))
        day = joined
        for j in range(rng.randrange(0, 25)):
            day += timedelta(days=rng.choice([0, 0, 3, 7, 14]))  # 0: two meetings on one day
            status = rng.choices(["absent", "present", "excused"], [5, 3, 1])[0]
            meetings.append((f"M{k}", f"x{rng.randrange(1000):03d}-{j}", day, status))
    for n in (1, 2, 3, 4, 6):
        con = crafted_db(members, meetings, n)
        old = rows(con, OLD_ALERTS)
        assert rows(con, NEW_ALERTS) == old, n
        if n <= 3:
            assert any(r[3] == "absent_streak" for r in old)


def test_the_alerts_join_each_member_by_a_merge_in_the_build_transaction(example_run_copy):
    """Within a build's one transaction the tables' statistics are rough (a 100x coalition's 8,115
    roster rows were estimated at 50), and DuckDB turned the ASOF join into a nested loop over every
    meeting: 5.1 s instead of 0.2 s at 100x. run_models keeps it a merge, for any size."""
    from coalition_metrics.config import load_settings
    from coalition_metrics.transaction import one_commit
    from coalition_metrics.transform import FIGURE_LAYERS, run_models

    con = duckdb.connect(str(example_run_copy.folder.parent.parent / "coalition.duckdb"))
    try:
        with one_commit(con):
            con.execute("create or replace table staging.stg_members as select * from staging.stg_members")
            run_models(con, load_settings(None, environ={}), FIGURE_LAYERS)
            plan = "\n".join(row[1] for row in con.execute("explain " + NEW_ALERTS).fetchall())
            assert "Asof Join" in plan and "Nested Loop" not in plan, plan
            assert rows(con, NEW_ALERTS) == rows(con, OLD_ALERTS)
    finally:
        con.close()
