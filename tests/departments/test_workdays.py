"""Working days: Monday to Friday, less China's statutory holidays, plus the make-up days."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from consult_hub.core.workdays import add_workdays, has_calendar, is_workday, workdays_between


@pytest.mark.parametrize(("day", "works"), [
    (date(2024, 10, 8), True),    # the Tuesday after National Day
    (date(2024, 10, 1), False),   # National Day
    (date(2024, 10, 7), False),   # a Monday inside the Golden Week
    (date(2024, 10, 12), True),   # a Saturday worked in exchange (调休上班)
    (date(2024, 9, 29), True),    # a Sunday worked in exchange
    (date(2024, 2, 9), True),     # New Year's Eve 2024 was officially a working day
    (date(2024, 2, 16), False),   # Spring Festival, a Friday
    (date(2024, 2, 18), True),    # a Sunday worked after the Spring Festival
    (date(2024, 6, 10), False),   # Dragon Boat Festival, a Monday
    (date(2025, 1, 28), False),   # Spring Festival's Eve 2025 (a holiday since the 2025 reform)
    (date(2025, 2, 4), False),    # the last day of the 2025 Spring Festival
    (date(2025, 1, 26), True),    # a Sunday worked before it
    (date(2025, 5, 2), False),    # Labour Day holiday, a Friday
    (date(2025, 4, 27), True),    # a Sunday worked before Labour Day
    (date(2025, 10, 8), False),   # National Day and Mid-Autumn 2025 ran to 8 October
    (date(2025, 10, 11), True),   # a Saturday worked after it
    (date(2025, 3, 15), False),   # an ordinary Saturday
    (date(2025, 3, 17), True),    # an ordinary Monday
])
def test_official_calendar(day, works):
    assert is_workday(day) is works


def test_a_year_without_data_is_monday_to_friday():
    assert not has_calendar(2031) and has_calendar(2024) and has_calendar(2025)
    week = [date(2031, 10, 1) + timedelta(days=n) for n in range(7)]  # Wednesday to Tuesday
    assert [is_workday(d) for d in week] == [True, True, True, False, False, True, True]


def test_adding_working_days_skips_weekends_and_holidays():
    assert add_workdays(date(2025, 3, 14), 2) == date(2025, 3, 18)  # Friday → Tuesday
    assert add_workdays(date(2025, 3, 15), 2) == date(2025, 3, 18)  # Saturday → Tuesday
    assert add_workdays(date(2025, 3, 17), 2) == date(2025, 3, 19)  # Monday → Wednesday
    assert add_workdays(date(2024, 9, 30), 2) == date(2024, 10, 9)  # over National Day
    assert add_workdays(date(2024, 10, 11), 1) == date(2024, 10, 12)  # the make-up Saturday
    assert add_workdays(date(2025, 1, 27), 1) == date(2025, 2, 5)  # over the Spring Festival
    assert add_workdays(date(2025, 3, 17), 0) == date(2025, 3, 17)
    with pytest.raises(ValueError):
        add_workdays(date(2025, 3, 17), -1)


def test_counting_working_days_between_two_days():
    assert workdays_between(date(2024, 9, 30), date(2024, 10, 9)) == 2
    assert workdays_between(date(2025, 3, 14), date(2025, 3, 14)) == 0
    assert workdays_between(date(2025, 3, 18), date(2025, 3, 14)) == 0
    for start in (date(2024, 1, 1) + timedelta(days=n) for n in range(0, 730, 17)):
        for n in (0, 1, 2, 5, 20):
            assert workdays_between(start, add_workdays(start, n)) == n
    # 2024 had 251 working days once the holidays and make-up days are counted.
    assert workdays_between(date(2023, 12, 31), date(2024, 12, 31)) == 251
