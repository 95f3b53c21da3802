"""What a reader of the quarterly run sees: report.html/.pdf and funder.html/.pdf of the example's
2026-Q3, as rendered (pdftoppm, pdftotext) and as a browser draws them (headless Chromium)."""

import csv
import json
import re
import subprocess
from html.parser import HTMLParser

import pytest

from conftest import EXAMPLE_CSV
from coalition_metrics.config import DEFAULT_ITEMS

PITFALLS = ["Unclear roles", "Over-reliance on a single champion", "Mission creep", "Neglected communication",
            "Ignored power dynamics", "Member disengagement", "No early quick win"]
ORGANIZATIONS = [r["organization"] for r in csv.DictReader((EXAMPLE_CSV / "members.csv").open())]


def pdf_text(path, page=None, layout=False) -> str:
    """pdftotext's text: in reading order, or laid out as on the page (a table row on one line)."""
    pages = ["-f", str(page), "-l", str(page)] if page else []
    return subprocess.run(["pdftotext", *(["-layout"] if layout else []), *pages, str(path), "-"], capture_output=True, text=True,
                          check=True, timeout=60).stdout


def pdf_pages(path) -> int:
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True, timeout=60).stdout
    return int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))


def words(text: str) -> str:
    return " ".join(text.split())


def visible_text(html: str) -> str:
    """The text a reader sees (no tags, attributes, styles or scripts)."""
    parts, hidden = [], [0]

    class Text(HTMLParser):
        def handle_starttag(self, tag, attrs):
            hidden[0] += tag in ("style", "script")

        def handle_endtag(self, tag):
            hidden[0] -= tag in ("style", "script")

        def handle_data(self, data):
            if not hidden[0]:
                parts.append(data)

    Text().feed(html)
    return words(" ".join(parts))


class Tables(HTMLParser):
    """Every <table> of a page as rows of cell texts; the class of each table; <figure> ids."""

    def __init__(self, html: str):
        super().__init__()
        self.tables, self.classes, self.figures, self._cell = [], [], [], None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table":
            self.tables.append([])
            self.classes.append(a.get("class", ""))
        elif tag == "tr" and self.tables:
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "figure":
            self.figures.append(a.get("id"))

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append(words("".join(self._cell)))
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)

    def table(self, cls: str) -> list[list[str]]:
        return self.tables[self.classes.index(cls)]


@pytest.fixture(scope="module")
def run(example_run):
    return example_run.folder


@pytest.fixture(scope="module")
def report(run):
    return Tables((run / "report.html").read_text())


@pytest.fixture(scope="module")
def charts(run):
    from coalition_metrics.load import connect
    from coalition_metrics.charts import report_charts
    from coalition_metrics.config import load_settings

    con = connect(run.parent.parent / "coalition.duckdb")
    try:
        return report_charts(con, quarter="2026-Q3", settings=load_settings(None, environ={}))
    finally:
        con.close()


def test_the_quarterly_run_writes_the_pages_and_pdfs(run):
    for name in ("report.html", "report.pdf", "funder.html", "funder.pdf"):
        assert (run / name).stat().st_size > 1000, name
    assert (run / "report.pdf").read_bytes()[:5] == b"%PDF-" == (run / "funder.pdf").read_bytes()[:5]


def test_every_link_of_the_pages_stays_inside_the_run_folder(run):
    """A published run folder is read where it was copied to (a shared drive, an e-mail): every
    link and reference of its pages is relative (or an image inside the page), resolves inside the folder, and every #anchor
    names an id of its page. Nothing points at the web or at the repository."""
    checked = 0
    for name in ("report.html", "funder.html", "validation/index.html"):
        page = run / name
        html = page.read_text(encoding="utf-8")
        ids = set(re.findall(r'\bid="([^"]+)"', html))
        for target in re.findall(r'\b(?:href|src)="([^"]*)"', html):
            if target.startswith("data:image/"):  # an image inside the page (the heatmap's cells)
                continue
            assert not re.match(r"^[a-z][a-z0-9+.-]*:|^//|^/", target, re.I), (name, target)
            path, _, fragment = target.partition("#")
            if path:
                resolved = (page.parent / path).resolve()
                assert resolved.is_file() and resolved.is_relative_to(run.resolve()), (name, target)
            elif fragment:
                assert fragment in ids, (name, target)
            checked += 1
    assert checked > 10


