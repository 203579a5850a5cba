"""Monthly tallies: the figures of docs/metrics.md, counted from the records.

Everything is counted per platform with a handful of GROUP BY queries, then
summed into each district and the city, so the three scopes always agree.
Definitions live in docs/metrics.md; change both together.
"""

from __future__ import annotations

import json
import statistics
from collections import Counter, defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import aliased

from consult_hub.core.categories import Category
from consult_hub.core.db import utcnow
from consult_hub.core.timefmt import local_month_bounds, to_local
from consult_hub.events.models import Event, EventStatus, event_attendees
from consult_hub.extensions import db
from consult_hub.issues.models import (
    DUE_STATUSES,
    Issue,
    IssueKind,
    IssueStatus,
    IssueUpdate,
    Satisfaction,
)
from consult_hub.platforms.models import Platform, PlatformStatus, PlatformStatusChange
from consult_hub.tallies import cppcc, departments
from consult_hub.tallies.models import COUNT_KEYS, MonthlyTally, TallyScope


def month_start(value: date) -> date:
    return date(value.year, value.month, 1)


def next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def parse_month(text: str) -> date:
    """``2024-11`` → date(2024, 11, 1); ValueError with a clear message otherwise."""
    try:
        parsed = datetime.strptime(text.strip(), "%Y-%m")
    except ValueError:
        raise ValueError(f"month must look like 2024-11, not {text!r}") from None
    return date(parsed.year, parsed.month, 1)


@dataclass
class Scope:
    kind: TallyScope
    key: str
    area_id: int | None = None
    platform_id: int | None = None
    department_id: int | None = None


class _Sheet:
    """Per-platform counters, later summed into districts and the city."""

    def __init__(self) -> None:
        self.counts: dict[int, Counter[str]] = defaultdict(Counter)
        self.days: dict[int, list[float]] = defaultdict(list)

    def add(self, rows: Any, metric: str) -> None:
        for platform_id, value in rows:
            self.counts[platform_id][metric] += int(value or 0)


def _count(table_col: Any, *where: Any, group: Any = None) -> sa.Select:
    group = group if group is not None else table_col
    return sa.select(group, sa.func.count()).where(*where).group_by(group)


def _status_at_end(last_day: date, in_area: tuple[Any, ...]) -> dict[int, PlatformStatus]:
    """The status at ``last_day`` of the platforms (established by then) whose status changed
    later: the one their first later change started from. Every other platform has had its
    present status since (docs/metrics.md); openings are left out (a platform is active from
    its founding), and few platforms change, so this reads a handful of history rows (a partial
    index), not a nation's platforms."""
    then: dict[int, PlatformStatus] = {}
    for platform_id, before in db.session.execute(
            sa.select(PlatformStatusChange.platform_id, PlatformStatusChange.from_status)
            .join(Platform, Platform.id == PlatformStatusChange.platform_id)
            .where(PlatformStatusChange.effective_on > last_day,
                   PlatformStatusChange.from_status.is_not(None),
                   Platform.established_on <= last_day, *in_area)
            .order_by(PlatformStatusChange.platform_id, PlatformStatusChange.effective_on,
                      PlatformStatusChange.id)):
        then.setdefault(platform_id, before)
    return then


