"""Values from query strings and URL paths, read through one bounded set of parsers.

Every number, date, choice and text a request carries in its URL is parsed here, so that
nothing a visitor can type reaches the database or the date arithmetic out of range: ids
fit the columns (``MAX_ID``), page numbers stop at the browsable rows (``MAX_PAGE``), years
lie within ``MIN_YEAR``..``MAX_YEAR`` (far from ``date``'s limits, so a time zone shift or
"next month" cannot overflow), and text is capped and cleaned.

The rules, one per layer:

- **Query strings of the web pages** (``arg_*``): a value that is empty, malformed or out of
  range is *treated as absent*: the filter is not applied, the page is the first, the
  default choice is taken. A stale or hand-edited link shows the unfiltered list instead of
  an error page; the refusal is logged (DEBUG, ``consult_hub.core.params``: bots send
  junk all day) with the parameter's name. A page number past ``MAX_PAGE`` is ``MAX_PAGE``,
  a page past the end like any other (empty, saying to narrow the filters). Control characters
  in any query value are refused before any view runs (400 naming the parameter, core/http.py).
- **URL path values**: ``<int:…>`` stops at ``MAX_ID`` (core/http.py) and months and years
  are checked by :func:`month_of` / :func:`to_month`; a path value out of range names a page
  that cannot exist: 404.
- **The JSON API and Open311** call the strict parsers (``to_*``), which raise
  :class:`BadParam`; each answers in its own format (API: 400 JSON naming the parameter;
  Open311: a GeoReport error list naming it).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Collection
from datetime import UTC, date, datetime, tzinfo
from enum import Enum
from typing import TypeVar

from flask import request

from consult_hub.core.forms import FORBIDDEN_CHARACTERS, MAX_ID
from consult_hub.core.pagination import BROWSE_LIMIT

log = logging.getLogger(__name__)

E = TypeVar("E", bound=Enum)

MAX_PAGE = BROWSE_LIMIT  # even one row a page, no list browses further
# Years a date in a URL may name: wider than the forms accept (1990–2100), so every stored
# record stays reachable, and far enough from year 1 and 9999 for any zone or month shift.
MIN_YEAR, MAX_YEAR = 1900, 2100
TEXT_MAX = 100  # a search box's longest useful query
_INTEGER = re.compile(r"-?[0-9]{1,18}")  # ASCII digits only: int() also reads "１２" and "1_0"
_MONTH = re.compile(r"([0-9]{4})-([0-9]{1,2})")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class BadParam(ValueError):
    """A value that cannot be taken; ``message`` (English, for the log) says why. Callers
    answering people word their own refusal, naming the parameter, in their own format."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# --- Strict parsers: text → value, or BadParam ----------------------------------------------


def to_int(text: str, *, low: int, high: int) -> int:
    """A whole number in ``low..high`` written in ASCII digits (an optional minus)."""
    text = text.strip()
    if not _INTEGER.fullmatch(text):
        raise BadParam(f"not a whole number from {low} to {high}")
    number = int(text)
    if not low <= number <= high:
        raise BadParam(f"not a whole number from {low} to {high}")
    return number


def to_id(text: str) -> int:
    """A record id: 1..``MAX_ID``."""
    return to_int(text, low=1, high=MAX_ID)


def id_or_none(value: object) -> int | None:
    """``value`` as a record id, or None when it is not one (filters read from a mapping, such
    as an export's query string or a command's options)."""
    if not isinstance(value, str):
        return None
    try:
        return to_id(value)
    except BadParam:
        return None


def to_year(value: int | str) -> int:
    """A year within ``MIN_YEAR``..``MAX_YEAR``."""
    if isinstance(value, int):
        if not MIN_YEAR <= value <= MAX_YEAR:
            raise BadParam(f"not a year from {MIN_YEAR} to {MAX_YEAR}")
        return value
    return to_int(value, low=MIN_YEAR, high=MAX_YEAR)


def month_of(year: int, month: int) -> date:
    """The first day of ``year``-``month``, both checked."""
    if not 1 <= month <= 12:
        raise BadParam("not a month from 1 to 12")
    return date(to_year(year), month, 1)


def to_month(text: str) -> date:
    """``2024-11`` → date(2024, 11, 1)."""
    match = _MONTH.fullmatch(text.strip())
    if match is None:
        raise BadParam("not a month like 2024-11")
    return month_of(int(match.group(1)), int(match.group(2)))


def to_date(text: str) -> date:
    """``2024-11-05`` → date(2024, 11, 5), its year within bounds."""
    text = text.strip()
    if not _DATE.fullmatch(text):
        raise BadParam("not a date like 2024-11-05")
    try:
        value = date.fromisoformat(text)
    except ValueError:
        raise BadParam("no such day") from None
    to_year(value.year)
    return value


