"""Issue 12, any survey instrument: a custom item ("equity", reverse-scored, with its own labels) and
composite scales added to the default six items flow through validation, SQL, the registry, the
funder files and the template; every figure is checked against a hand computation written here."""

from datetime import date

import pytest

from coalition_metrics.coalition_db import coalition_view
from coalition_metrics.config import DEFAULT_ITEMS, load_settings
from coalition_metrics.pipeline import run_quarterly

EQUITY_Q = "How often do small members have an equal say in decisions?"
EQUITY = {"question": EQUITY_Q, "labels": ["Never", "Rarely", "Sometimes", "Often", "Always"], "reverse": True,
          "funder": False}
BANDS = [{"label": "strength", "min": 4.0}, {"label": "borderline", "min": 3.0}, {"label": "concern", "min": 1.0}]
SCALES = {
    # coordinator-only, a score counts with 2 of its 3 items
    "team": {"name": "Team work", "items": ["trust", "communication", "equity"], "min_items": 2, "bands": BANDS,
             "funder": False},
    # funder-visible, every item needed (the default min_items)
    "core": {"name": "Core", "items": ["satisfaction", "trust"], "bands": BANDS},
}

MEMBERS = """member_id,organization,sector,size_tier,joined_on,left_on,role
S1,Large One,health,large,2025-10-01,,convener
S2,Large Two,education,large,2025-10-01,,member
S3,Large Three,health,large,2025-10-01,,member
S4,Small One,nonprofit,small,2025-10-01,,member
S5,Small Two,nonprofit,small,2025-10-01,,member
S6,Small Three,nonprofit,small,2025-10-01,,member
S7,Medium One,business,medium,2025-10-01,,member
S8,Medium Two,business,medium,2025-10-01,,member
"""
# organization: satisfaction, trust, voice_heard, shared_vision, communication, value_received, equity
ANSWERS = [
    ("9/01/2026 10:00:00", "Large One", "5", "4", "5", "3", "4", "3", "Always"),     # equity 5 -> scored 1
    ("9/02/2026 10:00:00", "Large Two", "4", "5", "4", "3", "", "3", "2"),           # 2 -> 4
    ("9/03/2026 10:00:00", "Large Three", "4", "3", "5", "3", "3", "3", "sometimes"), # 3 -> 3
    ("9/04/2026 10:00:00", "Small One", "3", "2", "2", "3", "2", "3", ""),           # blank
    ("9/05/2026 10:00:00", "Small Two", "4", "4", "3", "3", "4", "3", "Agree"),      # 4 (the 1-5 label) -> 2
    ("9/06/2026 10:00:00", "Small Three", "2", "3", "2", "3", "", "3", ""),          # team: 1 item only
    ("9/07/2026 10:00:00", "Medium One", "5", "5", "4", "3", "5", "3", "7"),         # off the 1-5 scale
    ("9/08/2026 10:00:00", "Medium Two", "3", "4", "3", "3", "4", "3", "Rarely"),    # 2 -> 4
]


def _survey_csv() -> str:
    questions = [*DEFAULT_ITEMS.values(), EQUITY_Q]
    head = "Timestamp,Organization," + ",".join(f'"{q}"' if "," in q else q for q in questions)
    return head + "\n" + "\n".join(",".join(row) for row in ANSWERS) + "\n"


@pytest.fixture(scope="module")
def equity_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("equity")
    folder = tmp / "sheet"
    folder.mkdir()
    (folder / "members.csv").write_text(MEMBERS)
    (folder / "meetings.csv").write_text("meeting_id,date,kind,committee,facilitator_id\nK1,2026-07-07,weekly_call,,S1\n")
    (folder / "attendance.csv").write_text("meeting_id,member_id,status\nK1,S1,present\n")
    (folder / "survey.csv").write_text(_survey_csv())
    s = load_settings(None, environ={}).with_overrides(
        source={"location": str(folder)}, output={"folder": str(tmp / "out")},
        survey_items={"equity": EQUITY}, survey_scales=SCALES)
    result = run_quarterly(s, quarter="2026-Q3", today=date(2026, 11, 24))
    view = coalition_view(tmp / "out" / "coalition.duckdb", s.coalition_id)  # the coalition's tables, as readers see them
    yield s, result, view.con
    view.close()


def test_an_answer_off_the_custom_items_scale_is_quarantined_naming_its_column(equity_run):
    _, _, con = equity_run
    rows = con.execute("""select sheet_row, "column", value, reason from quarantine.rows where tab = 'survey'""").fetchall()
    assert rows == [(8, "equity", "7", "answer '7' is outside the item's scale")]