def collect(month: date, district_ids: Collection[int] | None = None,
            ) -> tuple[dict[int, int], _Sheet]:
    """Count the month per platform; returns (platform → district, the sheet).

    ``district_ids`` limits the count to those districts' platforms (one city's districts
    in a database that holds many); every query then starts from the district indexes.
    """
    start, end = local_month_bounds(month.year, month.month)
    last_day = next_month(month) - timedelta(days=1)
    sheet = _Sheet()
    session = db.session
    in_area: tuple[Any, ...] = ()
    event_area: tuple[Any, ...] = ()
    issue_area: tuple[Any, ...] = ()
    if district_ids is not None:
        ids = sorted(set(district_ids))
        in_area = (Platform.district_id.in_(ids),)
        event_area = (Event.platform_id.in_(
            sa.select(Platform.id).where(Platform.district_id.in_(ids))),)
        issue_area = (Issue.district_id.in_(ids),)
    platforms = session.execute(
        sa.select(Platform.id, Platform.district_id, Platform.established_on,
                  Platform.is_demonstration, Platform.demonstration_year, Platform.status)
        .where(Platform.established_on <= last_day, *in_area)
    ).all()
    districts = {row.id: row.district_id for row in platforms}
    then = _status_at_end(last_day, in_area)
    for row in platforms:
        counts = sheet.counts[row.id]
        if then.get(row.id, row.status) is not PlatformStatus.CLOSED:
            counts["platforms_total"] += 1
            if row.is_demonstration and (row.demonstration_year or 0) <= month.year:
                counts["platforms_demonstration"] += 1
        if row.established_on >= month:
            counts["platforms_new"] += 1

    # Held events: count, category split, activity and residents in one pass over the month.
    held = (Event.happened, Event.starts_at >= start, Event.starts_at < end, *event_area)
    for platform_id, category, n, residents in session.execute(
            sa.select(Event.platform_id, Event.category, sa.func.count(),
                      sa.func.sum(Event.resident_count))
            .where(*held).group_by(Event.platform_id, Event.category)):
        counts = sheet.counts[platform_id]
        counts["events_held"] += n
        counts[f"events_held.category.{Category(category).value}"] += n
        counts["resident_attendance"] += int(residents or 0)
        counts["platforms_active"] = 1
    sheet.add(session.execute(_count(
        Event.platform_id, Event.status == EventStatus.CANCELLED, Event.starts_at >= start,
        Event.starts_at < end, *event_area)), "events_cancelled")
    sheet.add(session.execute(
        sa.select(Event.platform_id, sa.func.count()).select_from(event_attendees)
        .join(Event, Event.id == event_attendees.c.event_id).where(*held)
        .group_by(Event.platform_id)), "member_attendance")

    # Problems raised: count and both splits from one grouped query.
    for platform_id, category, kind, n in session.execute(
            sa.select(Issue.platform_id, Issue.category, Issue.kind, sa.func.count())
            .where(Issue.created_at >= start, Issue.created_at < end, *issue_area)
            .group_by(Issue.platform_id, Issue.category, Issue.kind)):
        counts = sheet.counts[platform_id]
        counts["issues_raised"] += n
        # A submission still waiting for review has no kind or category yet (staff give
        # them at 受理): it counts as raised, and in the splits once classified.
        if category is not None:
            counts[f"issues_raised.category.{Category(category).value}"] += n
        if kind is not None:
            counts[f"issues_raised.kind.{IssueKind(kind).value}"] += n
    # Problems resolved: one row each (a month's are few), for the splits and the median.
    for platform_id, category, kind, created, resolved_at in session.execute(
            sa.select(Issue.platform_id, Issue.category, Issue.kind, Issue.created_at,
                      Issue.resolved_at)
            .where(Issue.status == IssueStatus.RESOLVED, Issue.resolved_at >= start,
                   Issue.resolved_at < end, *issue_area)):
        counts = sheet.counts[platform_id]
        counts["issues_resolved"] += 1
        counts[f"issues_resolved.category.{Category(category).value}"] += 1
        counts[f"issues_resolved.kind.{IssueKind(kind).value}"] += 1
        sheet.days[platform_id].append((resolved_at - created).total_seconds() / 86400)

    # Planned in the month: the problem is planned now and its latest move to "planned" falls
    # in the month. Starting from the month's timeline entries keeps this to an index range.
    later_plan = aliased(IssueUpdate)
    sheet.add(session.execute(
        sa.select(Issue.platform_id, sa.func.count(sa.distinct(Issue.id)))
        .select_from(IssueUpdate).join(Issue, Issue.id == IssueUpdate.issue_id)
        .where(IssueUpdate.to_status == IssueStatus.PLANNED, IssueUpdate.created_at >= start,
               IssueUpdate.created_at < end, Issue.status == IssueStatus.PLANNED, *issue_area,
               ~sa.exists().where(later_plan.issue_id == IssueUpdate.issue_id,
                                  later_plan.to_status == IssueStatus.PLANNED,
                                  later_plan.created_at > IssueUpdate.created_at))
        .group_by(Issue.platform_id)), "issues_planned")
    for status, metric in ((IssueStatus.CONSTRAINED, "issues_constrained"),
                           (IssueStatus.REJECTED, "issues_rejected")):
        sheet.add(session.execute(_count(
            Issue.platform_id, Issue.status == status, Issue.closed_at >= start,
            Issue.closed_at < end, *issue_area)), metric)

    # Open at the month's end: still open now, or closed only after the end. Two index ranges
    # on closed_at (open problems are few) instead of a pass over every problem ever raised.
    columns = (Issue.platform_id, Issue.status, Issue.due_on, Issue.planned_on)
    open_at_end = sa.union_all(
        sa.select(*columns).where(Issue.closed_at.is_(None), Issue.created_at < end, *issue_area),
        sa.select(*columns).where(Issue.closed_at >= end, Issue.created_at < end, *issue_area),
    ).subquery()
    first_day_after = last_day + timedelta(1)
    overdue = sa.or_(
        sa.and_(open_at_end.c.status.in_(DUE_STATUSES), open_at_end.c.due_on < first_day_after),
        sa.and_(open_at_end.c.status == IssueStatus.PLANNED,
                open_at_end.c.planned_on < first_day_after))
    for platform_id, backlog, late in session.execute(
            sa.select(open_at_end.c.platform_id, sa.func.count(),
                      sa.func.sum(sa.case((overdue, 1), else_=0)))
            .group_by(open_at_end.c.platform_id)):
        sheet.counts[platform_id]["issues_backlog_end"] += int(backlog)
        sheet.counts[platform_id]["issues_overdue_end"] += int(late or 0)

    for platform_id, satisfaction, n in session.execute(
            sa.select(Issue.platform_id, Issue.satisfaction, sa.func.count())
            .where(Issue.rated_at >= start, Issue.rated_at < end, *issue_area)
            .group_by(Issue.platform_id, Issue.satisfaction)):
        sheet.counts[platform_id]["satisfaction_rated"] += n
        sheet.counts[platform_id][f"satisfaction_{Satisfaction(satisfaction).value}"] += n
    # Activity before a recorded founding; a submission waiting for review without a
    # platform (Open311) counts for no platform.
    strays = sorted(set(sheet.counts) - set(districts) - {None})
    if strays:
        districts.update(session.execute(
            sa.select(Platform.id, Platform.district_id).where(Platform.id.in_(strays))).all())
    return districts, sheet


