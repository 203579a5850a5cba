"""Read tallies for the reports: frozen months from the table, the rest computed live.

A month counts as frozen once its city row exists (``freeze_month`` writes every scope of a
month at once); a district with no platforms yet has no row in a frozen month and reads as
zeros. The current month is always computed live, as docs/metrics.md says.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from consult_hub.areas.models import Area, AreaLevel
from consult_hub.core.timefmt import to_local
from consult_hub.departments.models import Department
from consult_hub.extensions import db
from consult_hub.platforms.models import Platform
from consult_hub.tallies import compute, departments
from consult_hub.tallies.models import MonthlyTally, TallyScope

# Figures that describe the state at a month's end: a year takes its last month's value.
STOCKS = ("platforms_total", "platforms_demonstration", "issues_backlog_end",
          "issues_overdue_end")
# Figures that neither add up over months nor follow from monthly sums: no year value.
NOT_ANNUAL = ("platforms_active", "median_days_to_resolve")

Metrics = dict[str, Any]


@dataclass(frozen=True)
class ReportScope:
    """The whole city (``district`` None) or one district."""

    district: Area | None = None

    @property
    def key(self) -> str:
        return "city" if self.district is None else f"district:{self.district.id}"

    @property
    def is_city(self) -> bool:
        return self.district is None


@dataclass
class MonthRow:
    month: date
    metrics: Metrics
    is_live: bool


@dataclass
class YearReport:
    year: int
    scope: ReportScope
    months: list[MonthRow]
    totals: Metrics
    districts: list[tuple[Area, Metrics]] = field(default_factory=list)
    # Staff reports: each department's figures for the year (tallies/departments.py).
    departments: list[tuple[Department, Metrics]] = field(default_factory=list)

    @property
    def is_complete(self) -> bool:
        return len(self.months) == 12 and not any(row.is_live for row in self.months)


@dataclass
class MonthReport:
    month: date
    scope: ReportScope
    metrics: Metrics
    is_live: bool
    districts: list[tuple[Area, Metrics]] = field(default_factory=list)
    platforms: list[tuple[Platform, Metrics]] = field(default_factory=list)
    # Staff reports: each department's figures for the month (tallies/departments.py).
    departments: list[tuple[Department, Metrics]] = field(default_factory=list)


def current_month(now: datetime) -> date:
    return compute.month_start(to_local(now).date())


def report_years(now: datetime) -> list[int]:
    """Years from the first platform's founding to this one, newest first."""
    first = db.session.scalar(sa.select(sa.func.min(Platform.established_on)))
    this_year = to_local(now).year
    if first is None:
        return [this_year]
    return list(range(this_year, min(first.year, this_year) - 1, -1))


def year_months(year: int, now: datetime) -> list[date]:
    """The months of ``year`` that have begun by ``now``."""
    this_month = current_month(now)
    return [date(year, m, 1) for m in range(1, 13) if date(year, m, 1) <= this_month]


def districts() -> list[Area]:
    return list(db.session.scalars(
        sa.select(Area).where(Area.level == AreaLevel.DISTRICT).order_by(Area.code)))


def district_by_code(code: str) -> Area | None:
    return db.session.scalar(
        sa.select(Area).where(Area.level == AreaLevel.DISTRICT, Area.code == code))


def zero_metrics() -> Metrics:
    """Every metric at zero (shares and median empty): a scope with nothing in it."""
    return compute.finish(Counter(), [])


def year_totals(months: list[Metrics]) -> Metrics:
    """Add up the months as docs/metrics.md's year does: flows summed, stocks from the last."""
    if not months:
        return {**zero_metrics(), **dict.fromkeys(NOT_ANNUAL)}
    summed: Counter[str] = Counter()
    for metrics in months:
        for key, value in metrics.items():
            if value and type(value) is int:
                summed[key] += value
    totals = compute.finish(summed, [])  # the shares follow from the sums, as for one month
    totals.update({name: months[-1][name] for name in STOCKS})
    totals.update(dict.fromkeys(NOT_ANNUAL))
    return totals


