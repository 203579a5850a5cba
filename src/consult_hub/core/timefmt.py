"""Time for people: stored in UTC, shown in the configured zone (Asia/Shanghai)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from babel import dates as babel_dates
from flask import current_app
from flask.globals import _cv_app

from consult_hub.core.i18n import current_locale


def local_zone() -> ZoneInfo:
    # The app without its proxy: a page converts 10–30 times, each asking for the zone.
    context = _cv_app.get(None)
    config = context.app.config if context is not None else current_app.config
    return ZoneInfo(config["TIMEZONE"])


def to_local(value: datetime) -> datetime:
    """Convert an aware datetime to the people's time zone."""
    return value.astimezone(local_zone())


def local_today(now: datetime) -> date:
    """The calendar day it is in the people's time zone at ``now``."""
    return to_local(now).date()


def _english() -> bool:
    """Whether people read English now (Chinese outside a request and by default)."""
    locale = current_locale()
    return locale is not None and locale.language == "en"


def format_datetime(value: datetime | None, fmt: str | None = None) -> str:
    """``2026-11-28 17:30`` in Chinese, ``28 Nov 2026, 17:30`` in English; ``fmt`` wins."""
    if value is None:
        return ""
    local = to_local(value)
    if fmt is None and _english():
        return babel_dates.format_datetime(local, "d MMM y, HH:mm", locale="en")
    return local.strftime(fmt or "%Y-%m-%d %H:%M")


def format_date(value: date | datetime | None) -> str:
    """``2026-11-28`` in Chinese, ``28 Nov 2026`` in English."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = to_local(value).date()
    if _english():
        return babel_dates.format_date(value, "d MMM y", locale="en")
    return value.strftime("%Y-%m-%d")


def format_month(value: date, *, with_year: bool = False) -> str:
    """``3月`` (``2026年3月``) in Chinese, ``Mar`` (``Mar 2026``) in English."""
    if _english():
        return babel_dates.format_date(value, "MMM y" if with_year else "MMM", locale="en")
    return f"{value.year}年{value.month}月" if with_year else f"{value.month}月"


def local_year_bounds(year: int) -> tuple[datetime, datetime]:
    """The UTC instants where ``year`` starts and ends in the people's time zone."""
    zone = local_zone()
    return (
        datetime(year, 1, 1, tzinfo=zone).astimezone(UTC),
        datetime(year + 1, 1, 1, tzinfo=zone).astimezone(UTC),
    )


def local_midnight(day: date) -> datetime:
    """The UTC instant where ``day`` begins in the people's time zone."""
    return datetime(day.year, day.month, day.day, tzinfo=local_zone()).astimezone(UTC)


def local_month_bounds(year: int, month: int) -> tuple[datetime, datetime]:
    """The UTC instants where ``month`` of ``year`` starts and ends in the people's time zone."""
    return _month_bounds(year, month, current_app.config["TIMEZONE"])


@lru_cache(maxsize=4096)
def _month_bounds(year: int, month: int, zone_key: str) -> tuple[datetime, datetime]:
    # Asked once per stored tally row when a report reads a nation's 36,000 of them.
    zone = ZoneInfo(zone_key)
    following = date(year + month // 12, month % 12 + 1, 1)
    return (datetime(year, month, 1, tzinfo=zone).astimezone(UTC),
            datetime(following.year, following.month, 1, tzinfo=zone).astimezone(UTC))


def month_runs(year: int, skip: Collection[date]) -> list[tuple[date, date]]:
    """The months of ``year`` not in ``skip`` (first days), as runs of consecutive months:
    the spans a report counts from the records where no frozen tally stands for them."""
    runs: list[tuple[date, date]] = []
    for month in (date(year, number, 1) for number in range(1, 13)):
        if month in skip:
            continue
        if runs and runs[-1][1].month == month.month - 1:
            runs[-1] = (runs[-1][0], month)
        else:
            runs.append((month, month))
    return runs
