"""Every metric of the catalog on small hand-built coalitions, with the expected values worked out
by hand in the comments. The figures are read unrounded from marts.published_metrics.

Fixture "Hillside" (2026-Q2 and 2026-Q3) covers meetings, attendance, engagement, alerts, tasks,
leadership, goals and milestones, with: a member joining mid-quarter (A04, 2026-08-01), a member
leaving (A05, 2026-06-30), a meeting with no attendance rows (W6), an all-excused meeting (M2), a
quarter with no survey (the tab is missing), a decrease goal and a goal moving the wrong way.
Fixture "Survey" covers the survey metrics: n = 4 vs 5, a quarter with no survey between two
waves, a superseded submission, a blank answer and the voice gap pooled over four waves.
"""

from __future__ import annotations

import math
from datetime import date

import pytest
from scipy import stats

from coalition_metrics.config import DEFAULT_ITEMS, load_settings
from coalition_metrics.pipeline import run_quarterly

HILLSIDE = {
    "members": """member_id,organization,sector,size_tier,joined_on,left_on,role
A01,Alpha Hospital,health,large,2026-04-01,,convener
A02,Beta Schools,education,large,2026-04-01,,steering
A03,Gamma Pantry,nonprofit,small,2026-04-01,,member
A04,Delta Youth,nonprofit,small,2026-08-01,,member
A05,Epsilon Bank,business,medium,2026-04-01,2026-06-30,member
""",
    "meetings": """meeting_id,date,kind,committee,facilitator_id
W1,2026-04-07,weekly_call,,A01
W2,2026-05-05,weekly_call,,A01
M1,2026-05-12,monthly_call,,A02
C1,2026-06-02,committee,Data,A03
W3,2026-07-07,weekly_call,,A01
W4,2026-07-14,weekly_call,,A01
W5,2026-08-04,weekly_call,,A01
M2,2026-08-11,monthly_call,,A01
W6,2026-09-01,weekly_call,,A02
Q1,2026-09-15,quarterly_meeting,,A01
E1,2026-09-20,event,,
W7,2026-10-06,weekly_call,,A01
""",
    "attendance": """meeting_id,member_id,status
W1,A01,present
W1,A02,present
W1,A03,present
W1,A05,present
W2,A01,present
W2,A02,present
W2,A03,absent
W2,A05,excused
M1,A01,present
M1,A02,absent
M1,A05,present
C1,A03,present
W3,A01,present
W3,A02,present
W3,A03,excused
W4,A01,present
W4,A02,absent
W4,A03,present
W5,A01,present
W5,A02,absent
W5,A03,absent
W5,A04,present
M2,A01,excused
M2,A02,excused
M2,A03,excused
M2,A04,excused
Q1,A01,present
Q1,A02,present
Q1,A03,absent
Q1,A04,excused
""",
    "tasks": """task_id,title,workstream,owner_id,accountable_id,created_on,due_on,completed_on,status
T1,Draft referral form,Referrals,A01,A02,2026-07-01,2026-07-15,2026-07-10,done
T2,Brief the board,Outreach,A01,A02,2026-07-01,2026-08-15,2026-08-20,done
T3,Book the venue,Events,A01,,2026-07-05,2026-09-10,,open
T4,Collect data,Data,A02,A05,2026-07-05,2026-09-20,2026-10-05,done
T5,Update the roster,Admin,A03,A01,2026-08-01,2026-09-30,2026-09-30,done
T6,Kickoff agenda,Admin,A01,A02,2026-04-01,2026-05-01,2026-04-28,done
T7,Bank sponsorship,Funding,A05,A01,2026-04-01,2026-06-15,,open
T8,Plan retreat,Events,A01,A02,2026-09-01,2026-10-15,,open
""",
    "goals": """goal_id,statement,unit,direction,baseline,baseline_on,target,target_on
G1,Raise screening rate,%,increase,40,2026-04-01,80,2027-03-31
G2,Cut wait days,days,decrease,30,2026-04-01,20,2026-12-31
G3,Cut ED visits,visits,decrease,100,2026-04-01,50,2027-04-01
""",
    "goal_measurements": """goal_id,measured_on,value,note
G1,2026-05-15,48,
G1,2026-08-20,56,
G1,2026-09-30,60,
G1,2026-10-15,70,after Q3
G2,2026-09-01,29,
G3,2026-07-15,110,
""",
    "milestones": """date,kind,description,member_ids
2026-06-20,quick_win,Shared intake form,A01;A03
2026-08-01,media,Newspaper feature,A01
2026-09-30,policy_win,County resolution,A02
2026-10-10,funding,Grant awarded,A01
""",
}

