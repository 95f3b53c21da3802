"""docs/metrics.md, generated from the registry (transforms/metrics.yml) so a definition is
written once. `python -m coalition_metrics.docs` rewrites the file; a test checks it is current."""

from __future__ import annotations

import sys

from .config import DEFAULT_ITEMS, PROJECT_ROOT
from .registry import SECTIONS, load_registry

DOC_PATH = PROJECT_ROOT / "docs" / "metrics.md"

DIMENSION_TEXT = {
    "none": "none (one figure per quarter)",
    "kind": "meeting kind: weekly_call, monthly_call, quarterly_meeting, committee, event",
    "counted_kind": "counted meeting kind ([metrics] counted_kinds; default weekly_call, monthly_call, quarterly_meeting)",
    "member": "member id",
    "source": "tasks, facilitation",
    "item": f"survey item: a code of the instrument's items ([survey_items]; by default {', '.join(DEFAULT_ITEMS)})",
    "scale": "survey scale: a code of the instrument's composite scales ([survey_scales]; none by default)",
    "goal": "goal id",
    "milestone_kind": "milestone kind: quick_win, policy_win, media, funding, other",
}

UNIT_TEXT = {
    "share": "share (0 to 1, shown as a percentage)",
    "score": "score on the survey scale (1-5)",
    "difference": "difference of two scores",
    "count": "count",
    "flag": "flag (1 yes, 0 no)",
    "index": "index (0 to 1)",
    "p_value": "p-value",
}

PREAMBLE = """# Metrics reference

Generated from `transforms/metrics.yml` by `python -m coalition_metrics.docs`; do not edit by hand.
Each metric's formula lives in the SQL model named below (under `transforms/`). What the tool reads
and how it reads it is in [data-contract.md](data-contract.md).

## Conventions

- **Ids.** Every figure has a stable id, used in the report, `funder_metrics.csv`/`.json` and
  `coalition explain`. A metric with a dimension is written `metric[dimension]`, for example
  `meetings_held[weekly_call]`, `attendance_rate[monthly_call]`, `goal_progress[G1]` or
  `item_mean[trust]`. The plain id is the overall figure.
- **Quarters.** Quarters are calendar quarters by default. `[quarters] fiscal_year_start_month`
  shifts them: with 7, July to September 2026 is `FY2027-Q1`.
- **as_of.** Every figure is computed as of the quarter's `as_of`. For a closed quarter, as_of is
  its last day. A quarter-to-date run uses the run's date. Meetings, tasks, measurements and
  milestones dated after as_of are not counted yet.
- **Roster.** The roster of a quarter is the members with joined_on <= quarter end and (left_on
  empty or left_on >= quarter start).
  - A member is expected at a meeting when on the roster on the meeting date.
  - A member who was expected but has no attendance row counts as absent.
  - Excused is left out of both the numerator and the denominator.
- **No data.** A rate whose denominator is zero is null ("no data"), never 0. A metric that needs
  last quarter is null in the first quarter.
- **Small n.** A figure marked *small-n rule* rests on survey responses. When its n is below
  `[metrics] small_n` (5), it is published as suppressed: `suppressed: true`, with no value.
- **n.** n is the count the figure rests on: expected attendances, roster members, tasks due,
  answers, or the smaller of two groups.
- **Member-level figures.** Figures whose audience is the coordinator never appear in funder
  outputs.
- **Coordinator-only survey items and scales.** The figures of an item or scale the instrument
  declares `funder = false` (item_mean[CODE], scale_mean[CODE], ...), and a figure resting on such
  an item through a `[survey]` role (satisfaction_item, voice_item), stay in coordinator outputs
  too (docs/data-contract.md, "The survey instrument").
- **Survey items and scales.** Item and scale figures follow the configured instrument: one
  published id per item (`item_mean[CODE]`) and per composite scale (`scale_mean[CODE]`); reverse-
  scored items count as min + max - answer.
- **Settings in the definitions.** The thresholds and counts a definition quotes (25 points,
  0.40, n >= 5, the cadence) are the defaults of the `[metrics]` or `[cadence]` setting it names.
  A report's methods appendix and `coalition explain` quote the coalition's own settings, as its
  run computed the figures.
"""


def metrics_markdown() -> str:
    registry = load_registry()
    out = [PREAMBLE]
    out.append("## Contents\n")
    for sec in SECTIONS:
        ms = [m for m in registry if m.section == sec]
        if ms:
            out.append(f"- {sec.capitalize()}: " + ", ".join(f"[`{m.id}`](#{m.id})" for m in ms))
    out.append("")
    for sec in SECTIONS:
        ms = [m for m in registry if m.section == sec]
        if not ms:
            continue
        out.append(f"## {sec.capitalize()}\n")
        for m in ms:
            ids = [f"`{m.id}`"] if m.overall else []
            if m.dimension != "none":
                ids.append(f"`{m.id}[{m.dimension}]`")
            out.append(f"### {m.id}\n")
            out.append(f"**{m.name}.** {m.definition}\n")
            out.append(f"- Published as: {', '.join(ids)}")
            out.append(f"- Dimension: {DIMENSION_TEXT[m.dimension]}")
            out.append(f"- Unit: {UNIT_TEXT[m.unit]}")
            out.append(f"- Audience: {'funder and coordinator' if m.audience == 'funder' else 'coordinator only (member-level)'}")
            out.append(f"- Small-n rule: {'yes' if m.survey else 'no'}")
            out.append(f"- SQL model: [`transforms/{m.model}`](../transforms/{m.model})\n")
    return "\n".join(out).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    DOC_PATH.parent.mkdir(exist_ok=True)
    DOC_PATH.write_text(metrics_markdown(), encoding="utf-8")
    print(f"wrote {DOC_PATH.relative_to(PROJECT_ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