_ZEROS = dict.fromkeys(COUNT_KEYS, 0)


def finish(counts: Counter[str], days: list[float]) -> dict[str, Any]:
    """Fill every metric (zeros included) and derive the shares and the median."""
    metrics: dict[str, Any] = dict(_ZEROS)
    # ``counts`` holds only what happened: a few keys for most of a nation's 300,000 platforms.
    for key, value in counts.items():
        if key in metrics:
            metrics[key] = int(value or 0)
    outcomes = (metrics["issues_resolved"] + metrics["issues_planned"]
                + metrics["issues_constrained"])
    metrics["resolution_share"] = (round(metrics["issues_resolved"] / outcomes, 4)
                                   if outcomes else None)
    metrics["median_days_to_resolve"] = round(statistics.median(days), 1) if days else None
    rated = metrics["satisfaction_rated"]
    metrics["satisfaction_share"] = (
        round((metrics["satisfaction_satisfied"] + metrics["satisfaction_basically"]) / rated, 4)
        if rated else None)
    cppcc.derive(metrics)
    return metrics


def compute_month(month: date, district_ids: Collection[int] | None = None, *,
                  platforms: bool = True) -> dict[str, tuple[Scope, dict[str, Any]]]:
    """The month's metrics for the city, every district and every platform, by scope key.

    With ``district_ids``, only those districts and their platforms; "city" is then their sum.
    ``platforms=False`` leaves out the platforms' own figures (a report of the city or its
    districts needs only their sums, and finishing 1,500 platforms was most of the time).
    """
    month = month_start(month)
    districts, sheet = collect(month, district_ids)
    result: dict[str, tuple[Scope, dict[str, Any]]] = {}
    by_district: dict[int, Counter[str]] = defaultdict(Counter)
    days_by_district: dict[int, list[float]] = defaultdict(list)
    for platform_id in sorted(districts):
        counts, days = sheet.counts.get(platform_id, Counter()), sheet.days.get(platform_id, [])
        district_id = districts[platform_id]
        by_district[district_id].update(counts)
        days_by_district[district_id].extend(days)
        if platforms:
            scope = Scope(TallyScope.PLATFORM, f"platform:{platform_id}", district_id,
                          platform_id)
            result[scope.key] = (scope, finish(counts, days))
    # Opinion reports and proposals: districts' and the city's rows only (tallies/cppcc.py).
    city_only = Counter()
    for district_id, figures in cppcc.collect(month, district_ids).items():
        (by_district[district_id] if district_id is not None else city_only).update(figures)
    city, city_days = Counter(city_only), []  # the districts' sums: 3,000 additions, not 300,000
    for district_id in sorted(by_district):
        scope = Scope(TallyScope.DISTRICT, f"district:{district_id}", district_id)
        result[scope.key] = (scope, finish(by_district[district_id], days_by_district[district_id]))
        city.update(by_district[district_id])
        city_days.extend(days_by_district[district_id])
    result["city"] = (Scope(TallyScope.CITY, "city"), finish(city, city_days))
    return result