SURVEY_Q = DEFAULT_ITEMS  # the default instrument: question text per item


def _survey_csv(rows):
    def q(text):
        return f'"{text}"' if "," in text else text
    head = "Timestamp,Organization," + ",".join(q(t) for t in SURVEY_Q.values())
    return head + "\n" + "\n".join(",".join([ts, org, sat, "3", voice, "3", "Agree", "3"]) for ts, org, sat, voice in rows) + "\n"


SURVEY = {
    "members": """member_id,organization,sector,size_tier,joined_on,left_on,role
S1,Large One,health,large,2025-10-01,,convener
S2,Large Two,education,large,2025-10-01,,member
S3,Large Three,health,large,2025-10-01,,member
S4,Small One,nonprofit,small,2025-10-01,,member
S5,Small Two,nonprofit,small,2025-10-01,,member
S6,Small Three,nonprofit,small,2025-10-01,,member
S7,Medium One,business,medium,2025-10-01,,member
S8,Medium Two,business,medium,2025-10-01,,member
""",
    "meetings": "meeting_id,date,kind,committee,facilitator_id\nK1,2025-10-07,weekly_call,,S1\n",
    "attendance": "meeting_id,member_id,status\nK1,S1,present\n",
    # (timestamp, organization, satisfaction, voice_heard); other items 3 (communication "Agree")
    "survey": _survey_csv([
        # 2025-Q4: n = 4
        ("12/01/2025 10:00:00", "Large One", "5", "5"),
        ("12/02/2025 10:00:00", "Large Three", "4", "4"),
        ("12/03/2025 10:00:00", "Small One", "2", "2"),
        ("12/04/2025 10:00:00", "Small Three", "3", "2"),
        # 2026-Q1: n = 5
        ("3/01/2026 10:00:00", "Large One", "4", "4"),
        ("3/02/2026 10:00:00", "Large Two", "5", "5"),
        ("3/03/2026 10:00:00", "Small One", "3", "3"),
        ("3/04/2026 10:00:00", "Small Two", "2", "2"),
        ("3/05/2026 10:00:00", "Medium One", "4", "3"),
        # 2026-Q2: no survey
        # 2026-Q3: 6 respondents; Large Two answered twice (the first is superseded); Small Three
        # left satisfaction blank
        ("9/01/2026 10:00:00", "Large Two", "1", "1"),
        ("9/02/2026 10:00:00", "Large One", "5", "5"),
        ("9/20/2026 10:00:00", "large two", "4", "4"),
        ("9/03/2026 10:00:00", "Large Three", "4", "5"),
        ("9/04/2026 10:00:00", "Small One", "3", "2"),
        ("9/05/2026 10:00:00", "Small Two", "4", "3"),
        ("9/06/2026 10:00:00", "Small Three", "", "2"),
    ]),
}


def run_fixture(tmp_path, tabs: dict[str, str], quarter: str, today: date, **overrides):
    """Write the tabs as a CSV folder, run the quarter without Prefect, return the published
    figures {published_id: {quarter: (value, n, suppressed)}}, unrounded, and the run."""
    import duckdb

    folder = tmp_path / "sheet"
    folder.mkdir(exist_ok=True)
    for name, text in tabs.items():
        (folder / f"{name}.csv").write_text(text)
    settings = load_settings(None, environ={}).with_overrides(
        source={"location": str(folder)}, output={"folder": str(tmp_path / "out"), "pdf": False}, **overrides)
    result = run_quarterly(settings, quarter=quarter, today=today)
    con = duckdb.connect(str(tmp_path / "out" / "coalition.duckdb"), read_only=True)
    try:
        rows = con.execute("select published_id, quarter, value, n, suppressed from marts.published_metrics").fetchall()
        alerts = con.execute("select quarter, member_id, reason, detail from marts.disengagement_alerts "
                             "order by quarter, member_id").fetchall()
    finally:
        con.close()
    figures: dict[str, dict] = {}
    for pid, q, value, n, suppressed in rows:
        figures.setdefault(pid, {})[q] = (value, n, suppressed)
    return figures, alerts, result