def test_report_pdf_page_one_is_the_summary_and_pitfall_watch(run, tmp_path, example_run):
    from PIL import Image

    subprocess.run(["pdftoppm", "-r", "40", "-png", "-f", "1", "-l", "1", str(run / "report.pdf"), str(tmp_path / "p")],
                   check=True, timeout=60)
    img = Image.open(next(tmp_path.glob("p*.png"))).convert("L")
    inked = sum(img.histogram()[:200]) / (img.width * img.height)
    assert inked > 0.03, f"page 1 is nearly blank ({inked:.1%} of its pixels inked)"
    first = words(pdf_text(run / "report.pdf", 1))
    assert "Riverside Health Equity Coalition" in first and "Quarterly report 2026-Q3" in first
    assert "data as of 2026-09-30" in first
    assert "Figures exclude 5 rows set aside (4 to fix, 1 kept for information); see data quality." in first
    assert "Pitfall watch" in first and all(p in first for p in PITFALLS)
    for tile in ("Attendance rate", "65%", "down 5 points from last quarter", "Member satisfaction (mean, 1-5)",
                 "3.89", "up 0.26 from last quarter (3.62)", "Goals on track"):
        assert tile in first, tile


def test_report_pdf_footer_and_whole_charts(run, charts, example_run):
    n = pdf_pages(run / "report.pdf")
    pages = [words(pdf_text(run / "report.pdf", p)) for p in range(1, n + 1)]
    for i, text in enumerate(pages, 1):
        assert f"page {i} of {n}" in text and f"Run {example_run.run_id}" in text, i
    assert len(charts) == 6
    from coalition_metrics.render import CHART_METRICS

    assert set(CHART_METRICS) == {c["id"] for c in charts}  # the methods appendix defines what each plots
    appendix = words(" ".join(pages[-2:]))
    for mid in ("on_time_rate", "goal_progress", "member_attendance_rate", "raci_gaps", "voice_gap"):
        assert mid in appendix, mid
    for c in charts:
        # the chart's title (above its SVG) and the end of its caption (below it) share a page
        tail = words(c["caption"])[-40:]
        holding = [i for i, text in enumerate(pages, 1) if c["title"] in text]
        assert holding, f"chart {c['id']} title not in the PDF"
        assert tail in pages[holding[0] - 1], f"chart {c['id']} split across pages"


def test_funder_pdf_is_one_page_with_the_run_and_completeness(run, example_run):
    assert pdf_pages(run / "funder.pdf") == 1
    text = words(pdf_text(run / "funder.pdf", layout=True))
    assert "Riverside Health Equity Coalition: funder summary 2026-Q3" in text
    assert f"run {example_run.run_id}" in text and "page 1 of 1" in text
    assert "Figures exclude 5 rows set aside (4 to fix, 1 kept for information)" in text
    # the quarter and the four before it, unit-formatted
    assert "2025-Q3 2025-Q4 2026-Q1 2026-Q2 2026-Q3" in text
    assert "Attendance rate 78% 76% 87% 70% 65%" in text
    assert "Disengagement alerts 0 0 0 2 3" in text


def test_funder_page_holds_no_member_level_or_quarantined_value(run):
    from coalition_metrics.registry import load_registry

    html = (run / "funder.html").read_text()
    shown = html + "\n" + words(pdf_text(run / "funder.pdf"))
    for org in ORGANIZATIONS:
        assert org not in shown and org.replace("&", "&amp;") not in shown, org
    assert not re.search(r"\bM\d{2}\b", shown), re.search(r"\bM\d{2}\b", shown)
    for q in json.loads((run / "validation" / "quarantine.json").read_text()):
        if len(q["value"]) >= 3:  # a one-character value ('6') is no evidence either way
            assert q["value"] not in shown, q
    for m in load_registry():
        if m.audience == "coordinator":
            assert f">{m.name}<" not in html and f">{m.name}:" not in html, m.id
    # every row of the page is a funder-file figure (the page is built from those records only)
    labels = {r[0] for r in Tables(html).tables[0][1:] if len(r) == 6}
    assert "Attendance rate" in labels and "Item mean: " + DEFAULT_ITEMS["trust"] in labels
    assert not any("member" in label.lower() and "rate of a" in label.lower() for label in labels)


