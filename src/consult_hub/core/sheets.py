"""Spreadsheets in and out: CSV (UTF-8 or GB18030) and XLSX.

Reading turns every cell into text as a person reads it in Excel (``420102`` rather than
``420102.0``, ``2024-03-01`` for a date cell), so that the importers parse one kind of
value whatever the file type. Writing puts a byte-order mark before CSV, so Excel opens
the Chinese headers correctly, and streams it row by row.

Written XLSX cells carry real types: a date is a date cell, a moment a date-and-time cell
(the wall-clock time in the site's zone, to the minute: Excel has no time zones), a number
a number cell, and text a string cell, which a spreadsheet never runs as a formula.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Generator, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, tzinfo
from decimal import Decimal
from pathlib import PurePath
from typing import Any

EXTENSIONS = (".csv", ".xlsx")
CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Excel's own limit; a bigger list goes out as CSV.
XLSX_MAX_ROWS = 1_048_575
# Importers have at most a few dozen columns; a row whose last cell sits in column XFD
# would otherwise cost a 16,384-cell list per row.
MAX_COLUMNS = 200
# What an XLSX may unpack to, all parts together: 4 KiB of XML per allowed row (a
# 14-column platform row from an export is about 0.6 KiB, a problem row with a long
# description 2-3 KiB), never under 16 MiB: 80 MiB at the default 20,000 rows. openpyxl
# reads the shared strings and styles whole, so this bounds its memory; rows it streams.
UNPACKED_PER_ROW = 4096
UNPACKED_FLOOR = 16 * 1024 * 1024
MAX_PARTS = 1000


class SheetUnreadable(Exception):
    """The file is not a spreadsheet we can read; the message says why, in Chinese."""


class SheetTooLong(SheetUnreadable):
    """More data rows than the import limit (IMPORT_MAX_ROWS): refused whole, nothing read on."""

    def __init__(self, limit: int, unpacked: bool = False) -> None:
        if unpacked:
            message = (f"这个 .xlsx 文件解压后过大，超出 {limit:,} 行所需；"
                       f"一次最多导入 {limit:,} 行，请分成几个文件导入")
        else:
            message = f"文件超过 {limit:,} 行数据；一次最多导入 {limit:,} 行，请分成几个文件导入"
        super().__init__(message)
        self.limit = limit


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


def read_sheet(filename: str, data: bytes, max_rows: int | None = None) -> Sheet:
    """Read a ``.csv`` or ``.xlsx`` file; raises SheetUnreadable (SheetTooLong past ``max_rows``).

    Rows are streamed, never the whole sheet at once, and reading stops at the first data
    row past ``max_rows``: a 200,000-row sheet is refused after reading 20,001 of them
    (about half a second) instead of taking a worker past gunicorn's 30 s timeout.
    """
    suffix = PurePath(filename or "").suffix.lower()
    if suffix == ".csv":
        table = _csv_rows(data)
    elif suffix == ".xlsx":
        table = _xlsx_rows(data, max_rows)
    else:
        raise SheetUnreadable("只能导入 .csv 或 .xlsx 文件")
    try:
        return _numbered(table, max_rows)
    finally:
        table.close()  # an XLSX reader closes its archive


def _numbered(table: Iterator[list[str]], max_rows: int | None) -> Sheet:
    header: list[str] | None = None
    width = 0
    rows: list[tuple[int, list[str]]] = []
    for number, raw in enumerate(table, start=1):
        row = [undefuse(cell) for cell in raw]
        if header is None:
            if not any(row):
                continue  # blank lines above the header
            if number != 1:
                raise SheetUnreadable(f"第 1 行应为列名，但列名在第 {number} 行；请删去上面的空行")
            width = len(row)
            while width and not row[width - 1]:
                width -= 1
            header = row[:width]
            continue
        cells = (row + [""] * width)[:width]
        if any(cells) or any(row[width:]):
            rows.append((number, row if len(row) > width else cells))
            if max_rows is not None and len(rows) > max_rows:
                raise SheetTooLong(max_rows)
    if header is None:
        raise SheetUnreadable("文件是空的：第一行应为列名")
    return Sheet(header, rows)


def _decode(data: bytes) -> str:
    """UTF-8 (with or without BOM); failing that GB18030, which Chinese Excel writes."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError:
        raise SheetUnreadable("无法识别文件编码：请另存为“CSV UTF-8”或 .xlsx") from None


