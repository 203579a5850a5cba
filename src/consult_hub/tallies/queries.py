"""Read tallies for the reports: frozen months from the table, the rest computed live.

A month counts as frozen once its city row exists (``freeze_month`` writes every scope of a
month at once); a district with no platforms yet has no row in a frozen month and reads as
zeros. The current month is always computed live, as docs/metrics.md says.
"""

from __future__ import annotations

from collections import Counter, OrderedDict
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app

from consult_hub.areas.models import Area, AreaLevel
from consult_hub.core.timefmt import local_month_bounds, to_local
from consult_hub.departments.models import Department
from consult_hub.extensions import db
from consult_hub.platforms.models import Platform
from consult_hub.proposals.review import ProposalReview, read_review
from consult_hub.tallies import compute, departments
from consult_hub.tallies.models import (
    DEPARTMENT_COUNTS,
    MonthlyTally,
    StoredMetrics,
    TallyScope,
)

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
    departments: list[tuple[DepartmentName, Metrics]] = field(default_factory=list)
    # The session year's proposals in their current state (提案办理回顾, tallies/cppcc.py).
    proposals: ProposalReview | None = None

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
    departments: list[tuple[DepartmentName, Metrics]] = field(default_factory=list)


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
    """Stored rows with their metrics as stored (compact: without zeros and empty figures);
    ``_by_month`` fills in the area rows, department rows are read by ``departments``."""
    return list(db.session.execute(
        sa.select(MonthlyTally.month, MonthlyTally.scope_key, MonthlyTally.area_id,
                  MonthlyTally.platform_id,
                  sa.type_coerce(MonthlyTally.metrics, sa.JSON).label("metrics"),
                  MonthlyTally.computed_at)
        .where(MonthlyTally.month >= first, MonthlyTally.month <= last,
               sa.or_(MonthlyTally.scope_key == "city", where))))


def _by_month(rows: list[Any], this_month: date, now: datetime,
              ) -> tuple[dict[date, dict[str, Metrics]], dict[date, dict[str, Metrics]]]:
    """Stored rows by month and scope key: the final ones, and the recent provisional ones
    (computed by the scheduler within ``TALLY_LIVE_MAX_AGE_MINUTES``). Area and platform rows
    read with every metric (as ``StoredMetrics`` reads them), department rows compact."""
    final: dict[date, dict[str, Metrics]] = {}
    recent: dict[date, dict[str, Metrics]] = {}
    ends: dict[date, datetime] = {}  # each month's end: one lookup per month, not per row
    fresh = now - timedelta(minutes=current_app.config.get("TALLY_LIVE_MAX_AGE_MINUTES", 15))
    for row in rows:
        end = ends.get(row.month)
        if end is None:
            end = ends[row.month] = local_month_bounds(row.month.year, row.month.month)[1]
        if row.month < this_month and row.computed_at >= end:
            kept = final
        elif row.computed_at >= end or row.computed_at >= fresh:  # compute.usable
            kept = recent
        else:
            continue
        metrics = row.metrics
        if not row.scope_key.startswith("department:"):
            metrics = StoredMetrics.whole(metrics)
        kept.setdefault(row.month, {})[row.scope_key] = metrics
    return ({month: keys for month, keys in final.items() if "city" in keys},
            {month: keys for month, keys in recent.items() if "city" in keys})


def _live(month: date, scope: ReportScope, *, platforms: bool = False) -> dict[str, Metrics]:
    """A month not frozen yet, counted now: the whole city, or only the scope's district."""
    district_ids = None if scope.is_city else [scope.district.id]
    return {key: metrics for key, (_scope, metrics)
            in compute.compute_month(month, district_ids, platforms=platforms).items()}


