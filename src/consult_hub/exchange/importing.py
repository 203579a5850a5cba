"""The import engine: read a spreadsheet, check every row, then write all of it or nothing.

Each kind (platforms, members, events, problems) is an ``Importer`` with its columns, a
``check`` that validates every row against lookups loaded up front (dicts of codes → ids,
a handful of queries whatever the file's size) and returns a plan, and a ``write`` that
carries the plan out with bulk INSERT/UPDATE statements. ``run_import`` checks first and
writes only when no row has an error; it flushes but never commits: the caller commits once
(or rolls back, for a dry run or a failure), so an import is one transaction.

Rows are matched to existing records by their external code (platforms.code, members.code,
events.code, issues.reference), so importing the same file again updates instead of adding,
and an unchanged file changes nothing.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm.exc import StaleDataError

from consult_hub.audit.models import AuditLog
from consult_hub.audit.operations import diff, record
from consult_hub.auth.models import User
from consult_hub.auth.scopes import can_manage_district
from consult_hub.core.db import utcnow
from consult_hub.core.prose import with_html
from consult_hub.core.sheets import Sheet, SheetTooLong, SheetUnreadable, read_sheet
from consult_hub.core.timefmt import local_today
from consult_hub.exchange.cells import CellError, Parser, text
from consult_hub.extensions import db

# Enough to fix a file in one go; more would bury the first message.
MAX_ERRORS = 200
# Rows per IN (...) look-up: well under every database's limit on bound parameters.
CHUNK = 500


@dataclass(frozen=True)
class Column:
    """One column of an import file."""

    key: str
    header: str  # the column's name in files: Chinese, whatever the reader's language
    help: Any  # what goes in (translatable), for the upload page and the template
    parse: Parser = text(200)
    required: bool = False
    aliases: tuple[str, ...] = ()
    allowed: str = ""
    example: str = ""
    # Written by exports for people to read (a platform's name beside its code, …);
    # accepted in an import file and ignored, so an export can be imported back.
    ignored: bool = False


@dataclass(frozen=True)
class RowError:
    row: int | None  # as in the spreadsheet: the header is row 1
    column: str | None  # the column's name as written in the file
    message: str

    def __str__(self) -> str:
        if self.row is None:
            return self.message
        if self.column is None:
            return f"第 {self.row} 行：{self.message}"
        return f"第 {self.row} 行「{self.column}」：{self.message}"


class ImportRefused(Exception):
    """Nothing was written; ``errors`` says which rows and columns to fix."""

    def __init__(self, errors: list[RowError], more: int = 0, too_large: bool = False) -> None:
        super().__init__("\n".join(str(e) for e in errors))
        self.errors = errors
        self.more = more  # errors left out after MAX_ERRORS
        self.too_large = too_large  # past IMPORT_MAX_ROWS: the page answers 413, not 422

    def lines(self) -> list[str]:
        lines = [str(e) for e in self.errors]
        if self.more:
            lines.append(f"……另有 {self.more} 处错误未列出")
        return lines


@dataclass
class ImportReport:
    kind: str
    label: Any
    filename: str
    total: int
    created: int
    updated: int
    unchanged: int
    dry_run: bool = False
    areas_created: int = 0  # streets and communities added for platforms

    def summary(self) -> str:
        """The counts as the command line prints them (the page words them in its language)."""
        return f"新增 {self.created}，更新 {self.updated}，未变 {self.unchanged}"


@dataclass
class Row:
    number: int
    values: dict[str, Any]  # parsed values of the columns present in the file; None when empty


@dataclass
class Context:
    """What every check and write needs: who imports, when, the file's columns, the errors."""

    user: User | None  # None: the command line, which may import into any district
    now: datetime
    headers: dict[str, str]  # column key → its name as written in the file
    columns: dict[str, Column]
    errors: list[RowError] = field(default_factory=list)
    more_errors: int = 0
    summary: AuditLog | None = None  # the import's audit row; per-record rows copy its who/where
    bad_rows: set[int] = field(default_factory=set)

    @cached_property
    def today(self) -> date:
        return local_today(self.now)

    @property
    def actor_id(self) -> int | None:
        return self.user.id if self.user is not None else None

    def has(self, key: str) -> bool:
        """Whether the file has this column (an absent column leaves existing values alone)."""
        return key in self.headers

    def error(self, row: Row | int | None, key: str | None, message: str) -> None:
        number = row.number if isinstance(row, Row) else row
        if number is not None:
            self.bad_rows.add(number)
        if len(self.errors) >= MAX_ERRORS:
            self.more_errors += 1
            return
        column = None
        if key is not None:
            column = self.headers.get(key) or self.columns[key].header
        self.errors.append(RowError(number, column, message))

    def failed(self, row: Row) -> bool:
        """Whether this row has an error so far (then it is not planned for writing)."""
        return row.number in self.bad_rows

    def may_manage(self, district_id: int | None) -> bool:
        return self.user is None or can_manage_district(self.user, district_id)


