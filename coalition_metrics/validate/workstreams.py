"""The [workstreams] mapping (workstream name -> goal id, for goal_focus_share) against the sheet:
every name must be a workstream some task has, and every goal id a goal of the goals tab. A
mismatch is a blocking problem naming the setting: a typo there would silently publish a lower
goal_focus_share, never an error."""

from __future__ import annotations

import difflib

from .. import parsing
from .results import TabResult


def workstream_problems(results: dict[str, TabResult], settings) -> list[str]:
    """One sentence per [workstreams] entry naming a workstream no task has or a goal not in the
    goals tab. Names match as enumerations do (parsing.enum_value: trimmed, case-folded, spaces, hyphens and
    underscores alike); goal ids
    as ids (trimmed, exact). A goal on a row of the goals tab that was set aside still names a goal
    (that row is reported in the quarantine), so it is not a problem here."""
    mapping = settings.workstreams
    if not mapping:
        return []
    streams = _column_values(results.get("tasks"), "workstream")
    goals = _column_values(results.get("goals"), "goal_id")
    by_key = {parsing.enum_value(s): s for s in streams}
    problems = []
    for name, goal in mapping.items():
        if parsing.enum_value(name) not in by_key:
            close = difflib.get_close_matches(parsing.enum_value(name), list(by_key), n=1, cutoff=0.6)
            hint = f" Did you mean \"{by_key[close[0]]}\"?" if close else ""
            have = (f"The tasks tab's workstreams are {', '.join(sorted(set(streams), key=str.casefold))}."
                    if streams else "No task in the tasks tab has a workstream.")
            problems.append(f"[workstreams] \"{name}\": no task in the tasks tab has the workstream {name!r}.{hint} "
                            f"{have} Correct the name in the config (case, spaces at the ends, and spaces, "
                            f"hyphens or underscores between words do not matter) or remove the line.")
        goal = goal.strip()
        if goal and goal not in goals:
            folded = {g.casefold(): g for g in goals}
            close = ([folded[goal.casefold()]] if goal.casefold() in folded
                     else difflib.get_close_matches(goal, goals, n=1))
            hint = f" Did you mean \"{close[0]}\"?" if close else ""
            have = f"Its goals are {', '.join(sorted(set(goals)))}." if goals else "The goals tab has no goals."
            problems.append(f"[workstreams] \"{name}\" = \"{goal}\": the goals tab has no goal {goal!r}.{hint} {have} "
                            f"Correct the goal id in the config, add the goal to the goals tab, or set it to \"\" "
                            f"if the workstream serves no goal.")
    return problems


def _column_values(result: TabResult | None, column: str) -> list[str]:
    """The non-blank values of a column over every checked row of a tab (set aside or not)."""
    if result is None or result.records is None or column not in result.records:
        return []
    return [v for v in result.records[column] if isinstance(v, str) and v.strip()]