def load_year(year: int, scope: ReportScope, now: datetime, *,
              with_departments: bool = False) -> YearReport:
    """The year's months for ``scope`` (and each district, for the city): frozen rows read,
    only the months not frozen yet computed live. ``with_departments`` adds each
    department's figures for the year (staff reports).

    The year's leading run of stored months (final, or the scheduler's recent count of the
    current month) does not change until one of them is stored again: their districts' and
    departments' rows are added up once (``_final_part``) and kept, keyed by when each of
    those months was stored; per request only the scope's own rows are read."""
    months = year_months(year, now)
    areas = districts() if scope.is_city else []
    if not months:
        return YearReport(year, scope, [], year_totals([]),
                          [(area, year_totals([])) for area in areas])
    this_month = current_month(now)
    wanted = (MonthlyTally.scope == TallyScope.DISTRICT if scope.is_city
              else MonthlyTally.scope_key == scope.key)
    if with_departments:
        wanted = sa.or_(wanted, _department_rows(scope))
    own = _frozen_rows(months[0], months[-1], MonthlyTally.scope_key == scope.key)
    own_final, own_recent = _by_month(own, this_month, now)
    settled = 0  # the leading months with stored rows to read (final or recent)
    while settled < len(months) and (months[settled] in own_final
                                     or months[settled] in own_recent):
        settled += 1
    read, rest = months[:settled], months[settled:]
    kept: dict[date, dict[str, Metrics] | None] = {
        month: own_final.get(month) or own_recent.get(month) for month in months}
    later = [month for month in rest if kept[month] is not None]
    if later:  # stored months after one counted live (the scheduler stopped a while)
        stored = _frozen_rows(later[0], later[-1], wanted)
        later_final, later_recent = _by_month(stored, this_month, now)
        kept.update({month: later_final.get(month) or later_recent.get(month)
                     for month in later})
    by_month = {month: kept[month] or _live(month, scope) for month in months}
    rows = [MonthRow(month, by_month[month].get(scope.key) or zero_metrics(),
                     month not in own_final) for month in months]
    part = None
    if read and (areas or with_departments):
        stamps = tuple((row.month, row.computed_at) for row in own
                       if row.scope_key == "city" and row.month in read)
        part = _final_part(year, scope, wanted, read, stamps, with_departments,
                           this_month, now)
    per_district = [
        (area, part.year_of(f"district:{area.id}") if part and not rest else
         year_totals(([part.districts.get(f"district:{area.id}") or zero_metrics()]
                      if part else [])
                     + [by_month[m].get(f"district:{area.id}") or zero_metrics()
                        for m in rest]))
        for area in areas]
    report = YearReport(year, scope, rows, year_totals([row.metrics for row in rows]),
                        per_district)
    report.proposals = read_review(year, None if scope.is_city else [scope.district.id])
    if with_departments:
        # Stored rows as stored: ``sum_months`` reads their counts and their sum of days.
        figures = [_department_figures(kept[month], finished=False)
                   if kept[month] is not None else _live_departments(month, scope)
                   for month in rest]
        if part is not None:
            figures.insert(0, part.departments)
        ids = sorted({i for by_id in figures for i in by_id})
        report.departments = [
            (department, part.department_year(department.id) if part and not rest else
             departments.sum_months([by_id.get(department.id, {}) for by_id in figures]))
            for department in _departments(ids)]
    return report


@dataclass
class _FinalPart:
    """A year's leading stored months added up so that adding the later months to them
    gives the year: each district as ``year_totals`` reads a month (counts summed, stocks
    from the last month) and each department as ``departments.sum_months`` reads one."""

    districts: dict[str, Metrics]
    departments: dict[int, Metrics]
    # Each district's and department's part read as a whole year, worked out with the part: a
    # past year has no month after it, and every request for it added up the same part again
    # (a third of loading the city's year; 300 departments on the staff page).
    years: dict[str, Metrics]
    department_years: dict[int, Metrics]

    @classmethod
    def of(cls, districts: dict[str, Metrics], by_department: dict[int, Metrics]) -> _FinalPart:
        return cls(districts, by_department,
                   {key: year_totals([metrics]) for key, metrics in districts.items()},
                   {i: departments.sum_months([metrics]) for i, metrics in by_department.items()})

    @property
    def size(self) -> int:
        """Figures kept: the part's own and the years worked out from it."""
        return 2 * (len(self.districts) + len(self.departments))

    def year_of(self, key: str) -> Metrics:
        """``year_totals`` of the district ``key``'s part alone (callers only read it)."""
        return self.years.get(key) or year_totals([zero_metrics()])

    def department_year(self, department_id: int) -> Metrics:
        """``departments.sum_months`` of the department's part alone."""
        return self.department_years.get(department_id) or departments.sum_months([{}])


# Kept per process: at most this many districts' and departments' sums, with the years worked
# out from them, in all (a city's year is a few hundred of each, ~1 KB each); a larger part is
# used once and not kept.
FINAL_PARTS_SIZE = 20_000


def _final_parts() -> OrderedDict[tuple[Any, ...], _FinalPart]:
    """The parts kept by this process (``compute.freeze_month`` empties them; the freeze
    times in each key retire what another process froze again)."""
    return current_app.extensions.setdefault(compute.FINAL_PARTS, OrderedDict())


