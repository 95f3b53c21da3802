"""The audit pack's tables: one list of ``Table``s that audit.html and audit.xlsx both show (one
section / one sheet per table), built from the SQL in reports/audit_data/ and the tests in
stats.py. A figure over fewer than [metrics] small_n values is replaced here by the small-n label
("n<5"), so it never reaches either file as a number.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..registry import suppressed_label
from . import data, stats

# Column kinds: how a value is shown (HTML) and typed (xlsx). text | int | num (a mean, sd, ...) |
# share (0..1, shown as a percentage) | p (a p-value) | stat (a test statistic)
TEXT, INT, NUM, SHARE, P, STAT = "text", "int", "num", "share", "p", "stat"


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    kind: str = TEXT


@dataclass
class Table:
    name: str  # the sheet name (at most 31 characters) and the HTML anchor
    title: str
    about: str
    columns: list[Column]
    rows: list[dict[str, Any]] = field(default_factory=list)

    def column(self, key: str) -> list[Any]:
        return [r.get(key) for r in self.rows]


@dataclass
class AuditData:
    """What the pack shows: the tables, the rows the charts draw, and the range."""
    wave_from: str
    wave_to: str
    small_n: int
    tables: list[Table]
    measures: list[dict[str, Any]]  # measure rows (per measure and wave), unsuppressed, for charts
    distribution: list[dict[str, Any]]
    measure_names: dict[tuple[str, str], str]

    def table(self, name: str) -> Table:
        return next(t for t in self.tables if t.name == name)


def _suppress(row: dict, keys: tuple[str, ...], label: str) -> dict:
    if row.get("is_suppressed"):
        row = dict(row)
        for k in keys:
            row[k] = label
    return row


def build(con, settings, wave_from: str, wave_to: str) -> AuditData:
    """Every table of the pack for the waves wave_from .. wave_to (labels in ref.quarters)."""
    small_n = int(settings.small_n)
    label = suppressed_label(small_n)
    data.prepare(con, settings, wave_from, wave_to)
    q = lambda name, **p: data.rows(con, name, wave_from, wave_to, **p)  # noqa: E731

    names = {("item", i): f"{i}: {question}" for i, question in con.execute(
        "select item, question from ref.survey_items order by position").fetchall()}
    names.update({("scale", s): f"{s}: {name}" for s, name in con.execute(
        "select scale, name from ref.survey_scales order by position").fetchall()})
    names[("instrument", "")] = "whole instrument (every item)"

    waves = q("waves")
    measures = q("measures")
    for m in measures:
        m["name"] = names[(m["kind"], m["measure"])]
    distribution = q("distribution")
    breakdowns = q("breakdowns")
    nonresponse = q("item_nonresponse")
    straight = q("straight_lining")
    set_aside = q("set_aside", coalition_id=settings.coalition_id, **data.set_aside_rules())

    values: dict[tuple[str, str, str], list[float]] = {}
    for kind, measure, wave, value in con.execute(
            "select kind, measure, wave, value from audit_values order by kind, measure, seq, response_id").fetchall():
        values.setdefault((kind, measure, wave), []).append(value)

    tables = [
        Table("waves", "Survey waves", (
            "One row per wave (the quarter a response's timestamp falls in): counted responses (superseded and "
            "set-aside submissions left out), distinct responding members, the roster and the response rate "
            "(respondents / roster; responses / roster for an anonymous survey)."),
            [Column("wave", "Wave"), Column("count_responses", "Responses", INT),
             Column("count_respondents", "Respondents", INT), Column("count_roster", "Roster", INT),
             Column("response_rate", "Response rate", SHARE)], waves),
        Table("measures", "Items and scales by wave", (
            "One row per item or composite scale and wave. n = values (an item's answers; a scale's respondent "
            "scores); mean and sample standard deviation (n - 1); 95% t-interval mean ± t(0.975, n - 1)·sd/√n; "
            "top-2-box = share of values in the top two points of the scale; response rate = the wave's. An item's "
            "value is its score (reverse-scored items turned round). A scale's band is the band its mean falls in. "
            f"Figures over fewer than {small_n} values show {label}."),
            [Column("kind", "Kind"), Column("measure", "Item or scale"), Column("name", "Question or scale name"),
             Column("wave", "Wave"), Column("n", "n", INT), Column("response_rate", "Response rate", SHARE), Column("mean", "Mean", NUM),
             Column("sd", "SD", NUM), Column("ci_low", "95% CI low", NUM), Column("ci_high", "95% CI high", NUM),
             Column("top2_share", "Top-2-box", SHARE), Column("band", "Band")],
            [_suppress(r, ("mean", "sd", "ci_low", "ci_high", "top2_share", "band"), label) for r in measures]),
        Table("distribution", "Answer distribution", (
            "One row per item or scale, wave and scale point: how many values fall on the point and their share. "
            "A scale's score counts on the nearest point (halves up). "
            f"A wave with fewer than {small_n} values shows {label}."),
            [Column("kind", "Kind"), Column("measure", "Item or scale"), Column("wave", "Wave"),
             Column("point", "Scale point", INT), Column("n", "n", INT), Column("count", "Count", INT),
             Column("share", "Share", SHARE)],
            [_suppress(r, ("count", "share"), label) for r in distribution]),
        _changes_table(measures, values, small_n, label),
        _trend_table(measures, small_n, label),
        _alpha_table(con, q, wave_from, wave_to, small_n, label, names),
        Table("breakdowns", "By size tier and sector", (
            "One row per item or scale, wave, and group of members (size tier or sector, from the members tab): "
            f"n, mean, sd and top-2-box of the group's values; after the waves, the range pooled (wave "
            f"'{wave_from}..{wave_to}': a member counts once per wave answered). A group with fewer than {small_n} values shows "
            f"{label}, never a number. An anonymous survey has no breakdowns."),
            [Column("kind", "Kind"), Column("measure", "Item or scale"), Column("wave", "Wave"),
             Column("dimension", "By"), Column("group", "Group"), Column("n", "n", INT), Column("mean", "Mean", NUM),
             Column("sd", "SD", NUM), Column("top2_share", "Top-2-box", SHARE)],
            [_suppress(r, ("mean", "sd", "top2_share"), label) for r in breakdowns]),
        Table("duplicates", "Integrity: duplicate submissions", (
            "Submissions set aside because the same member answered again later in the same wave (validation keeps "
            "the latest; the earlier ones are in quarantine.rows, rule 'superseded'). Counted row: the sheet row of "
            "the member's submission that counts in that wave (none when that one was itself set aside)."),
            [Column("sheet_row", "Sheet row", INT), Column("respondent", "Respondent as typed"),
             Column("member_id", "Member"), Column("organization", "Organization"), Column("wave", "Wave"),
             Column("submitted_at", "Submitted"), Column("counted_row", "Counted row", INT),
             Column("counted_submitted_at", "Counted submitted"), Column("reason", "Resolution")],
            [r for r in set_aside if r["check_name"] == "duplicate"]),
        Table("outside_membership", "Integrity: outside membership", (
            "Submissions dated before the member joined or after it left (members tab joined_on / left_on); "
            "validation set them aside, so they are not counted."),
            [Column("sheet_row", "Sheet row", INT), Column("respondent", "Respondent as typed"),
             Column("member_id", "Member"), Column("organization", "Organization"), Column("wave", "Wave"),
             Column("submitted_at", "Submitted"), Column("reason", "Reason")],
            [r for r in set_aside if r["check_name"] == "outside_membership"]),
        Table("straight_lining", "Integrity: straight-lining", (
            "Counted responses that gave the same answer (as typed, before reverse scoring) to every item they "
            "answered, among responses that answered at least 3 items. They are counted; listed for review."),
            [Column("sheet_row", "Sheet row", INT), Column("wave", "Wave"), Column("member_id", "Member"),
             Column("organization", "Organization"), Column("items_answered", "Items answered", INT),
             Column("answer", "Answer to every item", INT)], straight),
        Table("unmatched", "Integrity: respondents matching no member", (
            "Submissions whose respondent matches no member id or organization of the members tab (or matches "
            "several); validation set them aside, so they are not counted."),
            [Column("sheet_row", "Sheet row", INT), Column("respondent", "Respondent as typed"),
             Column("wave", "Wave"), Column("submitted_at", "Submitted"), Column("reason", "Reason")],
            [r for r in set_aside if r["check_name"] == "unmatched"]),
        Table("item_nonresponse", "Integrity: item non-response", (
            "One row per item and wave: of the wave's counted responses, how many left the item blank."),
            [Column("item", "Item"), Column("wave", "Wave"), Column("count_responses", "Responses", INT),
             Column("count_answered", "Answered", INT), Column("count_missing", "Blank", INT),
             Column("nonresponse_rate", "Non-response rate", SHARE)], nonresponse),
    ]
    for t in tables:
        for r in t.rows:
            for k, v in list(r.items()):
                if hasattr(v, "isoformat"):
                    r[k] = v.isoformat(sep=" ") if hasattr(v, "hour") else v.isoformat()
    return AuditData(wave_from, wave_to, small_n, tables, measures, distribution, names)


def _changes_table(measures, values, small_n: int, label: str) -> Table:
    rows = []
    last: dict[tuple[str, str], dict] = {}
    for m in measures:
        key = (m["kind"], m["measure"])
        prev = last.get(key)
        if m["n"] > 0:
            last[key] = m
        if prev is None or m["n"] == 0:
            continue
        row = {"kind": m["kind"], "measure": m["measure"], "wave": m["wave"], "previous_wave": prev["wave"],
               "n": m["n"], "previous_n": prev["n"]}
        if m["is_suppressed"] or prev["is_suppressed"]:
            row.update({k: label for k in ("change", "welch_t", "welch_df", "welch_p", "mwu_u", "mwu_p")})
        else:
            c = stats.wave_change(values[(*key, m["wave"])], values[(*key, prev["wave"])])
            row.update({"change": m["mean"] - prev["mean"], "welch_t": c.welch_t, "welch_df": c.welch_df,
                        "welch_p": c.welch_p, "mwu_u": c.mwu_u, "mwu_p": c.mwu_p})
        rows.append(row)
    return Table("changes", "Change from the previous wave", (
        "One row per item or scale and wave that has an earlier wave with values in range: the change in the "
        "mean, Welch's t-test (unequal variances; t, Welch-Satterthwaite df, two-sided p) and the Mann-Whitney U "
        "test (U of this wave, two-sided p; scipy.stats, exact for small samples without ties). "
        f"Not tested (shown {label}) unless both waves have at least {small_n} values."),
        [Column("kind", "Kind"), Column("measure", "Item or scale"), Column("wave", "Wave"),
         Column("previous_wave", "Previous wave"), Column("n", "n", INT), Column("previous_n", "Previous n", INT),
         Column("change", "Change in mean", NUM), Column("welch_t", "Welch t", STAT),
         Column("welch_df", "Welch df", STAT), Column("welch_p", "Welch p", P),
         Column("mwu_u", "Mann-Whitney U", STAT), Column("mwu_p", "Mann-Whitney p", P)], rows)


def trend_series(measures, kind: str, measure: str) -> list[dict]:
    """The waves the trend test runs on: the measure's per-wave means, waves with at least small_n
    values (a suppressed mean is not used), in wave order."""
    return [m for m in measures if m["kind"] == kind and m["measure"] == measure
            and m["n"] > 0 and not m["is_suppressed"]]


def _trend_table(measures, small_n: int, label: str) -> Table:
    rows = []
    for kind, measure in dict.fromkeys((m["kind"], m["measure"]) for m in measures):
        series = trend_series(measures, kind, measure)
        t = stats.trend([m["mean"] for m in series])
        rows.append({"kind": kind, "measure": measure, "waves": t.points,
                     "first_wave": series[0]["wave"] if series else None,
                     "last_wave": series[-1]["wave"] if series else None,
                     "trend": t.trend or f"fewer than {stats.MIN_TREND_POINTS} waves", "s": t.s, "z": t.z,
                     "p": t.p, "tau": t.tau, "sen_slope": t.sen_slope, "intercept": t.intercept})
    return Table("trend", "Trend over the waves", (
        "One row per item or scale: the Mann-Kendall trend test (pymannkendall.original_test, two-sided, 5% level) "
        "and Sen's slope (pymannkendall.sens_slope, change in the mean per wave) over the per-wave means, in wave "
        f"order, of the waves with at least {small_n} values (a wave shown {label} is left out of the series). "
        f"Not run on fewer than {stats.MIN_TREND_POINTS} waves."),
        [Column("kind", "Kind"), Column("measure", "Item or scale"), Column("waves", "Waves", INT),
         Column("first_wave", "First"), Column("last_wave", "Last"), Column("trend", "Trend"),
         Column("s", "S", INT), Column("z", "z", STAT), Column("p", "p", P), Column("tau", "Kendall tau", STAT),
         Column("sen_slope", "Sen's slope per wave", NUM), Column("intercept", "Intercept", NUM)], rows)


def _alpha_table(con, q, wave_from: str, wave_to: str, small_n: int, label: str, names) -> Table:
    grouped: dict[tuple[str, str], dict[str, dict[int, dict[str, float]]]] = {}
    for r in q("alpha_values"):
        waves = grouped.setdefault((r["kind"], r["scale"]), {})
        waves.setdefault(r["wave"], {}).setdefault(r["response_id"], {})[r["item"]] = r["value"]
    scales = [("scale", s, [i for (i,) in con.execute(
        "select item from ref.survey_scale_items where scale = ? order by position, item", [s]).fetchall()])
        for (s,) in con.execute("select scale from ref.survey_scales order by position").fetchall()]
    scales.append(("instrument", "", [i for (i,) in con.execute(
        "select item from ref.survey_items order by position").fetchall()]))
    wave_list = [w for (w,) in con.execute(
        """select quarter from ref.quarters
           where seq between (select seq from ref.quarters where quarter = ?)
                         and (select seq from ref.quarters where quarter = ?) order by seq""",
        [wave_from, wave_to]).fetchall()]
    rows = []
    for kind, scale, items in scales:
        for wave in wave_list:
            responses = grouped.get((kind, scale), {}).get(wave, {})
            matrix = [[answers[i] for i in items] for _, answers in sorted(responses.items())]
            row = {"kind": kind, "scale": scale or "(all items)", "name": names[(kind, scale)], "wave": wave,
                   "items": len(items), "n": len(matrix)}
            if len(items) < 2:
                row["alpha"] = "one item"
            elif len(matrix) < small_n:
                row["alpha"] = label
            else:
                row["alpha"] = stats.cronbach_alpha(matrix)
            rows.append(row)
    return Table("alpha", "Cronbach's alpha", (
        "One row per composite scale (and the whole instrument) and wave: Cronbach's alpha = k/(k-1)·(1 - sum of "
        "the item variances / variance of the respondents' totals), sample variances, over the responses that "
        "answered every item of the scale (n). Item scores after reverse scoring. "
        f"Shown {label} with fewer than {small_n} complete responses."),
        [Column("kind", "Kind"), Column("scale", "Scale"), Column("name", "Name"), Column("wave", "Wave"),
         Column("items", "Items (k)", INT), Column("n", "Complete responses", INT), Column("alpha", "Alpha", NUM)],
        rows)