def test_funder_page_shows_suppressed_figures_as_n_lt_5():
    from coalition_metrics.funder_page import funder_page_context

    def rec(pid, quarter, value, suppressed=False):
        return {"metric_id": pid, "label": pid, "quarter": quarter, "value": value, "unit": "", "n": 3,
                "suppressed": suppressed}

    quarters = ["2025-Q1", "2025-Q2", "2025-Q3", "2025-Q4", "2026-Q1", "2026-Q2"]
    records = [rec("voice_gap", q, None if q == "2026-Q1" else 0.5, suppressed=q == "2026-Q1") for q in quarters]
    records += [rec("attendance_rate", q, 0.5) for q in quarters]
    records += [rec("item_sd[trust]", "2026-Q2", 1.0), rec("item_mean[trust]", "2026-Q2", 3.5)]
    ctx = funder_page_context(records, coalition="C", quarter="2026-Q1", as_of="2026-03-31", run_id="r",
                              completeness={"total": 0}, small_n=5)
    assert ctx["quarters"] == ["2025-Q1", "2025-Q2", "2025-Q3", "2025-Q4", "2026-Q1"]
    rows = {r["id"]: r["cells"] for r in ctx["rows"]}
    assert rows == {"voice_gap": ["+0.50"] * 4 + ["n<5"], "attendance_rate": ["50%"] * 5}
    # [metrics] small_n = 8: the label says so, never a hard-coded "n<5"
    ctx = funder_page_context(records, coalition="C", quarter="2026-Q1", as_of="2026-03-31", run_id="r",
                              completeness={"total": 0}, small_n=8)
    assert {r["id"]: r["cells"] for r in ctx["rows"]}["voice_gap"][-1] == "n<8"


def test_report_alerts_one_row_per_member_by_organization(report):
    alerts = next(t for t in report.tables if t and t[0] == ["Member organization", "Why"])
    assert alerts[1:] == [
        ["Eastside Food Bank", "absent from the last 3 expected meetings (since 2026-09-15)"],
        ["Northside Faith Alliance", "absent from the last 3 expected meetings (since 2026-09-15); "
                                     "attendance fell from 53% to 0%"],
        ["Youth Forward Riverside", "absent from the last 3 expected meetings (since 2026-09-15)"],
    ]


def test_report_shows_items_by_question_and_no_member_ids(run, report):
    survey = next(t for t in report.tables if t and t[0][0] == "Question")
    assert [r[0] for r in survey[1:]] == list(DEFAULT_ITEMS.values())
    assert survey[1][1:] == ["9", "3.89", "1.05", "3.08 - 4.70", "67%"]
    html = (run / "report.html").read_text()
    shown = visible_text(html) + words(pdf_text(run / "report.pdf"))
    assert not re.search(r"\bM\d{2}\b", shown), re.search(r".{60}\bM\d{2}\b.{20}", shown)
    assert "Eastside Food Bank" in shown
    assert "All metrics" not in shown and "<svg width=" not in html  # no dump, no hand-drawn bars


def test_pitfall_watch_verdicts_of_the_example(report):
    rows = {r[0]: r for r in report.table("pitfalls")[1:]}
    assert list(rows) == PITFALLS
    assert rows["Unclear roles"][2:4] == ["0", "ok"]
    assert rows["Over-reliance on a single champion"][1:4] == [
        "one member holds 65% of the quarter's meetings facilitated", "65%", "act"]
    assert rows["Neglected communication"][2:4] == ["100%", "ok"]
    assert rows["Ignored power dynamics"][2:4] == ["+1.47", "act"]
    assert rows["Member disengagement"][1:4] == [
        "3 of 9 members on the roster with a disengagement alert (listed below)", "3", "act"]
    assert rows["No early quick win"][2:4] == ["yes", "ok"]
    assert rows["Mission creep"][1:4] == ["5 of 9 tasks due this quarter tied to a coalition goal", "56%", "watch"]
    assert "act above 40% (single-champion risk)" in rows["Over-reliance on a single champion"][4]