@pytest.fixture(scope="module")
def hillside(tmp_path_factory):
    return run_fixture(tmp_path_factory.mktemp("hillside"), HILLSIDE, "2026-Q3", date(2026, 11, 24))


@pytest.fixture(scope="module")
def survey(tmp_path_factory):
    return run_fixture(tmp_path_factory.mktemp("survey"), SURVEY, "2026-Q3", date(2026, 11, 24))


def value(figures, pid, quarter):
    return figures[0][pid][quarter][0]


def n_of(figures, pid, quarter):
    return figures[0][pid][quarter][1]


# ---- meetings --------------------------------------------------------------------------------
def test_meetings_held_and_cadence(hillside):
    # Q3: W3 W4 W5 W6 weekly, M2 monthly, Q1 quarterly, E1 event; W7 is in Q4. Q2: W1 W2, M1, C1.
    assert {k: value(hillside, f"meetings_held[{k}]", "2026-Q3") for k in
            ("weekly_call", "monthly_call", "quarterly_meeting", "committee", "event")} == {
        "weekly_call": 4, "monthly_call": 1, "quarterly_meeting": 1, "committee": 0, "event": 1}
    assert value(hillside, "meetings_held", "2026-Q3") == 7
    assert value(hillside, "meetings_held", "2026-Q2") == 4
    # cadence: min(1, held / expected) with 13 weekly, 3 monthly, 1 quarterly per quarter
    assert value(hillside, "cadence_adherence[weekly_call]", "2026-Q3") == pytest.approx(4 / 13, abs=1e-12)
    assert value(hillside, "cadence_adherence[monthly_call]", "2026-Q3") == pytest.approx(1 / 3, abs=1e-12)
    assert value(hillside, "cadence_adherence[quarterly_meeting]", "2026-Q3") == 1
    assert value(hillside, "cadence_adherence", "2026-Q3") == pytest.approx((4 / 13 + 1 / 3 + 1) / 3, abs=1e-12)
    assert value(hillside, "cadence_adherence[quarterly_meeting]", "2026-Q2") == 0
    assert "cadence_adherence[event]" not in hillside[0]  # no expected cadence: not published


# ---- attendance --------------------------------------------------------------------------------
def test_attendance_rates_with_joiner_missing_rows_and_all_excused(hillside):
    # Q2 expected: W1, W2, M1 x A01 A02 A03 A05 = 12; A05 excused at W2 -> 11 counted.
    # Present: W1 4, W2 2, M1 2 (A03 has no M1 row: absent) = 8 -> 8/11.
    assert value(hillside, "attendance_rate", "2026-Q2") == pytest.approx(8 / 11, abs=1e-12)
    assert n_of(hillside, "attendance_rate", "2026-Q2") == 11
    # Q3 expected: W3, W4 x 3 (A04 joins 08-01) + W5, W6, M2, Q1 x 4 = 22. W6 has no rows: 4 absent.
    # M2 is all excused (4), A03 at W3 and A04 at Q1 excused: 6 excused -> 16 counted.
    # Present: W3 2, W4 2, W5 2, Q1 2 = 8 -> 8/16.
    assert value(hillside, "attendance_rate", "2026-Q3") == 0.5
    assert n_of(hillside, "attendance_rate", "2026-Q3") == 16
    # weekly: present 6 of 13; monthly: only M2, all excused -> no data; quarterly: 2 of 3
    assert value(hillside, "attendance_rate[weekly_call]", "2026-Q3") == pytest.approx(6 / 13, abs=1e-12)
    assert value(hillside, "attendance_rate[monthly_call]", "2026-Q3") is None
    assert n_of(hillside, "attendance_rate[monthly_call]", "2026-Q3") == 0
    assert value(hillside, "attendance_rate[quarterly_meeting]", "2026-Q3") == pytest.approx(2 / 3, abs=1e-12)
    # members: A01 P P P A . P = 4/5; A02 P A A A . P = 2/5; A03 . P A A . A = 1/4;
    # A04 (from W5) P A . . = 1/2; A05 left 2026-06-30: not on the Q3 roster, not published.
    members = {m: value(hillside, f"member_attendance_rate[{m}]", "2026-Q3") for m in ("A01", "A02", "A03", "A04")}
    assert members == pytest.approx({"A01": 0.8, "A02": 0.4, "A03": 0.25, "A04": 0.5}, abs=1e-12)
    assert "2026-Q3" not in hillside[0]["member_attendance_rate[A05]"]
    assert value(hillside, "member_attendance_rate[A05]", "2026-Q2") == 1.0  # W1 P, W2 excused, M1 P


