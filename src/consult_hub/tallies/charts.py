"""Charts drawn on the server as inline SVG: no script, no CDN, nothing for the CSP to allow.

Each chart is drawn from a report ``Table`` (the one printed beside it), in a narrow viewBox
that the page scales to its width, so the lettering stays readable on a phone. Colours are
SVG presentation attributes, not ``style=``; every text is escaped.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from markupsafe import Markup, escape

from consult_hub.core.i18n import gettext as _
from consult_hub.tallies.tables import SHARE, Cell, Table

WIDTH = 340  # about a phone's width in CSS pixels, so text there is drawn near its size
# Bars on white: each at least 4.5:1 against the page, and different in lightness.
PALETTE = ("#a4161a", "#1f5fa8", "#b35c00")
# One colour per metric on every chart of a page: events red, resolved blue, raised orange.
METRIC_COLOURS = {"events_held": PALETTE[0], "issues_resolved": PALETTE[1],
                  "issues_raised": PALETTE[2]}
INK, MUTED, GRID = "#1f2328", "#59636e", "#d5d9de"
LEGEND_HEIGHT = 26


def render(table: Table, chart_id: str) -> Markup:
    """The chart of ``table`` as an ``<svg>``; empty markup for a table drawn without one."""
    if table.chart is None:
        return Markup("")
    if table.chart.style == "columns":
        return columns(table, chart_id)
    return bars(table, chart_id)


def _svg(chart_id: str, title: str, desc: str, height: float, body: Iterable[str]) -> Markup:
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {WIDTH} '
            f'{_n(height)}" width="100%" role="img" '
            f'aria-labelledby="{chart_id}-title {chart_id}-desc" focusable="false">'
            f'<title id="{chart_id}-title">{escape(title)}</title>'
            f'<desc id="{chart_id}-desc">{escape(desc)}</desc>')
    return Markup(head + "".join(body) + "</svg>")


def _n(value: float) -> str:
    """A coordinate without float noise."""
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _text(x: float, y: float, text: str, *, size: int = 12, fill: str = INK,
          anchor: str = "start", weight: str = "normal") -> str:
    return (f'<text x="{_n(x)}" y="{_n(y)}" font-size="{size}" fill="{fill}" '
            f'text-anchor="{anchor}" font-weight="{weight}">{escape(text)}</text>')


def _rect(x: float, y: float, width: float, height: float, fill: str) -> str:
    return (f'<rect x="{_n(x)}" y="{_n(y)}" width="{_n(max(width, 0))}" '
            f'height="{_n(max(height, 0))}" fill="{fill}"/>')


def _colours(table: Table) -> list[str]:
    series = table.chart.series
    return [METRIC_COLOURS.get(table.columns[i].metric or "", PALETTE[k])
            for k, i in enumerate(series)]


def _legend(names: list[str], colours: list[str]) -> tuple[list[str], float]:
    """Swatches and names in rows across the top; returns the drawing and its height."""
    parts, x, row = [], 0.0, 0
    for name, colour in zip(names, colours, strict=True):
        # The swatch, the name (CJK characters square, others about half as wide), a gap.
        width = 17 + sum(13 if ord(ch) > 0x2E80 else 7 for ch in name) + 14
        if x and x + width > WIDTH:
            x, row = 0.0, row + 1
        parts.append(_rect(x, row * 20 + 6, 12, 12, colour))
        parts.append(_text(x + 17, row * 20 + 17, name, size=13))
        x += width
    return parts, (row + 1) * 20 + 6


def _series_names(table: Table) -> list[str]:
    return [str(table.columns[i].label) for i in table.chart.series]


def _describe(table: Table, kind: str) -> str:
    return _("%(kind)s；各项数字见表格“%(table)s”。", kind=kind, table=str(table.title))


def nice_top(value: float) -> tuple[float, float]:
    """A round top for the axis above ``value`` and the step between its gridlines."""
    if value <= 0:
        return 4.0, 1.0
    raw = value / 4
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    step = max(step, 1.0)
    return step * math.ceil(value / step), step


def columns(table: Table, chart_id: str) -> Markup:
    """Vertical bars, one group per row (month), one bar per chosen column."""
    names = _series_names(table)
    series = table.chart.series
    colours = _colours(table)
    parts, legend = _legend(names, colours)
    top, bottom, left, right = legend + 10, legend + 170, 34, WIDTH - 2
    height = bottom + 22
    values = [[row[i].value or 0 for i in series] for row in table.rows]
    axis_top, step = nice_top(max((v for group in values for v in group), default=0))
    scale = (bottom - top) / axis_top
    tick = 0.0
    while tick <= axis_top + 1e-9:
        y = bottom - tick * scale
        parts.append(f'<line x1="{left}" x2="{right}" y1="{_n(y)}" y2="{_n(y)}" '
                     f'stroke="{GRID}" stroke-width="1"/>')
        parts.append(_text(left - 5, y + 4, f"{tick:,.0f}", size=12, fill=MUTED, anchor="end"))
        tick += step
    slot = (right - left) / max(len(table.rows), 1)
    bar = slot * 0.76 / max(len(series), 1)
    for index, row in enumerate(table.rows):
        x0 = left + index * slot + slot * 0.12
        for k, value in enumerate(values[index]):
            parts.append(_rect(x0 + k * bar, bottom - value * scale, bar - 1, value * scale,
                               colours[k]))
        label = str(row[0].value).removesuffix("月") if len(table.rows) > 6 else str(row[0].value)
        parts.append(_text(left + (index + 0.5) * slot, bottom + 17, label, size=13,
                           anchor="middle"))
    parts.append(f'<line x1="{left}" x2="{right}" y1="{bottom}" y2="{bottom}" '
                 f'stroke="{MUTED}" stroke-width="1"/>')
    return _svg(chart_id, str(table.title), _describe(table, _("柱状图，横轴为月份")), height,
                parts)


def bars(table: Table, chart_id: str) -> Markup:
    """Horizontal bars: each row's label on its own line, then one bar per chosen column."""
    names = _series_names(table)
    series = table.chart.series
    cells: list[list[Cell]] = [[row[i] for i in series] for row in table.rows]
    shares = all(table.columns[i].kind == SHARE for i in series)
    largest = 1.0 if shares else max((c.value or 0 for group in cells for c in group), default=0)
    room = WIDTH - 60  # the value is written after the bar
    scale = room / largest if largest else 0
    colours = _colours(table)
    parts, y = _legend(names, colours) if len(series) > 1 else ([], 0.0)
    for row, group in zip(table.rows, cells, strict=True):
        parts.append(_text(0, y + 15, str(row[0].value), size=14, weight="600"))
        y += 21
        for k, cell in enumerate(group):
            length = (cell.value or 0) * scale
            parts.append(_rect(0, y, length, 15, colours[k]))
            parts.append(_text(length + 5, y + 13, cell.text, size=13))
            y += 19
        y += 9
    return _svg(chart_id, str(table.title), _describe(table, _("条形图")), y, parts)