def _frozen_rows(first: date, last: date, where: sa.ColumnElement[bool]) -> list[Any]:
    return list(db.session.execute(
        sa.select(MonthlyTally.month, MonthlyTally.scope_key, MonthlyTally.area_id,
                  MonthlyTally.platform_id, MonthlyTally.metrics, MonthlyTally.computed_at)
        .where(MonthlyTally.month >= first, MonthlyTally.month <= last,
               sa.or_(MonthlyTally.scope_key == "city", where))))


def _by_month(rows: list[Any], this_month: date, now: datetime, *, final: bool = True,
              ) -> dict[date, dict[str, Metrics]]:
    """Stored rows by month and scope key: the final ones (``final``), or else the recent
    provisional ones (computed by the scheduler within ``TALLY_LIVE_MAX_AGE_MINUTES``)."""
    kept: dict[date, dict[str, Metrics]] = {}
    for row in rows:
        done = row.month < this_month and compute.is_final(row.month, row.computed_at)
        if done if final else (not done and compute.usable(row.month, row.computed_at, now)):
            kept.setdefault(row.month, {})[row.scope_key] = row.metrics
    return {month: keys for month, keys in kept.items() if "city" in keys}


def _live(month: date, scope: ReportScope, *, platforms: bool = False) -> dict[str, Metrics]:
    """A month not frozen yet, counted now: the whole city, or only the scope's district."""
    district_ids = None if scope.is_city else [scope.district.id]
    return {key: metrics for key, (_scope, metrics)
            in compute.compute_month(month, district_ids, platforms=platforms).items()}


def load_year(year: int, scope: ReportScope, now: datetime, *,
              with_departments: bool = False) -> YearReport:
    """The year's months for ``scope`` (and each district, for the city): frozen rows in one
    query, only the months not frozen yet computed live. ``with_departments`` adds each
    department's figures for the year (staff reports), read by the same query."""
    months = year_months(year, now)
    areas = districts() if scope.is_city else []
    if not months:
        return YearReport(year, scope, [], year_totals([]),
                          [(area, year_totals([])) for area in areas])
    wanted = (MonthlyTally.scope == TallyScope.DISTRICT if scope.is_city
              else MonthlyTally.scope_key == scope.key)
    if with_departments:
        wanted = sa.or_(wanted, _department_rows(scope))
    stored = _frozen_rows(months[0], months[-1], wanted)
    frozen = _by_month(stored, current_month(now), now)
    recent = _by_month(stored, current_month(now), now, final=False)
    kept = {month: frozen.get(month) or recent.get(month) for month in months}
    by_month = {month: kept[month] or _live(month, scope) for month in months}
    rows = [MonthRow(month, by_month[month].get(scope.key) or zero_metrics(),
                     month not in frozen) for month in months]
    per_district = [(area, year_totals([by_month[m].get(f"district:{area.id}") or zero_metrics()
                                        for m in months])) for area in areas]
    report = YearReport(year, scope, rows, year_totals([row.metrics for row in rows]),
                        per_district)
    if with_departments:
        figures = {month: _department_figures(kept[month]) if kept[month] is not None
                   else _live_departments(month, scope) for month in months}
        ids = sorted({i for by_id in figures.values() for i in by_id})
        report.departments = [
            (department, departments.sum_months([figures[m].get(department.id, {})
                                                 for m in months]))
            for department in _departments(ids)]
    return report