def test_engagement_retention_and_alerts(hillside):
    # Q2 roster A01 A02 A03 A05, all present once: 4/4. Q3 roster A01-A04, all present once: 4/4.
    assert value(hillside, "engagement_rate", "2026-Q2") == 1.0
    assert value(hillside, "active_members", "2026-Q3") == 4
    assert value(hillside, "engagement_rate", "2026-Q3") == 1.0
    # retention: first quarter no data; Q3: of A01 A02 A03 A05 active in Q2, A01-A03 active -> 3/4
    assert value(hillside, "retention_rate", "2026-Q2") is None
    assert value(hillside, "retention_rate", "2026-Q3") == 0.75
    assert n_of(hillside, "retention_rate", "2026-Q3") == 4
    # alerts Q3: A02 fell from 2/3 to 2/5 (26.7 points >= 25); A03's last three non-excused
    # expected meetings (Q1, W6, W5; M2 excused is skipped) were all absences.
    _, alerts, _ = hillside
    assert [(q, m, r) for q, m, r, _ in alerts] == [("2026-Q3", "A02", "attendance_drop"), ("2026-Q3", "A03", "absent_streak")]
    assert alerts[0][3] == "attendance fell from 67% to 40%"
    assert alerts[1][3] == "absent from the last 3 expected meetings (since 2026-08-04)"
    assert value(hillside, "disengagement_alerts", "2026-Q3") == 2
    assert value(hillside, "disengagement_alerts", "2026-Q2") == 0


# ---- tasks and leadership ------------------------------------------------------------------------
def test_tasks(hillside):
    # Q3 due: T1-T5. Completed by 09-30: T1, T2 (late), T5 (on the due day) -> 3/5; on time T1, T5 -> 2/3.
    assert value(hillside, "task_completion_rate", "2026-Q3") == 0.6
    assert value(hillside, "on_time_rate", "2026-Q3") == pytest.approx(2 / 3, abs=1e-12)
    # overdue at 09-30: due before it and not completed by it: T3, T4 (done 10-05), T7 (Q2) = 3, of 6 due
    assert value(hillside, "overdue_open", "2026-Q3") == 3
    assert n_of(hillside, "overdue_open", "2026-Q3") == 6
    # RACI: T3 has no accountable; T4's accountable A05 left before Q3 -> 2 of 5
    assert value(hillside, "raci_gaps", "2026-Q3") == 2
    # Q2: T6 done, T7 open -> 1/2; T6 on time; overdue at 06-30: T7; no gaps (A05 on the Q2 roster)
    assert value(hillside, "task_completion_rate", "2026-Q2") == 0.5
    assert value(hillside, "on_time_rate", "2026-Q2") == 1.0
    assert value(hillside, "overdue_open", "2026-Q2") == 1
    assert value(hillside, "raci_gaps", "2026-Q2") == 0


