"""XLSX through openpyxl, for ``core/sheets.py``: reading a worksheet's rows as text and
writing typed workbooks.

Apart from the rest of ``sheets`` so that openpyxl (and numpy, which it imports where
installed) loads at the first spreadsheet, not at every process's start: 0.11 s of each
gunicorn worker, scheduler and command.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Generator
from datetime import date, datetime, time, tzinfo
from decimal import Decimal
from functools import lru_cache
from itertools import chain, islice
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ERROR_CODES, ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter, range_boundaries
from openpyxl.worksheet._read_only import ReadOnlyWorksheet
from openpyxl.worksheet._reader import DATA_TAG, DIMENSION_TAG
from openpyxl.xml.functions import iterparse

from consult_hub.core.sheets import (
    DATE_FORMAT,
    DATETIME_FORMAT,
    MAX_COLUMNS,
    WIDTH_SAMPLE,
    XLSX_MAX_ROWS,
    Formatted,
    SheetSpec,
    SheetUnreadable,
    cell_text,
    column_widths,
    local_moment,
)


def rows(data: bytes) -> Generator[list[str], None, None]:
    """Rows of the first worksheet, streamed by openpyxl's read-only reader (the archive's
    size already checked: ``sheets._check_unpacked``; openpyxl reads the shared strings and
    styles whole, rows it streams). The sheet's own size claim is dropped
    (``reset_dimensions``): a forged ``A1:XFD1048576`` would otherwise pad every row to
    16,384 cells and add a million empty rows.
    """
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError):
        raise SheetUnreadable("无法打开这个 .xlsx 文件：请用 Excel 或 WPS 重新保存后再试") from None
    try:
        sheet = book.worksheets[0]
        sheet.reset_dimensions()
        for number, row in enumerate(sheet.iter_rows(), start=1):
            if len(row) > MAX_COLUMNS:
                if any(cell.value is not None for cell in row[MAX_COLUMNS:]):
                    raise SheetUnreadable(
                        f"第 {number} 行在第 {MAX_COLUMNS} 列以后还有内容；"
                        f"一次最多读 {MAX_COLUMNS} 列")
                row = row[:MAX_COLUMNS]  # cells that are formatted but empty
            yield [_shown(cell) for cell in row]
    except (KeyError, OSError, ValueError, SyntaxError, zipfile.BadZipFile):
        # A part that fails its CRC (inflated past its claimed size), or broken XML.
        raise SheetUnreadable("无法读取这个 .xlsx 文件：请用 Excel 或 WPS 重新保存后再试") from None
    finally:
        book.close()


def _shown(cell: Any) -> str:
    """A read cell as text; a moment at midnight keeps its time where the cell shows one.

    openpyxl gives every date cell as a datetime, so ``cell_text`` shows one at midnight
    as a bare date (what Excel shows for a date cell); an event that starts at 00:00,
    exported as a date-and-time cell, must still read back as a time.
    """
    value = cell.value
    if isinstance(value, datetime) and value.time() == time(0) \
            and _shows_time(cell.number_format or ""):
        return value.strftime("%Y-%m-%d %H:%M")
    return cell_text(value)


@lru_cache(maxsize=64)
def _shows_time(number_format: str) -> bool:
    """Whether an Excel number format shows hours (quoted text and [colours] aside)."""
    bare = re.sub(r'"[^"]*"|\[[^\]]*\]|\\.', "", number_format)
    return "h" in bare.lower()


def _size_from_head(self: ReadOnlyWorksheet) -> None:
    """openpyxl's ``_get_size``, stopping where the rows begin.

    openpyxl looks for ``<dimension>`` with end events, and ``</sheetData>`` ends only after
    the last row, so a sheet without one (openpyxl's own write-only files: every export of
    this site) was parsed whole when the workbook opened: 1.3 s for 200,000 rows, before
    the first row could be counted. ``<dimension>`` precedes ``<sheetData>`` in the schema,
    so looking only up to its start gives the same answer.
    """
    with self._get_source() as source:
        for _event, element in iterparse(source, events=("start",)):
            if element.tag == DIMENSION_TAG:
                ref = element.get("ref")
                if ref:
                    (self._min_column, self._min_row, self._max_column,
                     self._max_row) = range_boundaries(ref)
                return
            if element.tag == DATA_TAG:
                return


# For every read-only workbook in the process (this module's are the only ones): the
# answer is the same, only found without reading the rows (checked with openpyxl 3.1.5).
ReadOnlyWorksheet._get_size = _size_from_head


def workbook(sheets: list[SheetSpec]) -> bytes:
    """A workbook with one sheet per spec, written in streaming mode (little memory).

    Every spreadsheet this site writes goes through here or ``csv_stream`` (exports, report
    downloads, open data, import templates). Text is always a string cell (never a formula
    or an error value, whatever it starts with), so it needs no apostrophe: a platform named
    ``=HYPERLINK(…)`` shows as that text and never runs.
    """
    book = Workbook(write_only=True)
    bold = Font(bold=True)
    zone = _site_zone()
    for spec in sheets:
        sheet = book.create_sheet(spec.title[:31])
        rows = iter(spec.rows)
        sample = list(islice(rows, WIDTH_SAMPLE))
        foot = list(spec.foot)
        widths = spec.widths or column_widths(spec.header, chain(sample, foot))
        for index, width in enumerate(widths, start=1):
            sheet.column_dimensions[get_column_letter(index)].width = width
        sheet.freeze_panes = spec.freeze
        sheet.append([_cell(sheet, h, None, bold, zone) for h in spec.header])
        wrap = Alignment(wrap_text=True, vertical="top") if spec.wrap else None
        for count, row in enumerate(chain(sample, rows), start=1):
            if count > XLSX_MAX_ROWS:
                break
            sheet.append([_cell(sheet, v, wrap, None, zone) for v in row])
        for row in foot:
            sheet.append([_cell(sheet, v, None, bold, zone) for v in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()




def _cell(sheet: Any, value: Any, wrap: Alignment | None, font: Font | None,
          zone: tzinfo | None) -> Any:
    """One typed cell; a plain value where it needs no style and no forced type (cheaper)."""
    number_format = None
    if isinstance(value, Formatted):
        value, number_format = value.value, value.number_format
    if value == "":
        value = None
    elif isinstance(value, datetime):
        value, number_format = local_moment(value, zone), number_format or DATETIME_FORMAT
    elif isinstance(value, date):
        number_format = number_format or DATE_FORMAT
    elif isinstance(value, str):
        if ILLEGAL_CHARACTERS_RE.search(value):
            value = ILLEGAL_CHARACTERS_RE.sub("", value)  # XML cannot carry them
    elif value is not None and not isinstance(value, bool | int | float | Decimal):
        value = str(value)  # lazy strings, enums: their text
    # openpyxl infers a formula from a leading "=" and an error value from "#N/A" and its
    # kind; text is text, so such a value gets an explicit string type.
    forced = isinstance(value, str) and (value.startswith("=") or value in ERROR_CODES)
    wrapped = wrap is not None and isinstance(value, str)
    if not wrapped and font is None and number_format is None and not forced:
        return value
    cell = WriteOnlyCell(sheet, value=value)
    if forced:
        cell.data_type = "s"
    if wrapped:
        cell.alignment = wrap
    if font is not None:
        cell.font = font
    if number_format is not None and value is not None:
        cell.number_format = number_format
    return cell


def _site_zone() -> tzinfo | None:
    """The site's zone, looked up once per workbook (None outside an app: then per moment)."""
    from flask import has_app_context

    if not has_app_context():
        return None
    from consult_hub.core.timefmt import local_zone

    return local_zone()