def test_stg_survey_answers_keeps_the_answer_and_reverse_scores_it(equity_run):
    _, _, con = equity_run
    got = con.execute("""select member_id, answer, score from staging.stg_survey_answers
                         where item = 'equity' order by member_id""").fetchall()
    # labels: Always = 5, sometimes = 3, Rarely = 2 (the item's own), Agree = 4 (the 1-5 label)
    assert got == [("S1", 5.0, 1.0), ("S2", 2.0, 4.0), ("S3", 3.0, 3.0), ("S5", 4.0, 2.0), ("S8", 2.0, 4.0)]
    cols = [c[0] for c in con.execute("select * from staging.stg_survey_answers limit 0").description]
    assert cols == ["response_id", "sheet_row", "wave", "member_id", "item", "answer", "score"]


def test_item_mean_of_the_custom_item_is_the_hand_mean_of_its_scores(equity_run):
    _, _, con = equity_run
    value, n, suppressed = con.execute("""select value, n, suppressed from marts.published_metrics
                                          where published_id = 'item_mean[equity]' and quarter = '2026-Q3'""").fetchone()
    assert (n, suppressed) == (5, False)
    assert value == pytest.approx((1 + 4 + 3 + 2 + 4) / 5, abs=1e-12)
    # satisfaction_mean keeps its definition: the satisfaction item's mean (S7's row set aside)
    sat = con.execute("""select value, n from marts.published_metrics
                         where published_id = 'satisfaction_mean' and quarter = '2026-Q3'""").fetchone()
    assert sat[1] == 7 and sat[0] == pytest.approx((5 + 4 + 4 + 3 + 4 + 2 + 3) / 7, abs=1e-12)


def test_scale_scores_follow_min_items_and_reverse_scoring(equity_run):
    _, _, con = equity_run
    scores = dict(con.execute("""select member_id, score from marts.survey_scale_scores
                                 where scale = 'team' order by member_id""").fetchall())
    # trust, communication, equity (scored); Small Three answered only trust: below min_items = 2
    hand = {"S1": (4 + 4 + 1) / 3, "S2": (5 + 4) / 2, "S3": (3 + 3 + 3) / 3, "S4": (2 + 2) / 2,
            "S5": (4 + 4 + 2) / 3, "S8": (4 + 4 + 4) / 3}
    assert scores.keys() == hand.keys()
    for member, value in hand.items():
        assert scores[member] == pytest.approx(value, abs=1e-12)
    row = con.execute("""select n, mean, band, is_suppressed from marts.survey_scales_by_wave
                         where scale = 'team' and wave = '2026-Q3'""").fetchone()
    mean = sum(hand.values()) / 6
    assert row[0] == 6 and row[1] == pytest.approx(mean, abs=1e-12) and row[2] == "borderline" and row[3] is False
    published = con.execute("""select value from marts.published_metrics
                               where published_id = 'scale_mean[team]' and quarter = '2026-Q3'""").fetchone()
    assert published[0] == pytest.approx(mean, abs=1e-12)
    core = con.execute("""select n, mean from marts.survey_scales_by_wave where scale = 'core' and wave = '2026-Q3'""").fetchone()
    assert core[0] == 7 and core[1] == pytest.approx((4.5 + 4.5 + 3.5 + 2.5 + 4 + 2.5 + 3.5) / 7, abs=1e-12)


def test_funder_false_items_and_scales_never_reach_the_funder_files(equity_run):
    _, result, con = equity_run
    csv_text = (result.folder / "funder_metrics.csv").read_text()
    json_text = (result.folder / "funder_metrics.json").read_text()
    funder_html = (result.folder / "funder.html").read_text()
    for text in (csv_text, json_text, funder_html):
        assert "equity" not in text and EQUITY_Q not in text
        assert "[team]" not in text and "Team work" not in text
    assert "scale_mean[core],Scale mean: Core,2026-Q3," in csv_text  # a funder-visible scale is there
    assert "item_mean[trust]" in csv_text
    # the coordinator's report has them
    report = (result.folder / "report.html").read_text()
    assert EQUITY_Q in report and "Team work" in report and "borderline" in report


def test_the_template_drop_downs_follow_each_items_scale_and_labels(equity_run):
    from coalition_metrics.template import template_spec

    s = equity_run[0].with_overrides(survey_scales={"value_received": [1, 7]})
    survey = next(t for t in template_spec(s) if t.name == "survey")
    by_header = {c.header: c.choices for c in survey.columns}
    assert by_header[EQUITY_Q] == ["1 - Never", "2 - Rarely", "3 - Sometimes", "4 - Often", "5 - Always"]
    assert by_header[DEFAULT_ITEMS["value_received"]] == ["1", "2", "3", "4", "5", "6", "7"]
    assert by_header[DEFAULT_ITEMS["satisfaction"]] == ["1", "2", "3", "4", "5"]
    # a label the drop-down list cannot hold (a comma) falls back to the numbers
    comma = dict(EQUITY, labels=["Never", "Rarely", "Now and then, a bit", "Often", "Always"])
    s2 = equity_run[0].with_overrides(survey_items={"equity": comma})
    survey2 = next(t for t in template_spec(s2) if t.name == "survey")
    assert {c.header: c.choices for c in survey2.columns}[EQUITY_Q] == ["1", "2", "3", "4", "5"]