def department_scopes(month: date) -> dict[str, tuple[Scope, dict[str, Any]]]:
    """The month's rows of the departments with something to count (tallies/departments.py),
    each keyed ``department:<id>`` and placed in its district (none for a city department)."""
    figures = departments.compute_departments(month)
    districts = departments.department_districts(figures)
    return {f"department:{department_id}": (
        Scope(TallyScope.DEPARTMENT, f"department:{department_id}",
              area_id=districts.get(department_id), department_id=department_id), metrics)
        for department_id, metrics in figures.items()}


# Where tallies/queries.py keeps a year's stored months added up, per process.
FINAL_PARTS = "tallies.final_parts"


def freeze_month(month: date, now: datetime | None = None) -> dict[str, Any]:
    """Compute the month and upsert it into MonthlyTally; returns the city figures.

    Departments get a row each when they had something to count; a department row of the
    month that is no longer borne out by the records (recomputed later) is removed."""
    now = now or utcnow()
    month = month_start(month)
    current_app.extensions.pop(FINAL_PARTS, None)  # the reports' sums of stored months
    computed = compute_month(month)
    computed.update(department_scopes(month))
    db.session.execute(sa.delete(MonthlyTally).where(
        MonthlyTally.month == month, MonthlyTally.scope == TallyScope.DEPARTMENT,
        MonthlyTally.scope_key.not_in([key for key in computed if key.startswith("department:")])))
    if db.session.get_bind().dialect.name == "postgresql":
        _upsert_postgresql(month, computed, now)
    else:
        from sqlalchemy.dialects.sqlite import insert

        rows = [{"month": month, "scope": scope.kind, "scope_key": key,
                 "area_id": scope.area_id, "platform_id": scope.platform_id,
                 "department_id": scope.department_id, "metrics": metrics,
                 "computed_at": now} for key, (scope, metrics) in computed.items()]
        stmt = insert(MonthlyTally)
        db.session.execute(stmt.on_conflict_do_update(
            index_elements=["month", "scope_key"],
            set_={"metrics": stmt.excluded.metrics, "computed_at": stmt.excluded.computed_at,
                  "area_id": stmt.excluded.area_id, "platform_id": stmt.excluded.platform_id,
                  "department_id": stmt.excluded.department_id}),
            rows)
    db.session.commit()
    return computed["city"][1]