def test_leadership_concentration_hhi_and_champion_risk(hillside):
    # tasks due in Q3: owners A01 x3, A02, A03 -> 0.6; HHI .36 + .04 + .04 = .44; risk (> .40)
    assert value(hillside, "leadership_concentration[tasks]", "2026-Q3") == pytest.approx(0.6, abs=1e-12)
    assert value(hillside, "ownership_hhi[tasks]", "2026-Q3") == pytest.approx(0.44, abs=1e-12)
    assert value(hillside, "single_champion_risk[tasks]", "2026-Q3") == 1
    # facilitation in Q3 (E1 has none): A01 W3 W4 W5 M2 Q1, A02 W6 -> 5/6; HHI 25/36 + 1/36
    assert value(hillside, "leadership_concentration[facilitation]", "2026-Q3") == pytest.approx(5 / 6, abs=1e-12)
    assert value(hillside, "ownership_hhi[facilitation]", "2026-Q3") == pytest.approx(26 / 36, abs=1e-12)
    # overall: the larger of the two
    assert value(hillside, "leadership_concentration", "2026-Q3") == pytest.approx(5 / 6, abs=1e-12)
    assert value(hillside, "ownership_hhi", "2026-Q3") == pytest.approx(26 / 36, abs=1e-12)
    assert value(hillside, "single_champion_risk", "2026-Q3") == 1
    # Q2 facilitation: A01 W1 W2, A02 M1, A03 C1 -> 0.5, HHI .25 + .0625 + .0625
    assert value(hillside, "ownership_hhi[facilitation]", "2026-Q2") == pytest.approx(0.375, abs=1e-12)


# ---- outcomes ------------------------------------------------------------------------------------
def test_goals_direction_aware_progress_and_on_track(hillside):
    # G1 increase 40 -> 80 over 2026-04-01..2027-03-31 (364 days). Q3: latest by 09-30 is 60 (the
    # 10-15 value is later) -> 20/40 = 0.5; expected 182/364 = 0.5; on track (0.5 >= 0.4).
    assert value(hillside, "goal_progress[G1]", "2026-Q3") == 0.5
    assert value(hillside, "expected_progress[G1]", "2026-Q3") == 0.5
    assert value(hillside, "on_track[G1]", "2026-Q3") == 1
    # Q2: latest 48 -> 0.2; expected 90/364; on track
    assert value(hillside, "goal_progress[G1]", "2026-Q2") == pytest.approx(0.2, abs=1e-12)
    assert value(hillside, "expected_progress[G1]", "2026-Q2") == pytest.approx(90 / 364, abs=1e-12)
    # G2 decrease 30 -> 20 by 2026-12-31 (274 days): 29 -> 0.1; expected 182/274; not on track
    assert value(hillside, "goal_progress[G2]", "2026-Q3") == pytest.approx(0.1, abs=1e-12)
    assert value(hillside, "expected_progress[G2]", "2026-Q3") == pytest.approx(182 / 274, abs=1e-12)
    assert value(hillside, "on_track[G2]", "2026-Q3") == 0
    # G2 has no measurement by Q2's end: no data, and no on_track
    assert value(hillside, "goal_progress[G2]", "2026-Q2") is None
    assert value(hillside, "on_track[G2]", "2026-Q2") is None
    # G3 decrease 100 -> 50 but rose to 110: progress -10/50 = -0.2, not clipped
    assert value(hillside, "goal_progress[G3]", "2026-Q3") == pytest.approx(-0.2, abs=1e-12)
    # goals on track: Q3 1 of 3; Q2 1 of 1 measured
    assert value(hillside, "goals_on_track", "2026-Q3") == pytest.approx(1 / 3, abs=1e-12)
    assert value(hillside, "goals_on_track", "2026-Q2") == 1.0


def test_milestones_and_quick_win(hillside):
    # Q3: media 08-01, policy_win 09-30 (the funding win is 10-10, in Q4); Q2: the quick win 06-20
    assert value(hillside, "milestones", "2026-Q3") == 2
    assert value(hillside, "milestones[media]", "2026-Q3") == 1
    assert value(hillside, "milestones[policy_win]", "2026-Q3") == 1
    assert value(hillside, "milestones[funding]", "2026-Q3") == 0
    assert value(hillside, "milestones[quick_win]", "2026-Q2") == 1
    # a quick win within 3 months of the first join (2026-04-01 -> by 2026-07-01)
    assert value(hillside, "quick_win_in_first_quarter", "2026-Q2") == 1
    assert value(hillside, "quick_win_in_first_quarter", "2026-Q3") == 1


def test_a_quarter_with_no_survey_is_no_data_not_suppressed(hillside):
    assert hillside[0]["satisfaction_mean"]["2026-Q3"] == (None, 0, False)
    assert value(hillside, "response_rate", "2026-Q3") == 0.0  # roster 4, no response


