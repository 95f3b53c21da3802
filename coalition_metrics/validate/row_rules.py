"""Rules that read several cells of one row, derived before the suites run (a suite checks one
derived column per rule): a goal's target must differ from its baseline in the goal's direction,
or its progress cannot be measured and it would silently drop out of goals_on_track."""

from __future__ import annotations


def mark_goal_targets(frame) -> None:
    """``row__goal_target``: why the goal's target cannot measure progress, else None."""
    out = []
    for direction, baseline, target in zip(frame["direction__value"], frame["baseline__value"], frame["target__value"]):
        reason = None
        if baseline is not None and target is not None and baseline == baseline and target == target:
            if target == baseline:
                reason = "equals the baseline, so progress toward it cannot be measured"
            elif direction == "increase" and target < baseline:
                reason = f"is below the baseline ({_number(baseline)}) but the direction is increase"
            elif direction == "decrease" and target > baseline:
                reason = f"is above the baseline ({_number(baseline)}) but the direction is decrease"
        out.append(reason)
    frame["row__goal_target"] = out


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))