_UPSERT_POSTGRESQL = sa.text("""
    INSERT INTO monthly_tallies (month, scope, scope_key, area_id, platform_id, department_id,
                                 metrics, computed_at)
    SELECT :month, s.scope, s.scope_key, s.area_id, s.platform_id, s.department_id, s.metrics,
           :now
    FROM json_to_recordset(CAST(:rows AS json))
         AS s(scope text, scope_key text, area_id integer, platform_id integer,
              department_id integer, metrics json)
    ON CONFLICT (month, scope_key) DO UPDATE
    SET metrics = excluded.metrics, computed_at = excluded.computed_at,
        area_id = excluded.area_id, platform_id = excluded.platform_id,
        department_id = excluded.department_id
""")


def _upsert_postgresql(month: date, computed: dict[str, tuple[Scope, dict[str, Any]]],
                       now: datetime) -> None:
    """The month's rows as one JSON document per 50,000, unpacked by the server.

    A nation's month is 300,000 rows; sent one statement per row (psycopg's executemany)
    the server's work per statement was most of the freeze (33 s of 55)."""
    store = MonthlyTally.__table__.c.metrics.type
    items = list(computed.items())
    for start in range(0, len(items), 50_000):
        rows = [{"scope": scope.kind.value, "scope_key": key, "area_id": scope.area_id,
                 "platform_id": scope.platform_id, "department_id": scope.department_id,
                 "metrics": store.process_bind_param(metrics, None)}
                for key, (scope, metrics) in items[start:start + 50_000]]
        db.session.execute(_UPSERT_POSTGRESQL, {
            "month": month, "now": now,
            "rows": json.dumps(rows, ensure_ascii=False, separators=(",", ":"))})


def frozen_city(month: date) -> dict[str, Any] | None:
    return db.session.scalar(sa.select(MonthlyTally.metrics).where(
        MonthlyTally.month == month_start(month), MonthlyTally.scope_key == "city"))


def is_final(month: date, computed_at: datetime) -> bool:
    """A month's stored tally is final once computed after the month ended (Wuhan time);
    one computed before is provisional (the scheduler's running count of the current month)."""
    return computed_at >= local_month_bounds(month.year, month.month)[1]


def usable(month: date, computed_at: datetime, now: datetime) -> bool:
    """Whether a stored tally may be read: final, or the scheduler's recent provisional count
    (younger than ``TALLY_LIVE_MAX_AGE_MINUTES``; older means the scheduler is not running)."""
    max_age = timedelta(minutes=current_app.config.get("TALLY_LIVE_MAX_AGE_MINUTES", 15))
    return is_final(month, computed_at) or computed_at >= now - max_age


def refresh_current_month(now: datetime) -> date:
    """Store the current month's figures so far (provisional), for the reports to read."""
    month = month_start(to_local(now).date())
    freeze_month(month, now)
    return month


def months_to_freeze(now: datetime) -> list[date]:
    """Complete months since the first record that have no final city tally yet."""
    first = db.session.scalar(sa.select(sa.func.min(Platform.established_on)))
    if first is None:
        return []
    this_month = month_start(to_local(now).date())
    frozen = {month for month, computed_at in db.session.execute(
        sa.select(MonthlyTally.month, MonthlyTally.computed_at).where(
            MonthlyTally.scope_key == "city")) if is_final(month, computed_at)}
    months, month = [], month_start(first)
    while month < this_month:
        if month not in frozen:
            months.append(month)
        month = next_month(month)
    return months


def catch_up(now: datetime) -> list[date]:
    """Freeze every complete month that is missing (on start, and at 02:00 on the 1st)."""
    done = []
    for month in months_to_freeze(now):
        freeze_month(month, now)
        done.append(month)
    return done
