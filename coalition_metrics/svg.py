"""A small kit for drawing charts as SVG text: a canvas that collects elements, text with XML escaping
and width estimation (DejaVu Sans advance widths, for wrapping, truncation and margins), lines, bars,
hatch patterns, markers, linear scales with tidy ticks, axes and a legend.

Everything is plain string building: no drawing library, no global state (charts can be drawn from
several threads), and the same calls give the same bytes. Coordinates are SVG user units of a
viewBox ``WIDTH`` wide (one unit = 1 pt of a 7 in figure), font sizes are in the same units, and the
page scales the whole drawing to its container. Every id is prefixed with the canvas's id so several
charts can share one HTML page. Text is real ``<text>`` (selectable, read by screen readers).
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass, field
from typing import Iterable, Sequence

FONT_FAMILY = "DejaVu Sans"
FONT_STACK = "'DejaVu Sans', Arial, sans-serif"  # the report's CSS (reports/templates/_style.css)
WIDTH = 504.0  # 7 in at 72 units an inch: fits an A4 page's text width at 100 %
INK = "#222222"
TICK_INK = "#444444"
AXIS_INK = "#555555"
GRID = "#dddddd"

# DejaVu Sans advance widths in 1/1000 em for the printable ASCII characters 32..126 (from the font's
# hmtx table), regular and bold; a few common non-ASCII characters below; anything else is estimated.
_REGULAR = (318, 401, 460, 838, 636, 950, 780, 275, 390, 390, 500, 838, 318, 361, 318, 337, 636, 636, 636,
            636, 636, 636, 636, 636, 636, 636, 337, 337, 838, 838, 838, 531, 1000, 684, 686, 698, 770, 632,
            575, 775, 752, 295, 295, 656, 557, 863, 748, 787, 603, 787, 695, 635, 611, 732, 684, 989, 685,
            611, 685, 390, 337, 390, 838, 500, 500, 613, 635, 550, 635, 615, 352, 635, 634, 278, 278, 579,
            278, 974, 634, 612, 635, 635, 411, 521, 392, 634, 592, 818, 592, 592, 525, 636, 337, 636, 838)
_BOLD = (348, 456, 521, 838, 696, 1002, 872, 306, 457, 457, 523, 838, 380, 415, 380, 365, 696, 696, 696,
         696, 696, 696, 696, 696, 696, 696, 400, 400, 838, 838, 838, 580, 1000, 774, 762, 734, 830, 683,
         683, 821, 837, 372, 372, 775, 637, 995, 837, 850, 733, 850, 770, 720, 682, 812, 774, 1103, 771,
         724, 725, 457, 365, 457, 838, 500, 500, 675, 716, 593, 716, 678, 435, 716, 712, 343, 343, 665,
         343, 1042, 712, 687, 716, 716, 493, 595, 478, 712, 652, 924, 645, 652, 582, 712, 365, 712, 838)
_OTHER = {"–": 500, "—": 1000, "…": 1000, "→": 838, "“": 518, "”": 518, "‘": 318, "’": 318, "•": 590,
          "×": 838, "−": 838, "≥": 838, "≤": 838, "°": 500, "·": 318}


def text_width(text: str, size: float, bold: bool = False) -> float:
    """The width of ``text`` set in DejaVu Sans at ``size`` (an estimate outside ASCII: accented Latin
    letters as their base letter, wide East Asian characters a full em, anything else 0.64 em)."""
    table = _BOLD if bold else _REGULAR
    total = 0.0
    for ch in text:
        code = ord(ch)
        if 32 <= code < 127:
            total += table[code - 32]
        elif ch in _OTHER:
            total += _OTHER[ch] * (1.08 if bold else 1.0)
        elif unicodedata.combining(ch):
            continue
        elif unicodedata.east_asian_width(ch) in ("W", "F"):
            total += 1000
        else:
            base = unicodedata.normalize("NFD", ch)[0]
            total += table[ord(base) - 32] if 32 <= ord(base) < 127 else 640
    return total * size / 1000


def fit_lines(text: str, width: float, size: float, lines: int = 2, bold: bool = False) -> list[str]:
    """``text`` (whitespace collapsed) wrapped at words into at most ``lines`` lines no wider than
    ``width``; what does not fit is cut at a word (or inside a very long word) with " …"."""
    text = " ".join(str(text).split())
    # no more than this many characters can show (the narrowest glyph is wider than 0.15 em), so a
    # 50,000-character cell is measured over its start only
    text = text[:int(lines * width / (0.15 * size)) + 2]
    words = text.split(" ")
    out: list[str] = []
    current = ""
    for word in words:
        candidate = f"{current} {word}" if current else word
        if text_width(candidate, size, bold) <= width or not current:
            current = candidate
        else:
            out.append(current)
            current = word
    if current:
        out.append(current)
    if len(out) > lines:
        out = out[:lines - 1] + [" ".join(out[lines - 1:])]
        out[-1] = _cut(out[-1], width, size, bold, force=True)
    return [_cut(line, width, size, bold) for line in out]


def _cut(line: str, width: float, size: float, bold: bool, force: bool = False) -> str:
    if not force and text_width(line, size, bold) <= width:
        return line
    # the longest prefix that fits with " …" (widths grow with the prefix: a binary search, so a
    # 50,000-character cell costs a few measurements, not one per character)
    lo, hi = 1, len(line)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if text_width(line[:mid] + " …", size, bold) <= width:
            lo = mid
        else:
            hi = mid - 1
    prefix = line[:lo]
    if " " in prefix and lo < len(line) and line[lo] != " ":  # end at a word when one fits
        prefix = prefix[:prefix.rindex(" ")] or prefix
    return prefix.rstrip() + " …"


_XML_BAD = {c: " " for c in range(32) if c not in (9, 10, 13)} | {0xFFFE: " ", 0xFFFF: " "}


def esc(text: str) -> str:
    """Text for an XML text node or a double-quoted attribute: markup is escaped, characters XML
    cannot hold become spaces."""
    return (str(text).translate(_XML_BAD).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))


def n(value: float) -> str:
    """A coordinate as short, stable text: two decimals at most, no trailing zeros, no "-0". Equal
    numbers give the same text, so each is formatted once (a report's charts write about 3,000,
    most of them a few grid positions again)."""
    text = _N.get(value)
    if text is None:
        text = f"{float(value):.2f}".rstrip("0").rstrip(".")
        text = "0" if text in ("-0", "") else text
        if len(_N) < _N_MAX:
            _N[value] = text
    return text


_N: dict = {}
_N_MAX = 100_000


def pts(points: Iterable[tuple[float, float]]) -> str:
    return " L ".join(f"{n(x)} {n(y)}" for x, y in points)


# ---- scales ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Scale:
    """A linear map from data values [d0, d1] to drawing positions [r0, r1]."""
    d0: float
    d1: float
    r0: float
    r1: float

    def __call__(self, value: float) -> float:
        if self.d1 == self.d0:
            return (self.r0 + self.r1) / 2
        return self.r0 + (float(value) - self.d0) * (self.r1 - self.r0) / (self.d1 - self.d0)


def nice_step(span: float, count: int = 6) -> float:
    """A 1, 2, 2.5 or 5 times a power of ten step giving about ``count`` ticks over ``span``."""
    raw = span / max(count, 1) if span > 0 else 1.0
    power = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if m * power >= raw:
            return m * power
    return 10 * power


def nice_ticks(lo: float, hi: float, count: int = 6, integer: bool = False) -> list[float]:
    """Tick values on round numbers covering [lo, hi] (inside it)."""
    step = nice_step(hi - lo, count)
    if integer:
        step = max(1, round(step)) if step >= 1 else 1
    first = math.ceil(lo / step - 1e-9) * step
    ticks = []
    v = first
    while v <= hi + 1e-9 * max(1.0, abs(hi)):
        ticks.append(round(v, 10) + 0.0)
        v += step
    return ticks


def tick_text(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:g}"


@dataclass(frozen=True)
class Box:
    """A plot area: left, top, right, bottom in drawing units."""
    left: float
    top: float
    right: float
    bottom: float

    @property
    def width(self) -> float:
        return self.right - self.left

    @property
    def height(self) -> float:
        return self.bottom - self.top


# ---- the canvas ----------------------------------------------------------------------------------------

LINE_HEIGHT = 1.2  # of the font size, between lines of one label
CAP = 0.73  # DejaVu Sans cap height, of the font size: baseline = middle + CAP / 2 * size


@dataclass
class Canvas:
    """An SVG drawing being built: ``chart_id`` prefixes every id, ``height`` may be set at the end."""
    chart_id: str
    height: float = 0.0
    width: float = WIDTH
    parts: list[str] = field(default_factory=list)
    defs: dict[str, str] = field(default_factory=dict)

    def uid(self, name: str) -> str:
        return esc(f"{self.chart_id}-{name}")

    def add(self, element: str) -> None:
        self.parts.append(element)

    def open(self, gid: str | None = None, style: str | None = None, clip: str | None = None) -> None:
        """Start a group (``</g>`` with close()); ``gid`` becomes an id prefixed with the chart id,
        ``clip`` is a clip() url that cuts what the group draws to a box."""
        attrs = (f' id="{self.uid(gid)}"' if gid else "") + (f' style="{style}"' if style else "")
        if clip:
            attrs += f' clip-path="{clip}"'
        self.parts.append(f"<g{attrs}>")

    def close(self) -> None:
        self.parts.append("</g>")

    # ---- text
    def text(self, x: float, y: float, text: str, size: float = 8, anchor: str = "start", color: str = INK,
             bold: bool = False, valign: str = "baseline", rotate: bool = False, gid: str | None = None) -> None:
        """One line of text at (x, y): ``anchor`` start/middle/end, ``valign`` baseline/middle/top/bottom
        (top and bottom: the capitals' top / the descenders' bottom at y); ``rotate`` turns it to read
        upwards about its anchor point."""
        if valign == "middle":
            y += CAP / 2 * size
        elif valign == "top":
            y += CAP * size
        elif valign == "bottom":
            y -= 0.24 * size
        style = f"font-size: {n(size)}px; fill: {color}"
        if anchor != "start":
            style += f"; text-anchor: {anchor}"
        if bold:
            style += "; font-weight: bold"
        rot = f' transform="rotate(-90 {n(x)} {n(y)})"' if rotate else ""
        ident = f' id="{self.uid(gid)}"' if gid else ""
        self.parts.append(f'<text{ident} x="{n(x)}" y="{n(y)}"{rot} style="{style}">{esc(text)}</text>')

    def lines(self, x: float, y: float, lines: Sequence[str], size: float = 8, valign: str = "top",
              **kw) -> float:
        """Several lines, one <text> each, the first placed like text(valign=...), or the block centred
        on y with valign="middle"; returns the y below the last line."""
        step = size * LINE_HEIGHT
        if valign == "middle":
            y0 = y - step * (len(lines) - 1) / 2
            for i, line in enumerate(lines):
                self.text(x, y0 + i * step, line, size, valign="middle", **kw)
            return y0 + (len(lines) - 1) * step + size * 0.6
        for i, line in enumerate(lines):
            self.text(x, y + i * step, line, size, valign="top", **kw)
        return y + CAP * size + (len(lines) - 1) * step

    # ---- shapes
    def line(self, x1: float, y1: float, x2: float, y2: float, color: str = AXIS_INK, width: float = 0.8,
             dash: str | None = None, gid: str | None = None) -> None:
        self.path([(x1, y1), (x2, y2)], color, width, dash, gid=gid)

    def path(self, points: Sequence[tuple[float, float]], color: str, width: float, dash: str | None = None,
             gid: str | None = None) -> None:
        """An open polyline (style "fill: none; stroke: ...; stroke-width: ...")."""
        style = f"fill: none; stroke: {color}; stroke-width: {n(width)}"
        if dash:
            style += f"; stroke-dasharray: {dash}"
        ident = f' id="{self.uid(gid)}"' if gid else ""
        self.parts.append(f'<path{ident} d="M {pts(points)}" style="{style}"/>')

    def area(self, points: Sequence[tuple[float, float]], fill: str, opacity: float = 1.0) -> None:
        """A closed filled polygon (fill a colour or a pattern's url())."""
        style = f"fill: {fill}; stroke: none" + (f"; opacity: {n(opacity)}" if opacity != 1 else "")
        self.parts.append(f'<path d="M {pts(points)} Z" style="{style}"/>')

    def rect(self, x: float, y: float, w: float, h: float, fill: str, stroke: str | None = None,
             stroke_width: float = 0.8, dash: str | None = None, gid: str | None = None) -> None:
        if w < 0:
            x, w = x + w, -w
        if h < 0:
            y, h = y + h, -h
        style = f"fill: {fill}" + (f"; stroke: {stroke}; stroke-width: {n(stroke_width)}" if stroke else "")
        if dash:
            style += f"; stroke-dasharray: {dash}"
        ident = f' id="{self.uid(gid)}"' if gid else ""
        self.parts.append(f'<rect{ident} x="{n(x)}" y="{n(y)}" width="{n(w)}" height="{n(h)}" style="{style}"/>')

    # ---- definitions: hatch patterns, markers, clip paths
    def hatch(self, color: str, kind: str = "/", spacing: float = 6.0, width: float = 0.8) -> str:
        """A pattern of thin lines ("/" rising, "\\" falling, "x" both) in ``color``; returns its url()."""
        name = f"hatch-{kind}-{color.lstrip('#')}-{n(spacing)}".replace("/", "r").replace("\\", "f")
        if name not in self.defs:
            s = spacing
            rising = f"M {n(-s / 2)} {n(s / 2)} L {n(s / 2)} {n(-s / 2)} M 0 {n(s)} L {n(s)} 0 " \
                     f"M {n(s / 2)} {n(s * 1.5)} L {n(s * 1.5)} {n(s / 2)}"
            falling = f"M {n(-s / 2)} {n(s / 2)} L {n(s / 2)} {n(s * 1.5)} M 0 0 L {n(s)} {n(s)} " \
                      f"M {n(s / 2)} {n(-s / 2)} L {n(s * 1.5)} {n(s / 2)}"
            d = {"/": rising, "\\": falling, "x": f"{rising} {falling}"}[kind]
            self.defs[name] = (f'<pattern id="{self.uid(name)}" patternUnits="userSpaceOnUse" x="0" y="0" '
                               f'width="{n(s)}" height="{n(s)}"><path d="{d}" style="fill: none; stroke: {color}; '
                               f'stroke-width: {n(width)}"/></pattern>')
        return f"url(#{self.uid(name)})"

    def marker(self, shape: str, color: str, hollow: bool = False, size: float = 6.0) -> str:
        """A marker symbol (``shape`` "o" circle or "s" square, ``size`` across) filled with ``color``
        and edged white, or hollow (white, edged with ``color``); returns its id for use()."""
        name = f"marker-{shape}-{color.lstrip('#')}-{'hollow' if hollow else 'solid'}-{n(size)}"
        if name not in self.defs:
            style = (f"fill: #ffffff; stroke: {color}; stroke-width: 1.3" if hollow
                     else f"fill: {color}; stroke: #ffffff; stroke-width: 0.8")
            r = size / 2
            if shape == "o":
                body = f'<circle id="{self.uid(name)}" cx="0" cy="0" r="{n(r)}" style="{style}"/>'
            else:
                r *= 0.9
                body = (f'<rect id="{self.uid(name)}" x="{n(-r)}" y="{n(-r)}" width="{n(2 * r)}" '
                        f'height="{n(2 * r)}" style="{style}"/>')
            self.defs[name] = body
        return self.uid(name)

    def use(self, marker_id: str, x: float, y: float) -> None:
        self.parts.append(f'<use xlink:href="#{marker_id}" x="{n(x)}" y="{n(y)}"/>')

    def clip(self, name: str, box: "Box") -> str:
        """A clip path of the rectangle ``box``; returns its url() for open(clip=...)."""
        if name not in self.defs:
            self.defs[name] = (f'<clipPath id="{self.uid(name)}"><rect x="{n(box.left)}" y="{n(box.top)}" '
                               f'width="{n(box.width)}" height="{n(box.height)}"/></clipPath>')
        return f"url(#{self.uid(name)})"

    # ---- output
    def svg(self, label: str) -> str:
        """The drawing as an embeddable <svg> element (no XML prolog): sized by its viewBox to the width
        of its container, with role="img", an aria-label and a <title> for screen readers."""
        label = esc(label)
        defs = "<defs>" + "".join(self.defs[k] for k in sorted(self.defs)) + "</defs>\n" if self.defs else ""
        return (f'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
                f'viewBox="0 0 {n(self.width)} {n(self.height)}" version="1.1" width="100%" '
                f'style="height:auto;max-width:100%;display:block" role="img" aria-label="{label}" '
                f'data-chart="{esc(self.chart_id)}">\n<title>{label}</title>\n{defs}'
                f'<g style="font-family: {FONT_STACK}">\n<rect x="0" y="0" width="{n(self.width)}" '
                f'height="{n(self.height)}" style="fill: #ffffff"/>\n' + "\n".join(self.parts) + "\n</g>\n</svg>\n")


# ---- axes and legend -----------------------------------------------------------------------------------

TICK = 3.5
TICK_SIZE = 8.0
LABEL_SIZE = 9.0
TITLE_SIZE = 10.0
LEGEND_SIZE = 8.0


def frame(c: Canvas, box: Box, color: str = AXIS_INK, dash: str | None = None) -> None:
    c.rect(box.left, box.top, box.width, box.height, "none", stroke=color, dash=dash)


def y_axis(c: Canvas, box: Box, scale: Scale, ticks: Sequence[float], labels: Sequence[str] | None = None,
           grid: bool = True) -> None:
    """Grid lines (under what comes next), tick marks and right-aligned labels on the left edge."""
    labels = labels if labels is not None else [tick_text(t) for t in ticks]
    for t, label in zip(ticks, labels):
        y = scale(t)
        if grid:
            c.line(box.left, y, box.right, y, GRID, 0.6)
        c.line(box.left - TICK, y, box.left, y, TICK_INK, 0.8)
        c.text(box.left - TICK - 3.5, y, label, TICK_SIZE, anchor="end", color=TICK_INK, valign="middle")


def x_grid(c: Canvas, box: Box, xs: Sequence[float], color: str = GRID) -> None:
    for x in xs:
        c.line(x, box.top, x, box.bottom, color, 0.6)


def x_axis(c: Canvas, box: Box, xs: Sequence[float], labels: Sequence[Sequence[str]], marks: bool = True,
           size: float = TICK_SIZE, thin: bool = True) -> float:
    """Tick marks and centred labels (each a list of lines) under the bottom edge; returns the y
    below the lowest label. When the labels are wider than their spacing (and ``thin``), only every
    k-th is written (always the last, the current quarter), so none overlaps another."""
    low = box.bottom + TICK
    widest = max((text_width(line, size) for lines in labels for line in lines), default=0.0)
    spacing = min((b - a for a, b in zip(xs, xs[1:])), default=box.width)
    every = max(1, math.ceil((widest + 2) / spacing)) if thin and spacing > 0 else 1
    last = len(xs) - 1
    for i, (x, lines) in enumerate(zip(xs, labels)):
        if marks:
            c.line(x, box.bottom, x, box.bottom + TICK, TICK_INK, 0.8)
        if (last - i) % every == 0:
            low = max(low, c.lines(x, box.bottom + TICK + 3.5, lines, size, anchor="middle", color=TICK_INK))
    return low


def label_size(labels: Sequence[Sequence[str]], spacing: float, size: float = TICK_SIZE, least: float = 6.5) -> float:
    """The font size (at most ``size``, at least ``least``) at which the widest label line fits
    ``spacing`` with a small gap."""
    widest = max((text_width(line, 1.0) for lines in labels for line in lines), default=1.0)
    return max(least, min(size, (spacing - 3) / widest))


def y_tick_width(labels: Iterable[str]) -> float:
    return max((text_width(t, TICK_SIZE) for t in labels), default=0.0)


def title(c: Canvas, x: float, text: str, y: float = 14.0) -> None:
    c.text(x, y, text, TITLE_SIZE)


def axis_label_left(c: Canvas, box: Box, text: str, x: float = 6.0) -> None:
    """A vertical axis label reading upwards, centred on the plot's height (glyphs right of ``x``)."""
    c.text(x + 0.76 * LABEL_SIZE, (box.top + box.bottom) / 2, text, LABEL_SIZE, anchor="middle", rotate=True)


def axis_label_bottom(c: Canvas, box: Box, text: str, y: float) -> float:
    """A horizontal axis label centred under the plot, its capitals' top at ``y``; returns its bottom."""
    c.text((box.left + box.right) / 2, y, text, LABEL_SIZE, anchor="middle", valign="top")
    return y + LABEL_SIZE


@dataclass(frozen=True)
class Key:
    """One legend entry: a line sample (colour, width, dash), a marker id, and/or a patch (fill,
    stroke, hatch url), then the label."""
    label: str
    line: tuple[str, float, str | None] | None = None
    marker: str | None = None
    patch: tuple[str, str | None, str | None] | None = None


SWATCH = 20.0


def legend_size(keys: Sequence[Key], ncols: int) -> tuple[list[float], float]:
    cols = [max(SWATCH + 5 + text_width(k.label, LEGEND_SIZE) for k in keys[i::ncols]) for i in range(ncols)]
    rows = math.ceil(len(keys) / ncols)
    return cols, rows * LEGEND_SIZE * 1.5


def legend(c: Canvas, keys: Sequence[Key], x: float, y: float, ncols: int = 1, align: str = "start",
           gid: str = "legend", backdrop: bool = False) -> float:
    """Entries in ``ncols`` columns from (x, y) (their top left; ``align`` "middle" centres the block on
    x, "end" ends it at x), on a translucent white ``backdrop`` when drawn over a plot; returns the y
    below the last row."""
    cols, height = legend_size(keys, ncols)
    gap = 14.0
    total = sum(cols) + gap * (ncols - 1)
    left = x - total / 2 if align == "middle" else x - total if align == "end" else x
    step = LEGEND_SIZE * 1.5
    c.open(gid)
    if backdrop:
        c.parts.append(f'<rect x="{n(left - 3)}" y="{n(y - 1)}" width="{n(total + 6)}" height="{n(height + 2)}" '
                       f'style="fill: #ffffff; opacity: 0.85"/>')
    for i, k in enumerate(keys):
        row, col = divmod(i, ncols)
        kx = left + sum(cols[:col]) + gap * col
        ky = y + row * step + step / 2
        if k.patch:
            fill, stroke, hatch = k.patch
            c.rect(kx + 2, ky - 3.5, SWATCH - 4, 7, fill, stroke=stroke)
            if hatch:
                c.rect(kx + 2, ky - 3.5, SWATCH - 4, 7, hatch)
        if k.line:
            color, width, dash = k.line
            c.line(kx, ky, kx + SWATCH, ky, color, width, dash)
        if k.marker:
            c.use(k.marker, kx + SWATCH / 2, ky)
        c.text(kx + SWATCH + 5, ky, k.label, LEGEND_SIZE, valign="middle")
    c.close()
    return y + height
