"""Time for people: stored in UTC, shown in the configured zone (Asia/Shanghai)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from flask import current_app


def local_zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["TIMEZONE"])


def to_local(value: datetime) -> datetime:
    """Convert an aware datetime to the people's time zone."""
    return value.astimezone(local_zone())


def local_today(now: datetime) -> date:
    """The calendar day it is in the people's time zone at ``now``."""
    return to_local(now).date()


def format_datetime(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if value is None:
        return ""
    return to_local(value).strftime(fmt)


def format_date(value: date | datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = to_local(value).date()
    return value.strftime("%Y-%m-%d")


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
    following = date(year + month // 12, month % 12 + 1, 1)
    return local_midnight(date(year, month, 1)), local_midnight(following)