def _csv_rows(data: bytes) -> Generator[list[str], None, None]:
    """Rows one at a time (the text is at most MAX_CONTENT_LENGTH; the rows are not kept)."""
    text = _decode(data)
    if "\x00" in text:
        raise SheetUnreadable("这不是 CSV 文本文件；Excel 文件请保存为 .xlsx")
    try:
        for row in csv.reader(io.StringIO(text, newline="")):
            yield [cell.strip() for cell in row]
    except csv.Error as exc:
        raise SheetUnreadable(f"CSV 格式有误：{exc}") from None


def _xlsx_rows(data: bytes, max_rows: int | None) -> Generator[list[str], None, None]:
    """Rows of the first worksheet (``core/xlsx.py``), once the archive's size is checked.

    An XLSX is a ZIP of XML, so a small upload can claim a lot: ``_check_unpacked`` refuses
    parts larger than the row limit can need, before openpyxl inflates anything.
    """
    _check_unpacked(data, max_rows)
    from consult_hub.core import xlsx  # openpyxl: imported at the first spreadsheet

    yield from xlsx.rows(data)


def _check_unpacked(data: bytes, max_rows: int | None) -> None:
    """Refuse an archive whose parts would unpack to more than the row limit can need.

    The sizes are the ZIP's own claims, but Python's zipfile never inflates a part past its
    claimed size (it stops there and fails the CRC check), so the claims are a real bound.
    """
    rows = max_rows if max_rows is not None else XLSX_MAX_ROWS
    limit = max(UNPACKED_FLOOR, rows * UNPACKED_PER_ROW)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            sizes = [info.file_size for info in archive.infolist()]
    except (zipfile.BadZipFile, OSError, ValueError):
        raise SheetUnreadable("无法打开这个 .xlsx 文件：请用 Excel 或 WPS 重新保存后再试") from None
    if len(sizes) > MAX_PARTS or sum(sizes) > limit:
        raise SheetTooLong(max_rows if max_rows is not None else XLSX_MAX_ROWS, unpacked=True)


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
    """The CSV in chunks of a few hundred rows, starting with a UTF-8 byte-order mark.

    Dates and moments are written as the XLSX shows them (``2024-03-01``, ``2024-03-01 14:30``
    in the site's zone) and text that a spreadsheet would run is defused: a CSV cell has no
    type, so Excel would read ``=HYPERLINK(…)`` as a formula.
    """
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    out.write("\ufeff")
    writer.writerow([defuse(h) for h in header])
    for count, row in enumerate(rows, start=1):
        writer.writerow([_csv_cell(c) for c in row])
        if count % 500 == 0:
            yield out.getvalue().encode("utf-8")
            out.seek(0)
            out.truncate()
    yield out.getvalue().encode("utf-8")


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return f"{local_moment(value):%Y-%m-%d %H:%M}"
    if isinstance(value, date):
        return value.isoformat()
    return defuse(value)


def csv_bytes(header: list[str], rows: Iterable[Iterable[Any]]) -> bytes:
    return b"".join(csv_stream(header, rows))


def local_moment(value: datetime, zone: tzinfo | None = None) -> datetime:
    """A moment as naive wall-clock time in the site's zone (``zone``, else the app's), to the
    minute (what files hold).

    Excel stores no time zone; an aware value is converted, a naive one is taken as local.
    """
    if value.tzinfo is not None:
        if zone is None:
            from consult_hub.core.timefmt import local_zone

            zone = local_zone()
        value = value.astimezone(zone)
    return value.replace(tzinfo=None, second=0, microsecond=0)


