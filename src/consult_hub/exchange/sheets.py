"""Spreadsheets in and out: CSV (UTF-8 or GB18030) and XLSX, as rows of text.

Reading turns every cell into text as a person reads it in Excel (``420102`` rather than
``420102.0``, ``2024-03-01`` for a date cell), so that the importers parse one kind of
value whatever the file type. Writing puts a byte-order mark before CSV, so Excel opens
the Chinese headers correctly, and streams it row by row.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import PurePath
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

EXTENSIONS = (".csv", ".xlsx")
CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Excel's own limit; a bigger list goes out as CSV.
XLSX_MAX_ROWS = 1_048_575


class SheetUnreadable(Exception):
    """The file is not a spreadsheet we can read; the message says why, in Chinese."""


@dataclass
class Sheet:
    """The first worksheet: its header and the non-empty rows below it, with their row numbers."""

    header: list[str]
    rows: list[tuple[int, list[str]]]


def cell_text(value: Any) -> str:
    """A cell as text, the way Excel shows it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, datetime):
        if value.time() == time(0):
            return value.date().isoformat()
        return value.strftime("%Y-%m-%d %H:%M" if value.second == 0 else "%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float | Decimal):
        if value == int(value) and abs(value) < 1e15:
            return str(int(value))
        return format(value, "f").rstrip("0").rstrip(".") if isinstance(value, Decimal) \
            else repr(value)
    return str(value).strip()


def read_sheet(filename: str, data: bytes) -> Sheet:
    """Read a ``.csv`` or ``.xlsx`` file; raises SheetUnreadable."""
    suffix = PurePath(filename or "").suffix.lower()
    if suffix == ".csv":
        table = _csv_rows(data)
    elif suffix == ".xlsx":
        table = _xlsx_rows(data)
    else:
        raise SheetUnreadable("只能导入 .csv 或 .xlsx 文件")
    numbered = [(number, [undefuse(cell) for cell in row])
                for number, row in enumerate(table, start=1)]
    while numbered and not any(numbered[0][1]):
        numbered.pop(0)  # blank lines above the header
    if not numbered:
        raise SheetUnreadable("文件是空的:第一行应为列名")
    header_number, header = numbered[0]
    if header_number != 1:
        raise SheetUnreadable(f"第 1 行应为列名,但列名在第 {header_number} 行;请删去上面的空行")
    width = len(header)
    while width and not header[width - 1]:
        width -= 1
    rows = []
    for number, row in numbered[1:]:
        cells = (row + [""] * width)[:width]
        if any(cells) or any(row[width:]):
            rows.append((number, row if len(row) > width else cells))
    return Sheet([h for h in header[:width]], rows)


def _decode(data: bytes) -> str:
    """UTF-8 (with or without BOM); failing that GB18030, which Chinese Excel writes."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError:
        raise SheetUnreadable("无法识别文件编码:请另存为“CSV UTF-8”或 .xlsx") from None


def _csv_rows(data: bytes) -> list[list[str]]:
    text = _decode(data)
    if "\x00" in text:
        raise SheetUnreadable("这不是 CSV 文本文件;Excel 文件请保存为 .xlsx")
    try:
        return [[cell.strip() for cell in row] for row in csv.reader(io.StringIO(text, newline=""))]
    except csv.Error as exc:
        raise SheetUnreadable(f"CSV 格式有误:{exc}") from None


def _xlsx_rows(data: bytes) -> list[list[str]]:
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError):
        raise SheetUnreadable("无法打开这个 .xlsx 文件:请用 Excel 或 WPS 重新保存后再试") from None
    try:
        sheet = book.worksheets[0]
        return [[cell_text(value) for value in row] for row in sheet.iter_rows(values_only=True)]
    finally:
        book.close()


# -- writing ----------------------------------------------------------------------------------


FORMULA_STARTS = ("=", "+", "-", "@")


def defuse(value: Any) -> Any:
    """Text that a spreadsheet would run as a formula, quoted with an apostrophe (as Excel does).

    Importers take the apostrophe off again (``undefuse``), so an export re-imports unchanged.
    """
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) and not _is_number(value):
        return "'" + value
    return value


def undefuse(text: str) -> str:
    if text.startswith("'") and text[1:].startswith(FORMULA_STARTS):
        return text[1:]
    return text


def csv_stream(header: list[str], rows: Iterable[Iterable[Any]]) -> Iterator[bytes]:
    """The CSV in chunks of a few hundred rows, starting with a UTF-8 byte-order mark."""
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    out.write("\ufeff")
    writer.writerow(header)
    for count, row in enumerate(rows, start=1):
        writer.writerow(["" if c is None else defuse(c) for c in row])
        if count % 500 == 0:
            yield out.getvalue().encode("utf-8")
            out.seek(0)
            out.truncate()
    yield out.getvalue().encode("utf-8")


def csv_bytes(header: list[str], rows: Iterable[Iterable[Any]]) -> bytes:
    return b"".join(csv_stream(header, rows))


@dataclass
class SheetSpec:
    """One worksheet to write: a title, a header and rows of plain values."""

    title: str
    header: list[str]
    rows: Iterable[Iterable[Any]]
    widths: list[int] | None = None
    wrap: bool = False


def xlsx_bytes(sheets: list[SheetSpec]) -> bytes:
    """A workbook with one sheet per spec, written in streaming mode (little memory)."""
    book = Workbook(write_only=True)
    bold = Font(bold=True)
    for spec in sheets:
        sheet = book.create_sheet(spec.title[:31])
        widths = spec.widths or [max(8, min(40, 2 + 2 * len(h))) for h in spec.header]
        for index, width in enumerate(widths, start=1):
            sheet.column_dimensions[get_column_letter(index)].width = width
        sheet.freeze_panes = "A2"
        sheet.append([_bold_cell(sheet, h, bold) for h in spec.header])
        wrap = Alignment(wrap_text=True, vertical="top") if spec.wrap else None
        for count, row in enumerate(spec.rows, start=1):
            if count > XLSX_MAX_ROWS:
                break
            sheet.append([_plain_cell(sheet, v, wrap) for v in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _bold_cell(sheet: Any, value: str, font: Font) -> Any:
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(sheet, value=value)
    cell.font = font
    return cell


def _plain_cell(sheet: Any, value: Any, wrap: Alignment | None) -> Any:
    value = defuse(value)
    if wrap is None or not isinstance(value, str):
        return value
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(sheet, value=value)
    cell.alignment = wrap
    return cell


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
