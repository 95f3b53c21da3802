"""ref.t_critical covers every df a survey figure can need: a wave with more responses than the
table's default range (df 1..1000) still gets its 95% t-interval, equal to scipy's."""

import math
from datetime import date

import duckdb
from scipy import stats

from coalition_metrics.config import load_settings
from coalition_metrics.load import T_CRITICAL_MIN_DF, load_reference_tables, load_t_critical
from coalition_metrics.quarters import Quarter
from coalition_metrics.transform import run_models


def test_t_critical_rows_are_scipy_quantiles():
    con = duckdb.connect()
    con.execute("create schema ref")
    load_t_critical(con, 0)
    assert con.execute("select count(*), min(df), max(df) from ref.t_critical").fetchall() == [
        (T_CRITICAL_MIN_DF, 1, T_CRITICAL_MIN_DF)]
    load_t_critical(con, 2500)
    got = dict(con.execute("select df, t975 from ref.t_critical").fetchall())
    assert sorted(got) == list(range(1, 2500))
    for df in (1, 2, 29, 1000, 1001, 2499):
        assert got[df] == float(stats.t.ppf(0.975, df))  # the vectorized quantile is scipy's, exactly


def test_a_wave_larger_than_1000_responses_gets_its_interval(example_run_copy):
    """1,200 more 2026-Q3 responses in the example's raw survey: n > 1001 for each item, and each
    interval is mean -/+ t(0.975, n - 1) * sd / sqrt(n) as scipy computes it, never null."""
    s = load_settings(None, environ={})
    con = duckdb.connect(str(example_run_copy.folder.parent.parent / "coalition.duckdb"))
    try:
        # each copy gets its own sheet row (a sheet row number is unique in a tab)
        con.execute("""insert into raw.survey
                       select coalition_id, 100000 + 100 * i + k, snapshot_id, is_blank,
                              '09/0' || (1 + i % 9) || '/2026 10:00:00',
                              respondent, satisfaction, trust, voice_heard, shared_vision, communication,
                              value_received
                       from (select *, row_number() over (order by sheet_row) as k from raw.survey
                             where not is_blank and respondent is not null and satisfaction <> ''
                             order by sheet_row limit 40) as seed, range(30) as r(i)""")
        # and as validation parsed them (staging reads parsed.survey and parsed.survey_answers)
        con.execute("""create temp table copies as
                       select seed.sheet_row as src, 100000 + 100 * i + k as sheet_row, i
                       from (select sheet_row, row_number() over (order by sheet_row) as k from raw.survey
                             where not is_blank and respondent is not null and satisfaction <> ''
                               and sheet_row < 100000
                             order by sheet_row limit 40) as seed, range(30) as r(i)""")
        con.execute("""insert into parsed.survey
                       select p.coalition_id, c.sheet_row,
                              make_timestamp(2026, 9, 1 + c.i % 9, 10, 0, 0), p.member_id
                       from copies as c join parsed.survey as p on p.sheet_row = c.src""")
        con.execute("""insert into parsed.survey_answers
                       select p.* replace (c.sheet_row as sheet_row)
                       from copies as c join parsed.survey_answers as p on p.sheet_row = c.src""")
        first = Quarter.parse(con.execute("select min(quarter) from ref.quarters").fetchall()[0][0])
        load_reference_tables(con, s, Quarter.parse("2026-Q3"), date(2026, 9, 30), first)
        run_models(con, s)
        rows = con.execute("""select item, n, mean, sd, ci_low, ci_high from marts.survey_items_by_wave
                              where wave = '2026-Q3' and n > 0""").fetchall()
        assert rows and all(n > T_CRITICAL_MIN_DF + 1 for _, n, *_ in rows)
        for item, n, mean, sd, low, high in rows:
            half = stats.t.ppf(0.975, n - 1) * sd / math.sqrt(n)
            assert low is not None and high is not None, item
            assert math.isclose(low, mean - half, rel_tol=1e-12) and math.isclose(high, mean + half, rel_tol=1e-12)
    finally:
        con.close()