def _final_part(year: int, scope: ReportScope, wanted: sa.ColumnElement[bool],
                final: list[date], stamps: tuple[Any, ...], with_departments: bool,
                this_month: date, now: datetime) -> _FinalPart:
    """The stored months' districts and departments added up, kept while none of those
    months is stored again (``stamps``: each month with when it was stored)."""
    kept = _final_parts()
    key = (year, scope.key, with_departments, stamps)
    part = kept.get(key)
    if part is not None:
        with suppress(KeyError):  # another thread may just have let it go
            kept.move_to_end(key)
        return part
    stored = _frozen_rows(final[0], final[-1], wanted)
    done, recent = _by_month(stored, this_month, now)
    month_rows = [done.get(month) or recent.get(month) or {} for month in final]
    district_keys = sorted({k for by_key in month_rows for k in by_key
                            if k.startswith("district:")})
    district_parts = {key_: _area_part([by_key.get(key_) or zero_metrics()
                                        for by_key in month_rows])
                      for key_ in district_keys}
    by_department = [_department_figures(by_key, finished=False) for by_key in month_rows]
    ids = sorted({i for by_id in by_department for i in by_id})
    department_parts = {i: _department_part([by_id.get(i, {}) for by_id in by_department])
                        for i in ids}
    part = _FinalPart.of(district_parts, department_parts)
    if part.size <= FINAL_PARTS_SIZE:
        kept[key] = part
        with suppress(KeyError):  # the oldest first, until the rest fit
            while sum(p.size for p in list(kept.values())) > FINAL_PARTS_SIZE:
                kept.popitem(last=False)
    return part


def _area_part(months: list[Metrics]) -> Metrics:
    """Months added up as ``year_totals`` adds them (every int summed), the stocks from the
    last month: a month that ``year_totals`` turns into the same year."""
    summed: Counter[str] = Counter()
    for metrics in months:
        for key, value in metrics.items():
            if value and type(value) is int:
                summed[key] += value
    part = zero_metrics()
    part.update(summed)
    part.update({name: months[-1][name] for name in STOCKS})
    return part


def _department_part(months: list[Metrics]) -> Metrics:
    """Months added up as ``departments.sum_months`` adds them (counts, then the sum of days
    in month order), the stocks from the last month."""
    part: dict[str, Any] = {name: 0 for name in DEPARTMENT_COUNTS}
    days = 0.0
    for metrics in months:
        for name in DEPARTMENT_COUNTS:
            part[name] += int(metrics.get(name) or 0)
        days += float(metrics.get("reply_days_total") or 0)
    last = months[-1] if months else {}
    for name in ("open_end", "overdue_end"):
        part[name] = int(last.get(name) or 0)
    part["reply_days_total"] = days
    return part


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
    frozen, recent = (by_month.get(month) for by_month in
                      _by_month(stored, current_month(now), now))
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


def _department_figures(keyed: dict[str, Metrics], *, finished: bool = True,
                        ) -> dict[int, Metrics]:
    """The stored department rows by department id: with every figure (``finished``), or as
    stored (for ``departments.sum_months``, which reads counts and the sum of days only)."""
    return {int(key.partition(":")[2]): _stored_department(metrics) if finished else metrics
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


@dataclass(frozen=True)
class DepartmentName:
    """What a report shows of a department: its name and its district's (None: the city's)."""

    id: int
    name: str
    district_id: int | None
    district_name: str | None


def _departments(ids: list[int]) -> list[DepartmentName]:
    """Departments in report order: the city's first, then each district's (by its code),
    by name within."""
    if not ids:
        return []
    found = db.session.execute(
        sa.select(Department.id, Department.name, Department.district_id, Area.name)
        .outerjoin(Area, Area.id == Department.district_id)
        .where(Department.id.in_(ids))
        .order_by(Department.district_id.is_not(None), Area.code, Department.name,
                  Department.id))
    return [DepartmentName(*row) for row in found]


def zero_department() -> Metrics:
    return departments.finish({}, 0.0)


def load_department(month: date, department: Department, now: datetime,
                    ) -> tuple[Metrics, bool]:
    """One department's figures for a month, and whether they are counted now (not final).

    Counted now, a district's department is counted over its district's problems only (the
    ones it can be assigned), a city department over the whole city's."""
    key = f"department:{department.id}"
    stored = _frozen_rows(month, month, MonthlyTally.scope_key == key)
    frozen, recent = (by_month.get(month) for by_month in
                      _by_month(stored, current_month(now), now))
    keyed = frozen or recent
    if keyed is not None:
        figures = keyed.get(key)
        return (_stored_department(figures) if figures else zero_department()), frozen is None
    district_ids = None if department.district_id is None else [department.district_id]
    live = departments.compute_departments(month, district_ids).get(department.id)
    return live or zero_department(), True
