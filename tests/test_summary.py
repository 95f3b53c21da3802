"""The Prefect markdown artifacts (summary.py) carry sheet text: organization names, the coalition
name, alert details and error reasons. Rendered with a CommonMark + tables renderer, hostile text
stays text: no link, image, HTML or broken table."""

from datetime import date
from pathlib import Path

from markdown_it import MarkdownIt

from coalition_metrics.errors import BlockingValidationError
from coalition_metrics.plan import RunResult, plan_run
from coalition_metrics.summary import failure_markdown, md_text, summary_markdown

HOSTILE = ["[x](http://evil)", "![i](http://x/y.png)", "a|b", "<script>alert(1)</script>",
           "line one\nline two", "**bold** `code` www.evil.example", "<http://auto.example>", "=cmd|' /C calc'!A0"]


def render(markdown: str) -> str:
    return MarkdownIt("commonmark").enable("table").render(markdown)


def assert_inert(html: str) -> None:
    for tag in ("<a ", "<img", "<script", "<strong>bold", "<code>code"):
        assert tag not in html, html


def test_hostile_sheet_text_renders_as_plain_text(settings, tmp_path):
    plan = plan_run(settings.with_overrides(coalition={"name": "[Evil](http://evil) | <b>Co</b>"}), "2026-Q3",
                    today=date(2026, 11, 24), out=tmp_path / "out")
    result = RunResult(plan.run_id, "2026-Q3", tmp_path / "out" / "2026-Q3" / plan.run_id, Path("report.html"),
                       {"snapshot": {"id": "ab" * 32}})
    summary = {
        "kpis": [{"id": "attendance_rate", "name": "Attendance rate", "value": "81%", "n": 120}],
        "alerts": [{"member_id": f"M0{i}", "organization": name, "detail": name} for i, name in enumerate(HOSTILE)],
        "quarantined": 5,
    }
    md = summary_markdown(plan, result, summary)
    html = render(md)
    assert_inert(html)
    assert "http://" not in md and "www." not in md  # nothing left for an autolinker
    assert html.startswith("<h1>[Evil](http://evil) | &lt;b&gt;Co&lt;/b&gt;: Quarterly report 2026-Q3</h1>")
    assert "<li><strong>M00</strong> [x](http://evil): [x](http://evil)</li>" in html
    assert "<li><strong>M01</strong> ![i](http://x/y.png): ![i](http://x/y.png)</li>" in html
    assert "a|b: a|b" in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "line one line two" in html  # a newline would have ended the list item
    table = html[html.index("<table>"):html.index("</table>")]
    assert table.count("<td") == 3  # the KPI row keeps its three cells


def test_a_hostile_name_in_a_table_cell_keeps_the_table(settings):
    html = render("| Metric | Value |\n|---|---|\n| " + md_text("a|b|c") + " | 1 |\n")
    assert html.count("<td>") == 2 and "<td>a|b|c</td>" in html


def test_failure_reasons_quoting_cells_are_inert():
    error = BlockingValidationError(["Tab 'members' has a column '[x](http://evil)': rename it",
                                     "Tab 'tasks': '<img src=x onerror=alert(1)>' is not a date"])
    html = render(failure_markdown("quarterly-report", "2026-Q3", error))
    assert_inert(html)
    assert "[x](http://evil)" in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert html.count("<br />") >= 2  # the reason keeps its lines
