"""The generator's shared state: one seeded random source, the clock, and the rows to insert."""

from __future__ import annotations

import base64
import bisect
import itertools
import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Generic, TypeVar
from zoneinfo import ZoneInfo

from consult_hub.demo import vocabulary as v

T = TypeVar("T")

# The seed's figures for one city and one year.
CITY_PLATFORMS = 1006
CITY_EVENTS = 1220
CITY_RESOLVED = 1330  # "1300 余个"

WORK_START = time(8, 30)
WORK_END = time(18, 0)


@dataclass
class Demo:
    """Everything the builders share; ``rows`` maps a table name to the rows to insert."""

    rng: random.Random
    now: datetime
    year: int
    platforms: int
    zone: ZoneInfo
    rows: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    _ids: dict[str, itertools.count[int]] = field(default_factory=dict)
    _names: set[str] = field(default_factory=set)

    @property
    def scale(self) -> float:
        return self.platforms / CITY_PLATFORMS

    @property
    def today(self) -> date:
        return self.now.astimezone(self.zone).date()

    def next_id(self, table: str) -> int:
        return next(self._ids.setdefault(table, itertools.count(1)))

    def add(self, table: str, **values: Any) -> dict[str, Any]:
        """Queue one row for ``table`` and return it."""
        self.rows[table].append(values)
        return values

    def at(self, day: date, hour: int, minute: int = 0) -> datetime:
        """The UTC instant of a local wall-clock time."""
        return datetime.combine(day, time(hour, minute), self.zone).astimezone(UTC)

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.zone)

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def pick(self, options: Sequence[T], weights: Sequence[float] | None = None) -> T:
        if weights is None:
            return options[self.rng.randrange(len(options))]
        return self.rng.choices(options, weights=weights)[0]

    def day_between(self, first: date, last: date) -> date:
        return first + timedelta(days=self.rng.randint(0, max(0, (last - first).days)))

    def after(self, moment: datetime, min_days: float, max_days: float) -> datetime:
        """A working-hours moment some days after ``moment``, never before it."""
        later = moment + timedelta(days=self.rng.uniform(min_days, max_days))
        later = self.working_hours(later)
        return later if later > moment else moment + timedelta(minutes=self.rng.randint(5, 50))

    def working_hours(self, moment: datetime) -> datetime:
        """Move ``moment`` forward into office hours (08:30–18:00 local)."""
        local = self.local(moment)
        if local.time() < WORK_START:
            local = datetime.combine(local.date(), WORK_START, self.zone)
        elif local.time() >= WORK_END:
            local = datetime.combine(local.date() + timedelta(days=1), WORK_START, self.zone)
        else:
            return moment
        return (local + timedelta(minutes=self.rng.randint(0, 120))).astimezone(UTC)

    def person(self) -> str:
        """A Chinese full name, unique within this load."""
        while True:
            given = "".join(self.pick(v.GIVEN_CHARS) for _ in range(1 if self.chance(0.25) else 2))
            name = self.pick(v.SURNAMES) + given
            if name not in self._names:
                self._names.add(name)
                return name

    def resident(self) -> tuple[str, str]:
        """A resident's polite name (张女士) and a fake phone number."""
        name = self.pick(v.SURNAMES) + self.pick(("女士", "先生"))
        prefix = self.pick(("1380000", "1390000", "1860000", "1870000", "1500000"))
        return name, f"{prefix}{self.rng.randint(0, 9999):04d}"

    def token(self) -> str:
        """A tracking token drawn from the seeded source, so reloads are identical."""
        return base64.urlsafe_b64encode(self.rng.randbytes(24)).decode().rstrip("=")


class Picker(Generic[T]):
    """Weighted choice among items that became eligible by a date (e.g. platforms by founding)."""

    def __init__(self, items: Sequence[T], since: Sequence[date], weights: Sequence[float]) -> None:
        order = sorted(range(len(items)), key=lambda i: (since[i], i))
        self.items = [items[i] for i in order]
        self.since = [since[i] for i in order]
        self.cumulative = list(itertools.accumulate(weights[i] for i in order))

    def pick(self, rng: random.Random, on: date) -> T | None:
        """An item eligible on ``on`` (since <= on), or None when there is none yet."""
        count = bisect.bisect_right(self.since, on)
        if count == 0:
            return None
        index = bisect.bisect_right(self.cumulative, rng.random() * self.cumulative[count - 1])
        return self.items[min(index, count - 1)]


def weighted_days(first: date, last: date,
                  month_weights: Sequence[float]) -> tuple[list[date], list[float]]:
    """Every day from ``first`` to ``last`` with cumulative weights by month, for rng.choices."""
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    return days, list(itertools.accumulate(month_weights[d.month - 1] for d in days))


def allocate(total: int, weights: Sequence[float]) -> list[int]:
    """Split ``total`` in proportion to ``weights`` (largest remainder), exactly."""
    whole = sum(weights)
    shares = [total * w / whole for w in weights]
    counts = [int(s) for s in shares]
    by_remainder = sorted(range(len(weights)), key=lambda i: (-(shares[i] - counts[i]), i))
    for i in by_remainder[: total - sum(counts)]:
        counts[i] += 1
    return counts
