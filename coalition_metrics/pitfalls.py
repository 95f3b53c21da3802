"""The report's pitfall watch: the five pitfalls of coalition work the product is built around
(unclear roles, a single champion, mission creep, neglected communication, ignored power
dynamics), plus member disengagement and the early quick win, each with its measured signal from
the metric registry and a verdict: ok, watch or act.

The lines between verdicts are settings ([pitfall_watch], and [metrics] champion_share), read here
only; each rule is also written out in words for the report. A signal with no figure gets the
verdict "no data" with the reason, a suppressed survey figure "n<5" (never a number).
"""

from __future__ import annotations

from typing import Any, Callable

from .registry import load_registry, suppressed_label

OK, WATCH, ACT, NO_DATA, SMALL_N = "ok", "watch", "act", "no data", "n<5"


def pitfall_watch(series: dict[str, list[dict]], quarter: str, settings) -> list[dict[str, Any]]:
    """One row per pitfall: pitfall, metric ids, signal (in words), value (formatted), verdict, rule.

    ``series`` maps a published id ('leadership_concentration[tasks]') to its rows over the
    quarters (render.published_rows); ``quarter`` is the report's."""
    pw = dict(settings.data["pitfall_watch"])
    pw["champion_share"] = settings.data["metrics"]["champion_share"]
    pw["small_n"] = settings.small_n
    voice = settings.instrument.voice_item  # [survey] voice_item; none: voice_gap is "no data"
    pw["voice_scale"] = "{}-{}".format(*settings.item_scale(voice)) if voice else "answer"
    known = {m.id for m in load_registry()}

    def row_of(pid: str):
        return next((r for r in series.get(pid, []) if r["quarter"] == quarter), None)

    rows = []
    for pitfall, metric_ids, judge in _CHECKS:
        missing = [m for m in metric_ids if m not in known]
        if missing:
            rows.append({"pitfall": pitfall, "metrics": metric_ids, "rule": judge.rule(pw), "value": "no data",
                         "verdict": NO_DATA, "signal": f"{missing[0]} is not in the metric registry of this version"})
            continue
        found = judge(row_of, pw)
        if found["verdict"] == SMALL_N:  # the small-n rule's label follows [metrics] small_n
            found = {**found, "value": suppressed_label(pw["small_n"]), "verdict": suppressed_label(pw["small_n"])}
        rows.append({"pitfall": pitfall, "metrics": metric_ids, "rule": judge.rule(pw), **found})
    return rows


class _Check:
    """A verdict function with its rule in words (both from the same thresholds)."""

    def __init__(self, judge: Callable, rule: Callable[[dict], str]):
        self._judge, self.rule = judge, rule

    def __call__(self, row_of, pw) -> dict[str, Any]:
        return self._judge(row_of, pw)


def _pct(x: float) -> str:
    return f"{x:.0%}"


def _unavailable(row) -> dict[str, Any] | None:
    """The verdict when a signal has no figure: suppressed (n<5) or no data."""
    if row is None:
        return {"value": "no data", "verdict": NO_DATA, "signal": "not computed for this quarter"}
    if row["suppressed"]:
        return {"value": "n<5", "verdict": SMALL_N, "signal": "too few survey responses to show"}
    if row["value"] is None:
        return {"value": "no data", "verdict": NO_DATA, "signal": "nothing to compute it from this quarter"}
    return None


def _raci(row_of, pw):
    r = row_of("raci_gaps")
    if (gone := _unavailable(r)) is not None:
        return gone
    gaps = int(r["value"])
    verdict = OK if gaps == 0 else ACT if gaps >= pw["raci_gaps_act"] else WATCH
    return {"value": f"{gaps}", "verdict": verdict,
            "signal": f"{gaps} of {r['n']} tasks due this quarter with no accountable person or an owner off the roster"}


def _champion(row_of, pw):
    parts = [(src, row_of(f"leadership_concentration[{src}]")) for src in ("tasks", "facilitation")]
    parts = [(src, r) for src, r in parts if r is not None and r["value"] is not None and not r["suppressed"]]
    if not parts:
        return _unavailable(row_of("leadership_concentration")) or _unavailable(None)
    src, top = max(parts, key=lambda p: p[1]["value"])
    share = float(top["value"])
    verdict = ACT if share > pw["champion_share"] else WATCH if share > pw["champion_watch"] else OK
    what = {"tasks": "of the quarter's tasks owned", "facilitation": "of the quarter's meetings facilitated"}[src]
    return {"value": _pct(share), "verdict": verdict, "signal": f"one member holds {_pct(share)} {what}"}


