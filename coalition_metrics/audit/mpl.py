"""matplotlib figures as inline SVG for the audit pack's charts (audit/charts.py): the figure set-up
(fonts, sizes, colours) and the SVG output (deterministic bytes, ids prefixed by the chart id, a
<title> and aria-label). The quarterly report's charts do not use it (coalition_metrics/svg.py draws
them); matplotlib is imported only when an audit chart is drawn.
"""

from __future__ import annotations

import io
import re
import threading

from ..charts import INK
from ..svg import FONT_FAMILY

WIDTH_IN = 7.0  # fits an A4 page's text width at 100 % scale

_SETUP_LOCK = threading.Lock()
_SET_UP = False


def _setup() -> None:
    """The few rcParams the SVG backend reads at save time (it takes no per-call option for them),
    set once per process to constant values."""
    global _SET_UP
    with _SETUP_LOCK:
        if _SET_UP:
            return
        import matplotlib

        matplotlib.rcParams.update({
            "svg.hashsalt": "coalition-metrics",
            "svg.fonttype": "none",
            # Every label is the coalition's own text (organizations, goals, questions); a "$" in it is
            # a dollar sign, never matplotlib mathtext (which would garble "$5 and $10" or fail on it).
            "text.parse_math": False,
            "font.family": "sans-serif",
            "font.sans-serif": [FONT_FAMILY],
            "font.size": 9,
            "axes.titlesize": 10,
            "axes.labelsize": 9,
            "xtick.labelsize": 8,
            "ytick.labelsize": 8,
            "legend.fontsize": 8,
            "hatch.linewidth": 0.8,
            "axes.edgecolor": "#555555",
            "axes.labelcolor": INK,
            "text.color": INK,
            "xtick.color": "#444444",
            "ytick.color": "#444444",
        })
        _SET_UP = True


def _figure(height_in: float):
    _setup()
    from matplotlib.figure import Figure

    return Figure(figsize=(WIDTH_IN, height_in), layout="constrained")


_ID_RE = re.compile(r'\bid="([^"]+)"')


def figure_svg(fig, chart_id: str, label: str) -> str:
    """The figure as an embeddable, deterministic <svg> element with ids prefixed by chart_id."""
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None, "Format": None, "Type": None})
    svg = buf.getvalue()
    svg = svg[svg.index("<svg"):]  # drop the XML prolog and DOCTYPE
    svg = re.sub(r"<metadata>.*?</metadata>\s*", "", svg, flags=re.S)
    found = _ID_RE.findall(svg)
    if len(found) != len(set(found)):
        repeated = sorted({i for i in found if found.count(i) > 1})
        raise AssertionError(f"chart {chart_id}: repeated element ids {repeated}")
    ids = set(found)
    if ids:
        names = "|".join(re.escape(i) for i in sorted(ids, key=len, reverse=True))
        svg = re.sub(rf'\bid="({names})"', lambda m: f'id="{chart_id}-{m.group(1)}"', svg)
        svg = re.sub(rf'(href="#|url\(#)({names})([")])',
                     lambda m: f"{m.group(1)}{chart_id}-{m.group(2)}{m.group(3)}", svg)
    head_end = svg.index(">")
    head = svg[:head_end]
    head = re.sub(r'\s(width|height)="[^"]*"', "", head)
    esc = _xml_escape(label)
    head += (f' width="100%" style="height:auto;max-width:100%;display:block" role="img" '
             f'aria-label="{esc}" data-chart="{chart_id}"')
    return f"{head}>\n <title>{esc}</title>{svg[head_end + 1:]}".rstrip() + "\n"


def _xml_escape(text: str) -> str:
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))