def test_pages_open_in_chromium_without_errors_and_charts_drawn(run, charts):
    from browser import Page

    page = Page()
    try:
        page.open(run / "report.html")
        sizes = page.evaluate("Array.from(document.querySelectorAll('figure.chart-figure')).map(f => {"
                              " const s = f.querySelector('svg'); const r = s ? s.getBoundingClientRect() : null;"
                              " return [f.id, r ? r.width : 0, r ? r.height : 0]; })")
        assert page.evaluate("document.querySelector('h1').textContent") == "Riverside Health Equity Coalition"
        report_errors = page.errors()
        page.events.clear()
        page.open(run / "funder.html")
        rows = page.evaluate("document.querySelectorAll('tr').length")
        funder_errors = page.errors()
    finally:
        page.close()
    assert report_errors == [] and funder_errors == []
    assert [s[0] for s in sizes] == [f"chart-{c['id']}" for c in charts] and len(sizes) == 6
    for chart_id, width, height in sizes:
        assert width > 100 and height > 50, (chart_id, width, height)
    assert rows > 30


def test_pdf_prints_chinese_japanese_and_korean_names_with_a_font_that_has_them():
    """Organization names in Chinese, Japanese or Korean print as themselves, not as empty boxes:
    deploy/debian-packages.sh installs a CJK font when fontconfig has none, and the PDF embeds it
    beside DejaVu for those names (with DejaVu alone they would be .notdef boxes)."""
    from coalition_metrics.pdf import html_to_pdfs
    from coalition_metrics.render import template_env

    style = template_env().get_template("_style.css").render()
    names = "華人社區服務中心 · 한인회 · 日本語学校"
    html = f"<html><head><style>{style}</style></head><body><h1>Riverside</h1><p>{names}</p></body></html>"
    pdf = html_to_pdfs({"x.pdf": html})["x.pdf"]
    fonts = subprocess.run(["pdffonts", "-"], input=pdf, capture_output=True, check=True, timeout=60).stdout.decode()
    embedded = [line.split()[0].split("+")[-1] for line in fonts.splitlines()[2:] if line.strip()]
    assert any("DejaVu" in f for f in embedded), embedded
    assert any("DejaVu" not in f for f in embedded), f"no font for the CJK names was embedded: {embedded}"
    text = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True, timeout=60).stdout
    assert words(names) in words(text.decode())


def test_pdf_rendering_fetches_nothing_over_the_network(monkeypatch):
    import socket

    from coalition_metrics.pdf import html_to_pdfs

    tried = []
    monkeypatch.setattr(socket.socket, "connect", lambda self, address: tried.append(address))
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: tried.append(a) or [])
    html = ('<html><head><link rel="stylesheet" href="http://example.com/x.css"></head><body>'
            '<img src="https://example.com/x.png"><p style="background: url(http://example.com/b.png)">text</p>'
            '</body></html>')
    pdf = html_to_pdfs({"x.pdf": html})["x.pdf"]
    assert pdf[:5] == b"%PDF-" and tried == []


def test_pitfall_verdicts_follow_the_settings_and_never_show_a_suppressed_figure(settings):
    from coalition_metrics.pitfalls import pitfall_watch

    def series(**values):
        out = {}
        for pid, (value, n, suppressed) in values.items():
            out[pid] = [{"quarter": "2026-Q3", "value": value, "n": n, "suppressed": suppressed}]
        return out

    s = series(**{"raci_gaps": (2.0, 10, False), "leadership_concentration[tasks]": (0.35, 10, False),
                  "leadership_concentration[facilitation]": (0.2, 13, False), "cadence_adherence": (0.8, 17, False),
                  "voice_gap": (None, 6, True), "disengagement_alerts": (0.0, 9, False),
                  "quick_win_in_first_quarter": (0.0, None, False), "milestones[quick_win]": (1.0, 1, False),
                  "goal_focus_share": (None, 9, False)})
    rows = {r["pitfall"]: (r["value"], r["verdict"]) for r in pitfall_watch(s, "2026-Q3", settings)}
    assert rows == {"Unclear roles": ("2", "watch"), "Over-reliance on a single champion": ("35%", "watch"),
                    "Mission creep": ("no data", "no data"), "Neglected communication": ("80%", "watch"),
                    "Ignored power dynamics": ("n<5", "n<5"), "Member disengagement": ("0", "ok"),
                    "No early quick win": ("no", "watch")}
    stricter = settings.with_overrides(pitfall_watch={"raci_gaps_act": 2, "cadence_act": 0.85})
    rows = {r["pitfall"]: r for r in pitfall_watch(s, "2026-Q3", stricter)}
    assert rows["Unclear roles"]["verdict"] == "act" and rows["Neglected communication"]["verdict"] == "act"
    assert rows["Neglected communication"]["rule"] == "ok from 90% of the expected meetings; watch below; act below 85%"
    # [metrics] small_n = 8: a suppressed signal reads "n<8" (value, verdict and rule), never "n<5"
    larger = settings.with_overrides(metrics={"small_n": 8})
    voice = next(r for r in pitfall_watch(s, "2026-Q3", larger) if r["pitfall"] == "Ignored power dynamics")
    assert (voice["value"], voice["verdict"]) == ("n<8", "n<8")
    assert voice["rule"].endswith("n<8 when either side has fewer than 8 answers")


