"""Parsers for spreadsheet cells: each turns the text of one cell into a value or raises CellError.

Messages are in Chinese and say what the cell should look like; the importer puts the row
number and the column name in front ("第 7 行「成立日期」：日期格式应为 2024-03-01").
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from datetime import UTC, date, datetime
from enum import Enum
from typing import Any, TypeVar

from flask_babel.speaklater import LazyString

from consult_hub.core.timefmt import local_zone

E = TypeVar("E", bound=Enum)
Parser = Callable[[str], Any]

YES = frozenset({"是", "y", "yes", "true", "1", "√", "✓", "对"})
NO = frozenset({"否", "n", "no", "false", "0", "×", "不是"})
LIST_SEPARATORS = re.compile(r"[;;,,、\s]+")
_DATE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")
_TIME = re.compile(r"(\d{1,2})\s*[:：时]\s*(\d{1,2})(?:\s*[:：分]\s*(\d{1,2})\s*秒?)?")


class CellError(ValueError):
    """The cell's text is not a valid value; the message says what is expected."""


def plain(text: str) -> str:
    """Full-width letters, digits and punctuation folded to ASCII; surrounding space trimmed."""
    return unicodedata.normalize("NFKC", text).strip()


def text(limit: int) -> Parser:
    def parse(value: str) -> str:
        value = value.strip()
        if len(value) > limit:
            raise CellError(f"不超过 {limit} 个字符（现有 {len(value)} 个）")
        return value

    return parse


def code(limit: int = 32, *, pattern: re.Pattern[str] | None = None, upper: bool = False,
         hint: str = "") -> Parser:
    """An external code (编码): no spaces; optionally upper-cased and matched to ``pattern``."""
    def parse(value: str) -> str:
        value = plain(value)
        if upper:
            value = value.upper()
        if len(value) > limit:
            raise CellError(f"编码不超过 {limit} 个字符")
        if re.search(r"\s", value):
            raise CellError("编码中不能有空格")
        if pattern is not None and not pattern.fullmatch(value):
            raise CellError(hint or "编码格式不对")
        return value

    return parse


def code_list(value: str) -> list[str]:
    """``A;B;C`` (also separated by Chinese semicolons, commas, 、 or spaces), duplicates
    dropped."""
    return list(dict.fromkeys(part for part in LIST_SEPARATORS.split(plain(value)) if part))


def parse_date(value: str) -> date:
    match = _DATE.fullmatch(plain(value))
    if not match:
        raise CellError("日期格式应为 2024-03-01")
    try:
        return date(*(int(part) for part in match.groups()))
    except ValueError:
        raise CellError(f"没有这个日期：{value}") from None


def parse_local_datetime(value: str) -> datetime:
    """``2024-03-01 14:30`` in the people's time zone, as an aware UTC datetime."""
    cleaned = plain(value).replace("T", " ")
    day_match = _DATE.match(cleaned)
    rest = cleaned[day_match.end():].strip() if day_match else ""
    time_match = _TIME.fullmatch(rest) if rest else None
    if not day_match or not time_match:
        raise CellError("时间格式应为 2024-03-01 14:30（本地时间）")
    hour, minute, second = (int(part or 0) for part in time_match.groups())
    try:
        local = datetime(*(int(part) for part in day_match.groups()), hour, minute, second,
                         tzinfo=local_zone())
    except ValueError:
        raise CellError(f"没有这个时间：{value}") from None
    return local.astimezone(UTC)


def parse_date_or_datetime(value: str) -> datetime:
    """A day (taken as its local midnight) or a local date and time, as aware UTC."""
    match = _DATE.fullmatch(plain(value))
    if match:
        day = parse_date(value)
        return datetime(day.year, day.month, day.day, tzinfo=local_zone()).astimezone(UTC)
    try:
        return parse_local_datetime(value)
    except CellError:
        raise CellError("应为日期 2024-03-01 或时间 2024-03-01 14:30") from None


def integer(low: int, high: int | None = None) -> Parser:
    def parse(value: str) -> int:
        cleaned = plain(value).replace(",", "")
        if not re.fullmatch(r"[+-]?\d+(\.0+)?", cleaned):
            raise CellError("应为整数")
        number = int(float(cleaned))
        if number < low or (high is not None and number > high):
            raise CellError(f"应在 {low} 到 {high} 之间" if high is not None
                            else f"应为不小于 {low} 的整数")
        return number

    return parse


def number(low: float, high: float) -> Parser:
    def parse(value: str) -> float:
        try:
            result = float(plain(value))
        except ValueError:
            raise CellError("应为数字，例如 30.5936") from None
        if not low <= result <= high:
            raise CellError(f"应在 {low:g} 到 {high:g} 之间")
        return result

    return parse


def yes_no(value: str) -> bool:
    folded = plain(value).lower()
    if folded in YES:
        return True
    if folded in NO:
        return False
    raise CellError("应为“是”或“否”")


def choice(enum_cls: type[E], aliases: dict[str, str] | None = None) -> Parser:
    """A member of a labelled enum, by its Chinese label or its value
    (``aliases``: text → value)."""
    table: dict[str, E] = {}
    for member in enum_cls:
        table[plain(str(member.value)).lower()] = member
        table[plain(_chinese(member))] = member
    for alias, value in (aliases or {}).items():
        table[plain(alias).lower()] = enum_cls(value)
    allowed = "、".join(_chinese(m) for m in enum_cls)

    def parse(value: str) -> E:
        found = table.get(plain(value)) or table.get(plain(value).lower())
        if found is None:
            raise CellError(f"应为以下之一：{allowed}")
        return found

    parse.allowed = allowed
    return parse


def allowed_values(enum_cls: type[Enum]) -> str:
    """The labels (and values) a choice column takes, for templates and docs."""
    return "、".join(f"{_chinese(m)}（{m.value}）" for m in enum_cls)


def _chinese(member: Enum) -> str:
    """A member's Chinese label: files are in Chinese whatever the reader's language."""
    return str(getattr(member, "source_label", member.value))


def source_text(text: Any) -> str:
    """The Chinese source of a translatable text (a lazy string's message id), as files need it."""
    if isinstance(text, LazyString):
        return str(text._args[0])
    return str(text)