# ---- survey --------------------------------------------------------------------------------------
def test_survey_item_statistics_and_small_n(survey):
    # 2025-Q4: 4 responses -> suppressed, no value
    assert survey[0]["satisfaction_mean"]["2025-Q4"] == (None, 4, True)
    assert survey[0]["item_top2[satisfaction]"]["2025-Q4"] == (None, 4, True)
    # 2026-Q1: 4 5 3 2 4 -> mean 3.6, sd sqrt(5.2 / 4), 95% t-interval, top-2 3/5
    assert value(survey, "satisfaction_mean", "2026-Q1") == pytest.approx(3.6, abs=1e-12)
    assert value(survey, "item_sd[satisfaction]", "2026-Q1") == pytest.approx(math.sqrt(1.3), abs=1e-12)
    half = stats.t.ppf(0.975, 4) * math.sqrt(1.3) / math.sqrt(5)
    assert value(survey, "item_ci_low[satisfaction]", "2026-Q1") == pytest.approx(3.6 - half, abs=1e-9)
    assert value(survey, "item_ci_high[satisfaction]", "2026-Q1") == pytest.approx(3.6 + half, abs=1e-9)
    assert value(survey, "item_top2[satisfaction]", "2026-Q1") == pytest.approx(0.6, abs=1e-12)
    # 2026-Q2: no survey
    assert survey[0]["satisfaction_mean"]["2026-Q2"] == (None, 0, False)
    # 2026-Q3: Large Two's first answer (1) is superseded by its 9/20 answer (4); Small Three left
    # satisfaction blank -> 5 4 4 3 4: n = 5, mean 4.0; voice_heard has 6 answers
    assert survey[0]["satisfaction_mean"]["2026-Q3"] == (4.0, 5, False)
    assert n_of(survey, "item_mean[voice_heard]", "2026-Q3") == 6
    # the 'Agree' label counts as 4
    assert value(survey, "item_mean[communication]", "2026-Q3") == 4.0


def test_response_rate(survey):
    # roster of 8 every quarter: 4, 5, 0 and 6 distinct respondents
    assert [value(survey, "response_rate", q) for q in ("2025-Q4", "2026-Q1", "2026-Q2", "2026-Q3")] == [0.5, 0.625, 0.0, 0.75]


def test_satisfaction_change_with_welch_p_value_skips_the_quarter_without_survey(survey):
    # 2026-Q1 vs 2025-Q4: the earlier wave has n = 4 -> suppressed (n is the smaller side)
    assert survey[0]["satisfaction_change"]["2026-Q1"] == (None, 4, True)
    assert survey[0]["satisfaction_change"]["2025-Q4"][0] is None  # first wave
    # 2026-Q3 vs 2026-Q1 (2026-Q2 had no survey): 4.0 - 3.6 = 0.4; Welch from scipy on the answers
    assert value(survey, "satisfaction_change", "2026-Q3") == pytest.approx(0.4, abs=1e-12)
    welch = stats.ttest_ind([5, 4, 4, 3, 4], [4, 5, 3, 2, 4], equal_var=False)
    assert value(survey, "satisfaction_change_p", "2026-Q3") == pytest.approx(welch.pvalue, abs=1e-9)
    assert value(survey, "item_change_p[satisfaction]", "2026-Q3") == pytest.approx(welch.pvalue, abs=1e-9)
    # by hand: se^2 = .5/5 + 1.3/5 = .36, t = .4/.6; df = .36^2 / ((.1^2 + .26^2) / 4)
    df = 0.36 ** 2 / ((0.1 ** 2 + 0.26 ** 2) / 4)
    assert value(survey, "satisfaction_change_p", "2026-Q3") == pytest.approx(2 * stats.t.sf(0.4 / 0.6, df), abs=1e-12)


