"""Working days (工作日) in mainland China: Monday to Friday, less the statutory holidays, plus
the weekend days officially worked in their place (调休上班).

The State Council's General Office publishes each year's holiday arrangement in a notice
(国务院办公厅关于 YYYY 年部分节假日安排的通知) late in the year before. The years below are
written from those notices; a year without data counts Monday to Friday only (no holidays,
no make-up days), which is the best guess before its notice exists. Add a year's two sets
when its notice is published (docs/metrics.md says which figures depend on them).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta


def _days(year: int, *spans: tuple[int, int, int, int]) -> frozenset[date]:
    """Every day of each span ``(month, day, last month, last day)``, both ends included."""
    days: set[date] = set()
    for month, day, last_month, last_day in spans:
        current, last = date(year, month, day), date(year, last_month, last_day)
        while current <= last:
            days.add(current)
            current += timedelta(days=1)
    return frozenset(days)


def _single(year: int, pairs: Iterable[tuple[int, int]]) -> frozenset[date]:
    return frozenset(date(year, month, day) for month, day in pairs)


# Days off (放假), by year, weekends within the spans included.
HOLIDAYS: dict[int, frozenset[date]] = {
    # 国务院办公厅关于2024年部分节假日安排的通知(国办发明电〔2023〕7号):
    # 元旦 1月1日; 春节 2月10日至17日; 清明节 4月4日至6日; 劳动节 5月1日至5日;
    # 端午节 6月10日(与周末连休); 中秋节 9月15日至17日; 国庆节 10月1日至7日.
    2024: _days(2024, (1, 1, 1, 1), (2, 10, 2, 17), (4, 4, 4, 6), (5, 1, 5, 5),
                (6, 8, 6, 10), (9, 15, 9, 17), (10, 1, 10, 7)),
    # 国务院办公厅关于2025年部分节假日安排的通知(国办发明电〔2024〕12号):
    # 元旦 1月1日; 春节 1月28日至2月4日; 清明节 4月4日至6日; 劳动节 5月1日至5日;
    # 端午节 5月31日至6月2日; 国庆节、中秋节 10月1日至8日.
    2025: _days(2025, (1, 1, 1, 1), (1, 28, 2, 4), (4, 4, 4, 6), (5, 1, 5, 5),
                (5, 31, 6, 2), (10, 1, 10, 8)),
}

# Weekend days worked in exchange (调休上班), by year, from the same notices.
MAKE_UP_DAYS: dict[int, frozenset[date]] = {
    # 2月4日(周日)、2月18日(周日)、4月7日(周日)、4月28日(周日)、5月11日(周六)、
    # 9月14日(周六)、9月29日(周日)、10月12日(周六)上班.
    2024: _single(2024, ((2, 4), (2, 18), (4, 7), (4, 28), (5, 11), (9, 14), (9, 29),
                         (10, 12))),
    # 1月26日(周日)、2月8日(周六)、4月27日(周日)、9月28日(周日)、10月11日(周六)上班.
    2025: _single(2025, ((1, 26), (2, 8), (4, 27), (9, 28), (10, 11))),
}


def has_calendar(year: int) -> bool:
    """Whether ``year``'s official holidays are known here (else Monday–Friday is assumed)."""
    return year in HOLIDAYS


def is_workday(day: date) -> bool:
    """A day offices work: a weekday that is no holiday, or an official make-up day."""
    if day in MAKE_UP_DAYS.get(day.year, ()):
        return True
    if day in HOLIDAYS.get(day.year, ()):
        return False
    return day.weekday() < 5


def add_workdays(day: date, n: int) -> date:
    """The ``n``-th working day after ``day`` (``day`` itself never counts, whatever it is);
    ``n`` = 0 gives ``day``. A Friday's 2 working days later is the Tuesday after (in an
    ordinary week), and so is a Saturday's."""
    if n < 0:
        raise ValueError("n must not be negative")
    current = day
    while n:
        current += timedelta(days=1)
        if is_workday(current):
            n -= 1
    return current


def workdays_between(start: date, end: date) -> int:
    """Working days after ``start`` up to and including ``end`` (0 when ``end`` <= ``start``):
    how many working days ``end`` lies after ``start``, so that
    ``workdays_between(d, add_workdays(d, n)) == n``."""
    count, current = 0, start
    while current < end:
        current += timedelta(days=1)
        count += is_workday(current)
    return count