def test_suppressed_figures_are_labelled_with_the_configured_small_n(tmp_path):
    """The report's tiles, survey table and notes and the funder page follow [metrics] small_n: with
    small_n = 12 every wave of the example is suppressed, and each says "n<12"."""
    from coalition_metrics.config import load_settings
    from coalition_metrics.pipeline import run_quarterly

    s = load_settings(None, environ={}).with_overrides(metrics={"small_n": 12}, output={"pdf": False})
    result = run_quarterly(s, quarter="2026-Q3", out=tmp_path / "out")
    for name in ("report.html", "funder.html"):
        text = visible_text((result.folder / name).read_text(encoding="utf-8"))
        assert "n<12" in text and "n<5" not in text, name
    report = Tables((result.folder / "report.html").read_text(encoding="utf-8"))
    survey = next(t for t in report.tables if t and t[0][:2] == ["Question", "n"])
    assert {row[2] for row in survey[1:]} == {"n<12"} and {row[5] for row in survey[1:]} == {"n<12"}


def test_a_chart_taller_than_the_page_prints_whole_on_one_page(tmp_path):
    """A heatmap of 40 members is taller than A4: printed, it shrinks to the page (print stylesheet)
    instead of running under the footer with its axis and the last rows cut off."""
    from coalition_metrics.pdf import html_to_pdfs
    from coalition_metrics.render import template_env
    from coalition_metrics.svg import WIDTH, Canvas

    c = Canvas("tall", height=16.0 * 72)  # the report's charts' canvas; a heatmap of 49 members is 16 in
    c.text(6, 14, "TOPMARK tall chart", 10)
    c.rect(40, 24, WIDTH - 48, c.height - 60, "#9ecae1")
    c.text(WIDTH / 2, c.height - 8, "BOTTOMMARK axis label", 9, anchor="middle")
    svg = c.svg("tall chart")
    page = template_env().from_string(
        '<html><head><style>{% include "_style.css" %}</style></head><body><h2>Charts</h2>'
        '<figure class="chart-figure">{{ svg|safe }}<figcaption>CAPTIONMARK below</figcaption></figure>'
        '</body></html>').render(svg=svg)
    pdf = tmp_path / "tall.pdf"
    pdf.write_bytes(html_to_pdfs({"tall": page})["tall"])
    first = words(pdf_text(pdf, 1))
    assert "TOPMARK" in first and "BOTTOMMARK" in first and "CAPTIONMARK" in first, first



def test_survey_table_and_voice_signal_state_each_items_scale(tmp_path, example_run):
    """[survey_scales] trust = [1, 7]: the survey table's Mean column is not headed "(1-5)" for every
    row; each question says its scale."""
    from coalition_metrics.config import load_settings
    from coalition_metrics.pipeline import run_quarterly

    s = load_settings(None, environ={}).with_overrides(survey_scales={"trust": [1, 7]}, output={"pdf": False})
    result = run_quarterly(s, quarter="2026-Q3", out=tmp_path / "out")
    report = Tables((result.folder / "report.html").read_text(encoding="utf-8"))
    survey = next(t for t in report.tables if t and t[0][:2] == ["Question", "n"])
    assert survey[0][2] == "Mean"
    questions = {row[0] for row in survey[1:]}
    assert DEFAULT_ITEMS["trust"] + " (1-7 scale)" in questions
    assert DEFAULT_ITEMS["satisfaction"] + " (1-5 scale)" in questions
    default = example_run  # the default scale
    header = next(t for t in Tables((default.folder / "report.html").read_text(encoding="utf-8")).tables
                  if t and t[0][:2] == ["Question", "n"])[0]
    assert header[2] == "Mean (1-5)"
