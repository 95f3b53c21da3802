"""What a finished (or failed) run reports about itself: the markdown summary, the funder table and
the link that the flows publish as Prefect artifacts. Plain functions, tested without Prefect."""

from __future__ import annotations

import re
from typing import Any

from .plan import RunPlan, RunResult
from .coalition_db import coalition_view
from .runlock import open_db, run_lock
from .registry import load_registry, suppressed_label


_MD_SPECIAL = re.compile(r"""([!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~])""")
_LINE_BREAKS = re.compile(r"[\r\n\t\v\f\u0085\u2028\u2029]+")


def md_text(value: Any) -> str:
    """Text from a sheet (or config) made inert in markdown: one line, every ASCII punctuation mark
    backslash-escaped (CommonMark allows it for all of them), so an organization name cannot open
    a link, an image, raw HTML, emphasis or a code span, break a table cell with '|', or be turned
    into a link by autolinking ('http\\:\\/\\/...', 'www\\.'). It reads the same once rendered."""
    text = _LINE_BREAKS.sub(" ", "" if value is None else str(value))
    text = "".join(ch for ch in text if ch >= " " or ch == " ").strip()
    return _MD_SPECIAL.sub(r"\\\1", text)


def run_summary(plan: RunPlan, result: RunResult) -> dict[str, Any]:
    """Headline KPIs of the run's quarter, the disengagement alerts and the quarantined count."""
    by_id = {r["metric_id"]: r for r in result.manifest["metrics"]}
    kpis = []
    for m in load_registry():
        if m.headline:
            r = by_id.get(m.id)
            shown = suppressed_label(plan.settings.small_n) if r and r["suppressed"] else m.format(r["value"] if r else None)
            kpis.append({"id": m.id, "name": m.name, "value": shown, "n": r["n"] if r else None})
    with run_lock(plan), open_db(plan) as db, coalition_view(db, plan.settings.coalition_id) as con:
        alerts = con.execute(
            """select a.member_id, m.organization, a.detail
               from marts.disengagement_alerts as a join staging.stg_members as m using (member_id)
               where a.quarter = ? order by a.member_id, a.reason""", [plan.quarter.label]).fetchall()
    return {
        "kpis": kpis,
        "alerts": [{"member_id": a, "organization": o, "detail": d} for a, o, d in alerts],
        "quarantined": sum(result.manifest["quarantined_counts"].values()),
    }


def summary_markdown(plan: RunPlan, result: RunResult, summary: dict[str, Any]) -> str:
    s = plan.settings
    title = "Quarterly report" if plan.flow == "quarterly-report" else "Funder metrics refresh"
    lines = [
        f"# {md_text(s.coalition_name)}: {title} {result.quarter}",
        "",
        f"Data as of **{plan.as_of.isoformat()}** · run `{result.run_id}` · snapshot "
        f"`{result.manifest['snapshot']['id'][:12]}`",
        "",
        "| Metric | Value | n |",
        "|---|---:|---:|",
    ]
    for k in summary["kpis"]:
        lines.append(f"| {k['name']} (`{k['id']}`) | {k['value']} | {'' if k['n'] is None else k['n']} |")
    by_member: dict[tuple[str, str], list[str]] = {}
    for a in summary["alerts"]:
        by_member.setdefault((a["member_id"], a["organization"]), []).append(a["detail"])
    lines += ["", f"## Disengagement alerts ({len(by_member)})", ""]
    if by_member:
        lines += [f"- **{md_text(mid)}** {md_text(org)}: {'; '.join(md_text(d) for d in details)}"
                  for (mid, org), details in by_member.items()]
    else:
        lines.append("None this quarter.")
    lines += ["", f"**Rows set aside by validation:** {summary['quarantined']} (see `validation/` in the run folder).",
              "", f"Published to {md_text(result.folder)}."]
    return "\n".join(lines)


def funder_table(result: RunResult) -> list[dict[str, Any]]:
    """The run quarter's funder metrics as table rows (suppressed figures show no value)."""
    return [
        {"metric_id": r["metric_id"], "value": r["value"], "unit": r["unit"], "n": r["n"],
         "suppressed": r["suppressed"]}
        for r in result.manifest["metrics"]
    ]


def failure_markdown(flow: str, quarter: str | None, error: Exception) -> str:
    """The artifact of a failed run: why it stopped, and that nothing was published (or, when only
    the write-back to the Google Sheet failed, that the run is published)."""
    from .errors import WriteBackError

    if isinstance(error, WriteBackError):
        title, what = "write-back failed", ("The run is published; only writing its funder table to the Google "
                                           "Sheet failed.")
    else:
        title, what = "failed", "Nothing was published by this run; earlier published runs are untouched."
    return "\n".join([
        f"# {flow} {quarter or ''} {title}".replace("  ", " "),
        "",
        what,
        "",
        "## Reason",
        "",
        # The reason may quote sheet cells and headers: each line made inert, the lines kept.
        *[md_text(line) + "  " for line in str(error).splitlines() if line.strip()],
    ])