@dataclass
class Outcome:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    areas_created: int = 0


class Importer:
    """One kind of record: its columns, its checks and its writes (see the subclasses)."""

    kind = ""
    label: Any = ""  # 平台, 委员, 活动, 问题 (translatable)
    columns: tuple[Column, ...] = ()

    def check(self, rows: list[Row], ctx: Context) -> Any:
        """Validate every row (errors go to ``ctx``); return what ``write`` needs."""
        raise NotImplementedError

    def write(self, plan: Any, ctx: Context) -> Outcome:
        """Carry out a plan that passed its checks; flush, do not commit."""
        raise NotImplementedError

    def column(self, key: str) -> Column:
        return next(c for c in self.columns if c.key == key)


# Marks a header may carry ("反映人姓名（不公开）"), folded like the header itself: NFKC turns
# the full-width brackets into ASCII ones, so an unfolded mark would never match.
HEADER_MARKS = tuple(unicodedata.normalize("NFKC", mark)
                     for mark in ("*", "（必填）", "（选填）", "（不公开）", " "))


def normalise_header(name: str) -> str:
    folded = unicodedata.normalize("NFKC", name or "").strip().lower()
    for mark in HEADER_MARKS:
        folded = folded.replace(mark, "")
    return folded


def map_header(importer: Importer, header: Sequence[str],
               errors: list[RowError]) -> dict[int, Column]:
    """Which column each position holds; unknown, repeated and missing columns are errors."""
    names: dict[str, Column] = {}
    for column in importer.columns:
        for name in (column.header, column.key, *column.aliases):
            names[normalise_header(name)] = column
    mapping: dict[int, Column] = {}
    seen: dict[str, str] = {}
    for index, name in enumerate(header):
        if not name.strip():
            errors.append(RowError(1, None, f"第 {index + 1} 列没有列名"))
            continue
        column = names.get(normalise_header(name))
        if column is None:
            errors.append(RowError(1, name, "不认识这个列名（可用的列名见导入模板）"))
        elif column.key in seen:
            errors.append(RowError(1, name, f"与「{seen[column.key]}」是同一列，出现了两次"))
        else:
            seen[column.key] = name
            mapping[index] = column
    for column in importer.columns:
        if column.required and column.key not in seen:
            errors.append(RowError(1, None, f"缺少必填列「{column.header}」"))
    return mapping


def parse_rows(sheet: Sheet, mapping: dict[int, Column], ctx: Context) -> list[Row]:
    rows = []
    width = len(sheet.header)
    for number, cells in sheet.rows:
        values: dict[str, Any] = {}
        for index, column in mapping.items():
            if column.ignored:
                continue
            raw = cells[index] if index < len(cells) else ""
            if not raw:
                values[column.key] = None
                if column.required:
                    ctx.error(number, column.key, f"请填写{column.header}")
                continue
            try:
                values[column.key] = column.parse(raw)
            except CellError as exc:
                ctx.error(number, column.key, str(exc))
        if any(cells[width:]):
            ctx.error(number, None, f"第 {width + 1} 列以后有内容，但没有列名")
        rows.append(Row(number, values))
    return rows


