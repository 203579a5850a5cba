"""The report charts as PNG images, for the Word download (tallies/word.py).

The pages draw their charts as inline SVG (tallies/charts.py); Word needs a raster image, so
the same ``Table`` and ``ChartSpec`` are drawn again here with Pillow, in the same colours:
``columns`` (bars by month) and ``bars`` (one horizontal bar per row). Chinese labels need a
CJK font: the first of ``CHART_FONT`` (config) and the usual system paths that exists; without
one, Pillow's own font draws what it can.
"""

from __future__ import annotations

import io
import math
import zlib
from functools import lru_cache
from pathlib import Path

from flask import current_app, has_app_context
from PIL import Image, ImageDraw, ImageFont

from consult_hub.tallies.charts import GRID, INK, METRIC_COLOURS, MUTED, PALETTE, nice_top
from consult_hub.tallies.tables import SHARE, Table

FONT_PATHS = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/System/Library/Fonts/PingFang.ttc",
    "C:/Windows/Fonts/msyh.ttc",
)
WIDTH = 1400  # pixels: 16 cm at about 220 dpi
SCALE = 2.0


def _font_path() -> str | None:
    configured = current_app.config.get("CHART_FONT") if has_app_context() else None
    for path in ((configured,) if configured else ()) + FONT_PATHS:
        if path and Path(path).is_file():
            return path
    return None


@lru_cache(maxsize=32)
def _font(path: str | None, size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    if path:
        try:
            return ImageFont.truetype(path, size)
        except OSError:
            pass
    return ImageFont.load_default(size)


def _colours(table: Table) -> list[str]:
    return [METRIC_COLOURS.get(table.columns[i].metric or "", PALETTE[k % len(PALETTE)])
            for k, i in enumerate(table.chart.series)]


def render_png(table: Table) -> bytes | None:
    """The chart of ``table`` as PNG bytes; None for a table drawn without one."""
    if table.chart is None:
        return None
    path = _font_path()
    image = (_columns(table, path) if table.chart.style == "columns" else _bars(table, path))
    out = io.BytesIO()
    # Run-length deflate at level 1: the charts are long runs of flat colour, so this stays
    # within 5% of the smallest. A year's 11 charts (9 Mpx): 100 ms for 353 KiB; optimize=True
    # took 460 ms for 336 KiB, the default level 155 ms for 343 KiB. What is left is Pillow's
    # per-row filter choice, which it always makes for RGB. The pixels are the same either way.
    image.save(out, format="PNG", compress_level=1, compress_type=zlib.Z_RLE)
    return out.getvalue()


def _legend(draw: ImageDraw.ImageDraw, table: Table, colours: list[str], path: str | None,
            y: int) -> int:
    font = _font(path, 30)
    x = 0
    for k, i in enumerate(table.chart.series):
        name = str(table.columns[i].label)
        width = 34 + int(draw.textlength(name, font=font)) + 40
        if x and x + width > WIDTH:
            x, y = 0, y + 44
        draw.rectangle((x, y + 6, x + 24, y + 30), fill=colours[k])
        draw.text((x + 34, y), name, font=font, fill=INK)
        x += width
    return y + 50


def _columns(table: Table, path: str | None) -> Image.Image:
    """Grouped vertical bars, one group per row (month)."""
    series, colours = table.chart.series, _colours(table)
    height = 760
    image = Image.new("RGB", (WIDTH, height), "white")
    draw = ImageDraw.Draw(image)
    top = _legend(draw, table, colours, path, 0) + 20
    bottom, left, right = height - 60, 110, WIDTH - 10
    values = [[row[i].value or 0 for i in series] for row in table.rows]
    axis_top, step = nice_top(max((v for group in values for v in group), default=0))
    scale = (bottom - top) / axis_top
    small = _font(path, 26)
    ticks = int(math.floor(axis_top / step + 1e-9))
    for n in range(ticks + 1):
        tick = n * step
        y = bottom - tick * scale
        draw.line((left, y, right, y), fill=GRID, width=2)
        label = f"{tick:,.0f}"
        draw.text((left - 12 - draw.textlength(label, font=small), y - 16), label,
                  font=small, fill=MUTED)
    slot = (right - left) / max(len(table.rows), 1)
    bar = slot * 0.76 / max(len(series), 1)
    label_font = _font(path, 26 if len(table.rows) > 6 else 30)
    for index, row in enumerate(table.rows):
        x0 = left + index * slot + slot * 0.12
        for k, value in enumerate(values[index]):
            if value:
                draw.rectangle((x0 + k * bar, bottom - value * scale, x0 + (k + 1) * bar - 2,
                                bottom), fill=colours[k])
        label = str(row[0].value)
        if len(table.rows) > 6:
            label = label.removesuffix("月")
        width = draw.textlength(label, font=label_font)
        draw.text((left + (index + 0.5) * slot - width / 2, bottom + 12), label,
                  font=label_font, fill=INK)
    draw.line((left, bottom, right, bottom), fill=MUTED, width=2)
    return image


def _bars(table: Table, path: str | None) -> Image.Image:
    """Horizontal bars: each row's label, then one bar per chosen column with its value."""
    series, colours = table.chart.series, _colours(table)
    cells = [[row[i] for i in series] for row in table.rows]
    shares = all(table.columns[i].kind == SHARE for i in series)
    largest = 1.0 if shares else max((c.value or 0 for group in cells for c in group), default=0)
    label_font, value_font = _font(path, 30), _font(path, 28)
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    label_width = max((int(probe.textlength(str(row[0].value), font=label_font))
                       for row in table.rows), default=0) + 30
    legend = len(series) > 1
    row_height = 44 * len(series) + 16
    height = (60 if legend else 10) + row_height * len(table.rows) + 10
    image = Image.new("RGB", (WIDTH, height), "white")
    draw = ImageDraw.Draw(image)
    y = _legend(draw, table, colours, path, 0) if legend else 10
    room = WIDTH - label_width - 160
    scale = room / largest if largest else 0
    for row, group in zip(table.rows, cells, strict=True):
        draw.text((0, y + 4), str(row[0].value), font=label_font, fill=INK)
        for k, cell in enumerate(group):
            length = (cell.value or 0) * scale
            if length:
                draw.rectangle((label_width, y + 4, label_width + length, y + 36),
                               fill=colours[k])
            draw.text((label_width + length + 10, y + 4), cell.text, font=value_font, fill=INK)
            y += 44
        y += 16
    return image
