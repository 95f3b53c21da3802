"""Generate the Wilder-style example's survey tab: deterministic (seeded), realistic, several waves.

    python examples/generate_wilder.py       # writes examples/wilder/csv/ (survey.csv + the other tabs)

The instrument is examples/wilder/coalition.toml's (13 items, 4 factors of 3 items, 3 of them
reverse-scored, one item for the coordinator only); this script reads its items from there, so the
question texts live in one place. The other tabs are the Riverside example's, copied unchanged, so
the members, their size tiers and their membership dates are the ones the survey answers follow.

The story the answers tell, member by member, wave by wave (a wave every quarter from 2024-Q4):
trust is a strength (around 4.2) until the small members' fading in 2026 pulls it down; the shared
stake is borderline, with small members feeling they have less say (equal_say) than large ones;
open communication starts borderline and slides towards concern; goals start as a concern and
climb to borderline once the coalition narrows its plans. About 3% of answers are left blank, some respondents skip one
communication question (the factor counts a response with 2 of its 3 items), and about a fifth
of the answers are typed as labels ("Agree", "Neutral, no opinion") as a labelled Forms grid
writes them. Reverse-scored questions are answered on their raw scale (a member who finds the
goals realistic disagrees that the plans are over-ambitious).
"""

from __future__ import annotations

import csv
import random
import shutil
import tomllib
from datetime import date, datetime, timedelta
from pathlib import Path

from generate_example import END, MEMBERS, months, on_roster, quarter_index, us

HERE = Path(__file__).resolve().parent
RIVERSIDE = HERE / "riverside" / "csv"
WILDER = HERE / "wilder"
SEED = 20250301

# The level (1-5, after reverse scoring) each factor sits at for a member of a size tier, by wave
# index (0 = 2024-Q4): (base, change per wave).
FACTOR_LEVEL = {
    "trust_factor": {"large": (4.3, 0.0), "medium": (4.2, 0.0), "small": (4.0, 0.0)},
    "stake_factor": {"large": (3.9, 0.0), "medium": (3.6, 0.0), "small": (3.2, -0.03)},
    "communication_factor": {"large": (3.8, -0.05), "medium": (3.6, -0.06), "small": (3.4, -0.12)},
    "goals_factor": {"large": (2.7, 0.12), "medium": (2.6, 0.12), "small": (2.5, 0.1)},
}
EQUAL_SAY_SHIFT = {"large": 0.1, "medium": 0.0, "small": -0.2}  # voice_gap: large members feel more heard


def instrument():
    cfg = tomllib.loads((WILDER / "coalition.toml").read_text(encoding="utf-8"))
    items = cfg["survey_items"]
    factor_of = {item: code for code, spec in cfg["survey_scales"].items() for item in spec["items"]}
    return items, factor_of


def build(rng: random.Random) -> list[list[str]]:
    items, factor_of = instrument()
    rows = []
    for y, m in months():
        if m not in (3, 6, 9, 12) or date(y, m, 28) > END:
            continue
        wave = quarter_index(date(y, m, 1))
        for member in MEMBERS:
            if not on_roster(member, date(y, m, 15)) or rng.random() > 0.88:
                continue
            tier = member[3]
            ts = datetime(y, m, 6, 8, 30) + timedelta(minutes=rng.randrange(0, 20 * 24 * 60), seconds=rng.randrange(60))
            fade = -0.4 if tier == "small" and wave >= 6 else 0.0  # the small members fading in 2026
            skip_one = rng.random() < 0.12  # skips one communication question
            answers = []
            for code, spec in items.items():
                factor = factor_of.get(code)
                if factor:
                    base, slope = FACTOR_LEVEL[factor][tier]
                    level = base + slope * wave + fade
                else:
                    level = 3.9  # staff_support
                if code == "equal_say":
                    level += EQUAL_SAY_SHIFT[tier]
                score = min(5, max(1, round(rng.gauss(level, 0.7))))
                raw = 6 - score if spec.get("reverse") else score  # the answer as the member gives it
                labels = spec.get("labels") or []
                if (skip_one and code == "kept_informed") or rng.random() < 0.03:
                    answers.append("")  # item non-response
                elif labels and rng.random() < 0.2:
                    answers.append(labels[raw - 1])
                else:
                    answers.append(str(raw))
            org = member[1] if rng.random() > 0.1 else member[1].upper()
            rows.append([ts, org, *answers])
    rows.sort(key=lambda r: r[0])
    return [[us(r[0]), *r[1:]] for r in rows]


def main(out: Path = WILDER / "csv") -> None:
    items, _ = instrument()
    out.mkdir(parents=True, exist_ok=True)
    for tab in sorted(RIVERSIDE.glob("*.csv")):
        if tab.name != "survey.csv":
            shutil.copyfile(tab, out / tab.name)
    rows = build(random.Random(SEED))
    with (out / "survey.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["Timestamp", "Organization", *[spec["question"] for spec in items.values()]])
        w.writerows(rows)
    print(f"wrote {out} ({len(rows)} survey responses)")


if __name__ == "__main__":
    import sys

    main(Path(sys.argv[1]) if len(sys.argv) > 1 else WILDER / "csv")