def to_datetime(text: str, zone: tzinfo) -> datetime:
    """An ISO 8601 time (a date alone is its midnight) as aware UTC; one without an offset is
    in ``zone``. Its year, before and after the shift to UTC, lies within bounds."""
    text = text.strip()
    if not text or not text.isascii() or len(text) > 40:
        raise BadParam("not an ISO 8601 time like 2024-03-01T00:00:00+08:00")
    try:
        value = datetime.fromisoformat(text if "T" in text else text.replace(" ", "T"))
    except ValueError:
        raise BadParam("not an ISO 8601 time like 2024-03-01T00:00:00+08:00") from None
    to_year(value.year)
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    value = value.astimezone(UTC)  # within the year bounds, a shift cannot overflow
    to_year(value.year)
    return value


def to_enum(enum_cls: type[E], text: str) -> E:
    """One of ``enum_cls``'s values."""
    try:
        return enum_cls(text.strip())
    except ValueError:
        raise BadParam("not one of " + ", ".join(str(m.value) for m in enum_cls)) from None


def to_choice(text: str, choices: Collection[str]) -> str:
    """One of ``choices``, exactly."""
    text = text.strip()
    if text not in choices:
        raise BadParam("not one of " + ", ".join(choices))
    return text


def to_bool(text: str) -> bool:
    """``1``/``true`` or ``0``/``false`` (any case)."""
    lowered = text.strip().lower()
    if lowered in ("1", "true"):
        return True
    if lowered in ("0", "false"):
        return False
    raise BadParam("not true or false")


def to_text(text: str, max_length: int = TEXT_MAX) -> str:
    """Text, trimmed, without characters nobody types, at most ``max_length`` characters."""
    return FORBIDDEN_CHARACTERS.sub("", text).strip()[:max_length].strip()


# --- The web pages' query strings: invalid is absent -----------------------------------------


def _raw(name: str) -> str | None:
    value = request.args.get(name)
    return None if value is None or value.strip() == "" else value


def _ignored(name: str, raw: str, error: BadParam) -> None:
    log.debug("query parameter %s=%r ignored: %s", name, raw[:40], error.message)


def arg_int(name: str, *, low: int, high: int) -> int | None:
    """``?name=`` as a whole number in ``low..high``; None when absent or not one."""
    raw = _raw(name)
    if raw is None:
        return None
    try:
        return to_int(raw, low=low, high=high)
    except BadParam as error:
        _ignored(name, raw, error)
        return None


def arg_id(name: str) -> int | None:
    """``?name=`` as a record id; None when absent, empty or no possible id."""
    return arg_int(name, low=1, high=MAX_ID)


def arg_page(name: str = "page") -> int:
    """``?page=``: 1 when absent or not a page number; at most ``MAX_PAGE``."""
    raw = _raw(name)
    if raw is None:
        return 1
    try:
        return to_int(raw, low=1, high=MAX_PAGE)
    except BadParam as error:
        digits = raw.strip()
        if digits.isascii() and digits.isdigit() and digits.lstrip("0"):
            return MAX_PAGE  # a larger number: past the end, as any page past the last
        _ignored(name, raw, error)
        return 1


def arg_year(name: str) -> int | None:
    """``?name=`` as a year within bounds; None otherwise."""
    return arg_int(name, low=MIN_YEAR, high=MAX_YEAR)


def arg_enum(enum_cls: type[E], name: str) -> E | None:
    """``?name=`` as one of ``enum_cls``; None otherwise."""
    raw = _raw(name)
    if raw is None:
        return None
    try:
        return to_enum(enum_cls, raw)
    except BadParam as error:
        _ignored(name, raw, error)
        return None


def arg_choice(name: str, choices: Collection[str], default: str = "",
               missing: str | None = None) -> str:
    """``?name=`` when it is one of ``choices``; ``default`` otherwise, or ``missing`` (when
    given) if the parameter is not in the query at all (``active`` lists: absent is "in use",
    empty or unknown is "all")."""
    if missing is not None and name not in request.args:
        return missing
    raw = _raw(name)
    if raw is None:
        return default
    try:
        return to_choice(raw, choices)
    except BadParam as error:
        _ignored(name, raw, error)
        return default


def arg_flag(name: str) -> bool:
    """``?name=1`` (a checkbox filter); anything else is off."""
    return request.args.get(name, "").strip() == "1"


def arg_text(name: str, max_length: int = TEXT_MAX) -> str:
    """``?name=`` as search text: trimmed, cleaned, at most ``max_length`` characters."""
    return to_text(request.args.get(name, ""), max_length)