def test_voice_gap_pools_four_waves_and_needs_five_per_side(survey):
    # Large voice_heard: Q4 5 4, Q1 4 5, Q3 5 4 5 (the superseded 1 is out) = 32 / 7
    # Small: Q4 2 2, Q1 3 2, Q3 2 3 2 = 16 / 7 -> gap 16/7 with n = 7
    assert value(survey, "voice_gap", "2026-Q3") == pytest.approx(16 / 7, abs=1e-12)
    assert n_of(survey, "voice_gap", "2026-Q3") == 7
    # by 2026-Q1 each side has 4 answers: suppressed
    assert survey[0]["voice_gap"]["2026-Q1"] == (None, 4, True)


# ---- quarters ------------------------------------------------------------------------------------
def test_quarter_to_date_run_counts_up_to_as_of(tmp_path):
    figures = run_fixture(tmp_path, HILLSIDE, "2026-Q3", date(2026, 8, 15))
    assert figures[2].manifest["as_of"] == "2026-08-15"
    # meetings up to 08-15: W3 W4 W5 (weekly), M2 (all excused). Present 2+2+2 of 2+3+4 counted -> 6/9
    assert value(figures, "attendance_rate", "2026-Q3") == pytest.approx(6 / 9, abs=1e-12)
    # 3 weekly calls held against 13 * 46/92 expected to date
    assert value(figures, "cadence_adherence[weekly_call]", "2026-Q3") == pytest.approx(3 / 6.5, abs=1e-12)
    # tasks due 07-01..08-15: T1 (done), T2 (done 08-20, after as_of) -> 1/2; overdue: T7 only
    assert value(figures, "task_completion_rate", "2026-Q3") == 0.5
    assert value(figures, "overdue_open", "2026-Q3") == 1
    # G1: latest by 08-15 is 48 -> 0.2; expected 136/364
    assert value(figures, "goal_progress[G1]", "2026-Q3") == pytest.approx(0.2, abs=1e-12)
    assert value(figures, "expected_progress[G1]", "2026-Q3") == pytest.approx(136 / 364, abs=1e-12)
    # Q2 is closed: its figures do not change
    assert value(figures, "attendance_rate", "2026-Q2") == pytest.approx(8 / 11, abs=1e-12)


def test_fiscal_quarters_relabel_the_same_figures(tmp_path, hillside):
    """With a July fiscal year, Apr-Jun 2026 is FY2026-Q4 and Jul-Sep 2026 is FY2027-Q1."""
    fiscal = run_fixture(tmp_path, HILLSIDE, "FY2027-Q1", date(2026, 11, 24), quarters={"fiscal_year_start_month": 7})
    assert fiscal[2].quarter == "FY2027-Q1"
    relabel = {"FY2026-Q4": "2026-Q2", "FY2027-Q1": "2026-Q3"}
    assert set(fiscal[0]) == set(hillside[0])
    for pid, by_quarter in fiscal[0].items():
        assert {relabel[q] for q in by_quarter} == set(hillside[0][pid]), pid
        for q, figure in by_quarter.items():
            assert figure == hillside[0][pid][relabel[q]], (pid, q)


def test_a_coalition_without_goals_or_milestones_tabs_publishes_no_data(survey):
    assert survey[0]["goals_on_track"]["2026-Q3"] == (None, 0, False)
    assert not any(pid.startswith("goal_progress[") for pid in survey[0])
    # No milestones tab: nothing is known about milestones, so "no data", not 0 or "no quick win"
    # (a milestones tab with only its header would count a real 0).
    assert survey[0]["milestones"]["2026-Q3"] == (None, 0, False)
    assert survey[0]["quick_win_in_first_quarter"]["2026-Q3"][0] is None


def test_top2_box_follows_the_items_own_scale(tmp_path, survey):
    # voice_heard in 2026-Q3: 5 4 5 2 3 2. On 1-5 the top two points are 4 and 5 -> 3/6; answered on
    # a 0-10 scale ([survey_scales] voice_heard = [0, 10]) the top two are 9 and 10 -> 0/6.
    assert value(survey, "item_top2[voice_heard]", "2026-Q3") == 0.5
    wide = run_fixture(tmp_path, SURVEY, "2026-Q3", date(2026, 11, 24), survey_scales={"voice_heard": [0, 10]})
    assert value(wide, "item_top2[voice_heard]", "2026-Q3") == 0.0
    assert value(wide, "item_top2[satisfaction]", "2026-Q3") == value(survey, "item_top2[satisfaction]", "2026-Q3")