@dataclass(frozen=True)
class Formatted:
    """A number with Excel's number format (``"0.0%"``, ``"#,##0"``), for ``xlsx_bytes``."""

    value: Any
    number_format: str


@dataclass
class SheetSpec:
    """One worksheet to write: a title, a header and rows of plain values (or ``Formatted``).

    Values are written by type: ``str`` as text, ``int``/``float``/``Decimal`` as numbers,
    ``date`` and ``datetime`` as date cells (``local_moment``); ``None`` and ``""`` leave the
    cell empty. ``foot`` rows (totals) follow the rows in bold; ``freeze`` is the first cell
    that scrolls. ``widths`` overrides the column widths, which otherwise fit the header,
    the first ``WIDTH_SAMPLE`` rows and the foot.
    """

    title: str
    header: list[str]
    rows: Iterable[Iterable[Any]]
    widths: list[int] | None = None
    wrap: bool = False
    foot: Iterable[Iterable[Any]] = ()
    freeze: str = "A2"


DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
# Column widths, in Excel's units (about one Latin character; a CJK character takes two).
MIN_WIDTH, MAX_WIDTH, WIDTH_PADDING = 6, 50, 2
# Widths are measured on this many rows, kept in memory until the columns are set (a
# write-only sheet must have its widths before its first row); the rest stream past.
WIDTH_SAMPLE = 1000
# East Asian wide and full-width characters, which Excel draws about two units wide.
_WIDE = re.compile("[\u1100-\u115f\u2e80-\u303e\u3041-\u33ff\u3400-\u4dbf\u4e00-\u9fff"
                   "\ua000-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60"
                   "\uffe0-\uffe6\U00020000-\U0003fffd]")


def xlsx_bytes(sheets: list[SheetSpec]) -> bytes:
    """A workbook with one sheet per spec (``core/xlsx.py``: openpyxl, imported at the first
    spreadsheet)."""
    from consult_hub.core import xlsx

    return xlsx.workbook(sheets)


def column_widths(header: list[str], rows: Iterable[Iterable[Any]]) -> list[int]:
    """Widths that fit the header and ``rows`` (the longest line of each), within bounds."""
    widths = [display_width(h) for h in header]
    for row in rows:
        for index, value in enumerate(row):
            width = display_width(value)
            if index >= len(widths):
                widths.append(width)
            elif width > widths[index]:
                widths[index] = width
    return [min(MAX_WIDTH, max(MIN_WIDTH, w + WIDTH_PADDING)) for w in widths]


def display_width(value: Any) -> int:
    """About how many units wide Excel shows ``value`` (CJK characters count double)."""
    if value is None:
        return 0
    if isinstance(value, Formatted):
        return display_width(_formatted_text(value))
    if isinstance(value, datetime):
        return 16  # 2024-03-01 14:30
    if isinstance(value, date):
        return 10
    text = value if isinstance(value, str) else str(value)
    longest = 0
    for line in text.split("\n") if "\n" in text else (text,):
        line = line[:MAX_WIDTH]  # past this the column is at its widest anyway
        width = len(line) if line.isascii() else len(line) + len(_WIDE.findall(line))
        longest = max(longest, width)
    return longest


def _formatted_text(value: Formatted) -> str:
    """A number about as its number format shows it (``0.0%``, ``#,##0``), for widths."""
    number, pattern = value.value, value.number_format
    if number is None:
        return ""
    decimals = len(pattern.split(".", 1)[1].rstrip("%")) if "." in pattern else 0
    if pattern.endswith("%"):
        return f"{number * 100:.{decimals}f}%"
    return f"{number:{',' if ',' in pattern else ''}.{decimals}f}"


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