def run_import(importer: Importer, filename: str, data: bytes, *, user: User | None = None,
               dry_run: bool = False, now: datetime | None = None) -> ImportReport:
    """Check the whole file, then write it; raises ImportRefused (nothing written) on any error.

    The caller commits on success, or rolls back for a dry run and on ImportRefused.
    """
    now = now or utcnow()
    try:
        sheet = read_sheet(filename, data, max_rows=current_app.config["IMPORT_MAX_ROWS"])
    except SheetTooLong as exc:
        raise ImportRefused([RowError(None, None, str(exc))], too_large=True) from None
    except SheetUnreadable as exc:
        raise ImportRefused([RowError(None, None, str(exc))]) from None
    header_errors: list[RowError] = []
    mapping = map_header(importer, sheet.header, header_errors)
    if header_errors:
        raise ImportRefused(header_errors)
    if not sheet.rows:
        raise ImportRefused([RowError(None, None, "文件里只有列名，没有数据行")])
    ctx = Context(user=user, now=now, columns={c.key: c for c in importer.columns},
                  headers={c.key: sheet.header[i] for i, c in mapping.items() if not c.ignored})
    rows = parse_rows(sheet, mapping, ctx)
    plan = importer.check(rows, ctx)
    if ctx.errors:
        raise ImportRefused(sorted(ctx.errors, key=_error_order), ctx.more_errors)
    ctx.summary = record(f"import_{importer.kind}", None, {"file": filename},
                         actor_id=ctx.actor_id)
    try:
        outcome = importer.write(plan, ctx)
        db.session.flush()
    except StaleDataError:
        raise ImportRefused([RowError(None, None, "导入期间有人修改了其中的记录；"
                                      "没有写入任何数据，请重新导入")]) from None
    except sa.exc.IntegrityError as exc:
        raise ImportRefused([RowError(None, None,
                                      f"数据库拒绝写入，没有写入任何数据：{exc.orig}")]) \
            from None
    ctx.summary.changes = {"file": filename, "rows": len(rows), "created": outcome.created,
                           "updated": outcome.updated, "unchanged": outcome.unchanged}
    return ImportReport(importer.kind, importer.label, filename, len(rows), outcome.created,
                        outcome.updated, outcome.unchanged, dry_run, outcome.areas_created)


def _error_order(error: RowError) -> tuple[int, int]:
    return (error.row or 0, 0)


# -- helpers for the importers ---------------------------------------------------------------


def chunks(items: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def fetch_by(column: Any, keys: Iterable[Any], *columns: Any) -> list[Any]:
    """Rows whose ``column`` is one of ``keys``, in chunks; ``columns`` are the ones selected."""
    wanted = list(dict.fromkeys(k for k in keys if k is not None))
    found: list[Any] = []
    for part in chunks(wanted):
        found.extend(db.session.execute(sa.select(*columns).where(column.in_(part))).all())
    return found


def changed_fields(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """The values of ``after`` that differ from ``before`` (keys missing from ``before`` count)."""
    return {key: value for key, value in after.items()
            if key not in before or before[key] != value}


def audit_rows(action: str, table: str, changes: list[tuple[int, dict[str, Any], dict[str, Any]]],
               ctx: Context) -> None:
    """One audit row per changed record, written in one statement: (id, before, after)."""
    if not changes:
        return
    who = ctx.summary
    assert who is not None
    base = {"actor_id": who.actor_id, "action": action, "entity_type": table,
            "ip_address": who.ip_address, "user_agent": who.user_agent, "created_at": ctx.now}
    rows = [{**base, "entity_id": ident, "changes": diff(before, after) or None}
            for ident, before, after in changes]
    bulk_insert(AuditLog, rows)


def bulk_insert(model: Any, rows: list[dict[str, Any]]) -> None:
    """INSERT many rows, a thousand per statement.

    Core, not the ORM's bulk insert: that one splits the rows into a statement per run of
    rows whose empty columns differ, which is slow when optional columns vary row by row.
    Every row gets the same keys (a missing one is NULL), so each chunk is one executemany.
    """
    table = model.__table__
    rows = [with_html(table.name, row) for row in rows]  # Markdown fields' HTML (core/prose.py)
    keys = list(dict.fromkeys(key for row in rows for key in row))
    for part in chunks(rows, 1000):
        db.session.execute(sa.insert(table), [{key: row.get(key) for key in keys} for row in part])


def bulk_update(model: Any, rows: list[dict[str, Any]]) -> None:
    """UPDATE by primary key; rows carry the version read at check time (it is checked, then
    bumped)."""
    rows = [with_html(model.__tablename__, row) for row in rows]
    for part in chunks(rows, 1000):
        db.session.execute(sa.update(model), list(part))


def duplicates(rows: list[Row], key: str, ctx: Context, *,
               fold: Callable[[Any], Any] = lambda v: v) -> None:
    """An external code may appear once per file: later rows with the same code are errors."""
    first: dict[Any, int] = {}
    for row in rows:
        value = row.values.get(key)
        if value is None:
            continue
        folded = fold(value)
        if folded in first:
            ctx.error(row, key, f"与第 {first[folded]} 行重复")
        else:
            first[folded] = row.number