def _goal_focus(row_of, pw):
    r = row_of("goal_focus_share")
    if r is not None and r["value"] is None and r["n"]:
        return {"value": "no data", "verdict": NO_DATA,
                "signal": "not known: no task names a goal (goal_id) and [workstreams] ties no workstream to one"}
    if r is not None and r["value"] is None:
        return {"value": "no data", "verdict": NO_DATA, "signal": "no tasks due this quarter"}
    if (gone := _unavailable(r)) is not None:
        return gone
    share = float(r["value"])
    verdict = _at_least(share, pw["goal_focus_watch"], pw["goal_focus_act"])
    return {"value": _pct(share), "verdict": verdict,
            "signal": f"{round(share * r['n'])} of {r['n']} tasks due this quarter tied to a coalition goal"}


def _at_least(share: float, ok_from: float, watch_from: float) -> str:
    """The verdict of a share where more is better: ok from ok_from, watch from watch_from, else act."""
    return OK if share >= ok_from else WATCH if share >= watch_from else ACT


def _cadence(row_of, pw):
    r = row_of("cadence_adherence")
    if (gone := _unavailable(r)) is not None:
        return gone
    share = float(r["value"])
    verdict = _at_least(share, pw["cadence_watch"], pw["cadence_act"])
    return {"value": _pct(share), "verdict": verdict,
            "signal": f"meetings held against the expected cadence: {_pct(share)} (mean over meeting kinds)"}


def _voice(row_of, pw):
    r = row_of("voice_gap")
    if (gone := _unavailable(r)) is not None:
        return gone
    gap = float(r["value"])
    size = abs(gap)
    verdict = ACT if size >= pw["voice_gap_act"] else WATCH if size >= pw["voice_gap_watch"] else OK
    side = "large" if gap > 0 else "small"
    signal = ("large and small members feel equally heard" if gap == 0 else
              f"{side} members feel more heard, by {size:.2f} points on the {pw['voice_scale']} scale (n = {r['n']}, a rolling year)")
    return {"value": f"{gap:+.2f}", "verdict": verdict, "signal": signal}


def _alerts(row_of, pw):
    r = row_of("disengagement_alerts")
    if (gone := _unavailable(r)) is not None:
        return gone
    count, roster = int(r["value"]), r["n"]
    verdict = OK if count == 0 else ACT if roster and count / roster >= pw["alerts_act_share"] else WATCH
    return {"value": f"{count}", "verdict": verdict,
            "signal": f"{count} of {roster} members on the roster with a disengagement alert (listed below)"}


def _quick_win(row_of, pw):
    r = row_of("quick_win_in_first_quarter")
    if (gone := _unavailable(r)) is not None:
        return gone
    if r["value"]:
        return {"value": "yes", "verdict": OK, "signal": "a quick win within 3 months of the first member joining"}
    now = row_of("milestones[quick_win]")
    if now is not None and now["value"]:
        return {"value": "no", "verdict": WATCH,
                "signal": f"no quick win in the first 3 months; {int(now['value'])} this quarter"}
    return {"value": "no", "verdict": ACT, "signal": "no quick win in the first 3 months, none this quarter"}


_CHECKS: list[tuple[str, list[str], _Check]] = [
    ("Unclear roles", ["raci_gaps"], _Check(
        _raci, lambda pw: f"ok at 0 tasks with a RACI gap; watch from 1; act from {pw['raci_gaps_act']}")),
    ("Over-reliance on a single champion", ["leadership_concentration", "single_champion_risk"], _Check(
        _champion, lambda pw: f"largest member share of tasks or facilitation: ok up to {_pct(pw['champion_watch'])}; "
                              f"watch above; act above {_pct(pw['champion_share'])} (single-champion risk)")),
    ("Mission creep", ["goal_focus_share"], _Check(
        _goal_focus, lambda pw: f"ok from {_pct(pw['goal_focus_watch'])} of tasks tied to a goal; "
                                f"watch below; act below {_pct(pw['goal_focus_act'])}")),
    ("Neglected communication", ["cadence_adherence"], _Check(
        _cadence, lambda pw: f"ok from {_pct(pw['cadence_watch'])} of the expected meetings; watch below; "
                             f"act below {_pct(pw['cadence_act'])}")),
    ("Ignored power dynamics", ["voice_gap"], _Check(
        _voice, lambda pw: f"ok within {pw['voice_gap_watch']:g} points either way; watch from "
                           f"{pw['voice_gap_watch']:g}; act from {pw['voice_gap_act']:g}; {suppressed_label(pw['small_n'])} when either "
                           f"side has fewer than {pw['small_n']} answers")),
    ("Member disengagement", ["disengagement_alerts"], _Check(
        _alerts, lambda pw: f"ok with no alerts; watch from 1; act when alerts reach "
                            f"{_pct(pw['alerts_act_share'])} of the roster")),
    ("No early quick win", ["quick_win_in_first_quarter", "milestones"], _Check(
        _quick_win, lambda pw: "ok with a quick win in the first 3 months; watch without one but with a quick "
                               "win this quarter; act with neither")),
]