def load_month(month: date, scope: ReportScope, now: datetime, *,
               with_platforms: bool = False, with_departments: bool = False) -> MonthReport:
    """One month for ``scope``: its districts (city) or, on request, its platforms (district)
    and its departments (staff reports), all stored rows read by one query."""
    areas = districts() if scope.is_city else []
    if scope.is_city:
        wanted = MonthlyTally.scope == TallyScope.DISTRICT
    elif with_platforms:
        wanted = sa.or_(MonthlyTally.scope_key == scope.key,
                        sa.and_(MonthlyTally.scope == TallyScope.PLATFORM,
                                MonthlyTally.area_id == scope.district.id))
    else:
        wanted = MonthlyTally.scope_key == scope.key
    if with_departments:
        wanted = sa.or_(wanted, _department_rows(scope))
    stored = _frozen_rows(month, month, wanted)
    frozen = _by_month(stored, current_month(now), now).get(month)
    recent = _by_month(stored, current_month(now), now, final=False).get(month)
    keyed = frozen or recent or _live(month, scope, platforms=with_platforms)
    report = MonthReport(month, scope, keyed.get(scope.key) or zero_metrics(), frozen is None)
    report.districts = [(area, keyed.get(f"district:{area.id}") or zero_metrics())
                        for area in areas]
    if with_platforms and not scope.is_city:
        report.platforms = _platform_rows(scope.district, keyed)
    if with_departments:
        figures = (_department_figures(keyed) if frozen or recent
                   else _live_departments(month, scope))
        report.departments = [(department, figures[department.id])
                              for department in _departments(sorted(figures))]
    return report


def _platform_rows(district: Area, keyed: dict[str, Metrics]) -> list[tuple[Platform, Metrics]]:
    """The district's platforms that have figures this month (founded by its end), by name."""
    platforms = db.session.scalars(
        sa.select(Platform).where(Platform.district_id == district.id)
        .order_by(Platform.name, Platform.id))
    return [(p, keyed[f"platform:{p.id}"]) for p in platforms if f"platform:{p.id}" in keyed]


# --- Departments (承办单位) ------------------------------------------------------------------


def _department_rows(scope: ReportScope) -> sa.ColumnElement[bool]:
    """The stored department rows a report shows: every department's on the city's, a
    district's own on its (a city department's figures are the city's, on its report)."""
    where = MonthlyTally.scope == TallyScope.DEPARTMENT
    if not scope.is_city:
        where = sa.and_(where, MonthlyTally.area_id == scope.district.id)
    return where


def _department_figures(keyed: dict[str, Metrics]) -> dict[int, Metrics]:
    return {int(key.partition(":")[2]): _stored_department(metrics)
            for key, metrics in keyed.items() if key.startswith("department:")}


def _stored_department(metrics: Metrics) -> Metrics:
    """A stored department row as every reader sees it: every figure, derived ones redone."""
    return departments.finish(metrics, float(metrics.get("reply_days_total") or 0))


def _live_departments(month: date, scope: ReportScope) -> dict[int, Metrics]:
    if scope.is_city:
        return departments.compute_departments(month)
    figures = departments.compute_departments(month, [scope.district.id])
    own = departments.department_districts(figures)
    return {i: metrics for i, metrics in figures.items() if own.get(i) == scope.district.id}


def _departments(ids: list[int]) -> list[Department]:
    """Departments in report order: the city's first, then each district's (by its code),
    by name within."""
    if not ids:
        return []
    found = db.session.scalars(
        sa.select(Department).outerjoin(Area, Area.id == Department.district_id)
        .where(Department.id.in_(ids))
        .order_by(Department.district_id.is_not(None), Area.code, Department.name,
                  Department.id))
    return list(found)


def zero_department() -> Metrics:
    return departments.finish({}, 0.0)


def load_department(month: date, department: Department, now: datetime,
                    ) -> tuple[Metrics, bool]:
    """One department's figures for a month, and whether they are counted now (not final).

    Counted now, a district's department is counted over its district's problems only (the
    ones it can be assigned), a city department over the whole city's."""
    key = f"department:{department.id}"
    stored = _frozen_rows(month, month, MonthlyTally.scope_key == key)
    frozen = _by_month(stored, current_month(now), now).get(month)
    recent = _by_month(stored, current_month(now), now, final=False).get(month)
    keyed = frozen or recent
    if keyed is not None:
        figures = keyed.get(key)
        return (_stored_department(figures) if figures else zero_department()), frozen is None
    district_ids = None if department.district_id is None else [department.district_id]
    live = departments.compute_departments(month, district_ids).get(department.id)
    return live or zero_department(), True
