"""Per-department figures (承办单位): docs/metrics.md § Departments. Change both together.

Every timeline entry records the department it concerns and the due date in force after it
(``issue_updates.department_id`` / ``due_on``, written by ``issues/lifecycle.apply``: the
department holding the problem after the entry; for 退回, the one sending it back). So every
figure is a grouped query: over the month's entries, read department by department from the
index on ``(department_id, created_at)``, or, for ratings and what is held at the month's end,
over the problems rated then or open then. Local dates and working days, which SQL does not
know, enter the queries as CASE expressions over the month's days (``_by_local_day``).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from consult_hub.core.db import UTCDateTime
from consult_hub.core.timefmt import local_midnight, local_month_bounds, to_local
from consult_hub.core.workdays import add_workdays
from consult_hub.departments.models import Department
from consult_hub.extensions import db
from consult_hub.issues.models import (
    DEPARTMENT_STATUSES,
    DUE_STATUSES,
    Issue,
    IssueUpdate,
    Satisfaction,
)
from consult_hub.tallies.models import DEPARTMENT_COUNTS

# An assignment is acknowledged in time when 签收 (or 开始办理, or a reply, which imply it)
# comes by the end of the second working day after the day of the assignment.
ACKNOWLEDGE_WORKDAYS = 2
ACKNOWLEDGING = ("acknowledge", "start", "reply")
# What ends an assignment: an acknowledgement after these answers a later one, if any.
ENDS_ASSIGNMENT = ("assign", "return", "reopen")
# Timeline entries counted in the month they happen, by the metric they add to.
COUNTED = {"assign": "assigned", "reply": "replied", "confirm": "confirmed",
           "rework": "reworked", "request_extension": "extensions_requested",
           "approve_extension": "extensions_approved"}
# The entries that give a problem the outcome residents rate: 办结确认 of a department's
# reply, or an outcome staff recorded themselves.
OUTCOMES = ("confirm", "resolve", "constrain")
CHUNK = 5000


@dataclass(frozen=True)
class _Month:
    start: datetime  # UTC instants where the month starts and ends locally
    end: datetime
    days: tuple[date, ...]  # its local days
    district_ids: tuple[int, ...] | None

    @classmethod
    def of(cls, month: date, district_ids: Collection[int] | None) -> _Month:
        start, end = local_month_bounds(month.year, month.month)
        first, after = to_local(start).date(), to_local(end).date()
        days = tuple(first + timedelta(n) for n in range((after - first).days))
        area = None if district_ids is None else tuple(sorted(set(district_ids)))
        return cls(start, end, days, area)

    @property
    def first_day_after(self) -> date:
        return self.days[-1] + timedelta(1)

    def issue_area(self) -> tuple[Any, ...]:
        if self.district_ids is None:
            return ()
        return (Issue.district_id.in_(self.district_ids),)


def _by_local_day(instant: Any, month: _Month, value: Callable[[date], Any],
                  type_: Any) -> sa.Case[Any]:
    """``value(day)`` of the local day on which ``instant`` (a moment of the month) falls:
    a CASE over the month's days, one boundary each, exact whatever the time zone does."""
    whens = [(instant < local_midnight(day + timedelta(1)), sa.literal(value(day), type_))
             for day in month.days[:-1]]
    return sa.case(*whens, else_=sa.literal(value(month.days[-1]), type_))


def _acknowledge_by(day: date) -> datetime:
    """The moment an assignment made on local ``day`` is late to acknowledge."""
    return local_midnight(add_workdays(day, ACKNOWLEDGE_WORKDAYS) + timedelta(1))


def _entries(month: _Month, *columns: Any) -> sa.Select[Any]:
    """The month's timeline entries that concern a department (``IssueUpdate``), reached
    department by department: one index range each, however long the history."""
    query = (sa.select(*columns).select_from(Department)
             .join(IssueUpdate, sa.and_(IssueUpdate.department_id == Department.id,
                                        IssueUpdate.created_at >= month.start,
                                        IssueUpdate.created_at < month.end)))
    if month.district_ids is not None:
        # The problem's district looked up entry by entry: with a join PostgreSQL may read
        # the whole timeline rather than each department's month.
        district = (sa.select(Issue.district_id).where(Issue.id == IssueUpdate.issue_id)
                    .scalar_subquery())
        query = query.where(district.in_(month.district_ids))
    return query


def _count_entries(month: _Month, counts: dict[int, Counter[str]]) -> None:
    """The month's assignments, replies, confirmations, reworks and extensions."""
    for department_id, action, n in db.session.execute(
            _entries(month, IssueUpdate.department_id, IssueUpdate.action, sa.func.count())
            .where(IssueUpdate.action.in_(COUNTED))
            .group_by(IssueUpdate.department_id, IssueUpdate.action)):
        counts[department_id][COUNTED[action]] += n


def _acknowledged_in_time(month: _Month, counts: dict[int, Counter[str]]) -> None:
    """The month's assignments whose first 签收 (or what implies it) before the assignment
    ended (another assignment, 退回 or reopening) came in time."""
    acknowledging, between = aliased(IssueUpdate), aliased(IssueUpdate)
    ended = sa.exists().where(between.issue_id == IssueUpdate.issue_id,
                              between.id > IssueUpdate.id, between.id < acknowledging.id,
                              between.action.in_(ENDS_ASSIGNMENT)
                              ).correlate(IssueUpdate, acknowledging)  # two levels up
    # A scalar subquery, run assignment by assignment over the problem's few entries
    # (PostgreSQL would turn an EXISTS into a join with every acknowledgement ever made).
    first = (sa.select(sa.func.min(acknowledging.created_at))
             .where(acknowledging.issue_id == IssueUpdate.issue_id,
                    acknowledging.id > IssueUpdate.id,
                    acknowledging.action.in_(ACKNOWLEDGING), ~ended)
             .scalar_subquery())
    deadline = _by_local_day(IssueUpdate.created_at, month, _acknowledge_by, UTCDateTime())
    for department_id, n in db.session.execute(
            _entries(month, IssueUpdate.department_id,
                     sa.func.sum(sa.case((first < deadline, 1), else_=0)))
            .where(IssueUpdate.action == "assign")
            .group_by(IssueUpdate.department_id)):
        counts[department_id]["acknowledged_in_time"] += int(n or 0)


def _replies(month: _Month, counts: dict[int, Counter[str]],
             reply_days: dict[int, float]) -> None:
    """The month's replies on time (their local date on or before the due date recorded with
    them) and the days from the assignment each answers (the problem's latest before it)."""
    assignment = aliased(IssueUpdate)
    assigned_at = (sa.select(assignment.created_at)
                   .where(assignment.issue_id == IssueUpdate.issue_id,
                          assignment.action == "assign", assignment.id < IssueUpdate.id)
                   .order_by(assignment.id.desc()).limit(1).scalar_subquery())
    replied_on = _by_local_day(IssueUpdate.created_at, month, lambda day: day, sa.Date())
    on_time = sa.case((IssueUpdate.due_on >= replied_on, 1), else_=0)
    # Whole seconds (SQLite's epoch has no fraction): the sum is kept to 1/10,000 of a day.
    seconds = sa.extract("epoch", IssueUpdate.created_at) - sa.extract("epoch", assigned_at)
    for department_id, in_time, total in db.session.execute(
            _entries(month, IssueUpdate.department_id, sa.func.sum(on_time),
                     sa.func.sum(seconds))
            .where(IssueUpdate.action == "reply").group_by(IssueUpdate.department_id)):
        counts[department_id]["replied_on_time"] += int(in_time or 0)
        reply_days[department_id] += float(total or 0) / 86400


def _ratings(month: _Month, counts: dict[int, Counter[str]]) -> None:
    """Problems rated in the month, for the department recorded on the entry that gave them
    their outcome (the problem's department when its timeline has none)."""
    outcome = aliased(IssueUpdate)
    outcome_department = (sa.select(outcome.department_id)
                          .where(outcome.issue_id == Issue.id, outcome.action.in_(OUTCOMES))
                          .order_by(outcome.id.desc()).limit(1).scalar_subquery())
    rated = (sa.select(sa.func.coalesce(outcome_department, Issue.department_id)
                       .label("department_id"), Issue.satisfaction)
             .where(Issue.rated_at >= month.start, Issue.rated_at < month.end,
                    Issue.satisfaction.is_not(None), *month.issue_area())
             .subquery())
    for department_id, satisfaction, n in db.session.execute(
            sa.select(rated.c.department_id, rated.c.satisfaction, sa.func.count())
            .group_by(rated.c.department_id, rated.c.satisfaction)):
        if department_id is None:  # answered by staff while no department held it
            continue
        counts[department_id]["rated"] += n
        counts[department_id][f"rated_{Satisfaction(satisfaction).value}"] += n


def _broad(condition: sa.ColumnElement[bool]) -> sa.ColumnElement[bool]:
    """``condition``, marked as true of most rows for SQLite's planner. Without range
    statistics SQLite may read the problems by ``created_at`` (nearly all of them for a recent
    month) rather than by ``closed_at`` (the few closed since); the months counted again and
    again (the current one every ten minutes, the last at its freeze) are recent. PostgreSQL's
    statistics choose well by themselves."""
    if db.session.get_bind().dialect.name == "sqlite":
        return sa.func.likely(condition, type_=sa.Boolean)
    return condition


def _held_at_end(month: _Month, counts: dict[int, Counter[str]]) -> None:
    """Problems a department held at the month's end (its last entry before then left the
    problem with the department), and those of them overdue by the due date then."""
    area, raised = month.issue_area(), _broad(Issue.created_at < month.end)
    open_at_end = sa.union_all(  # two index ranges on closed_at, as for the backlog
        sa.select(Issue.id).where(Issue.closed_at.is_(None), raised, *area),
        sa.select(Issue.id).where(Issue.closed_at >= month.end, raised, *area),
    ).subquery()
    earlier = aliased(IssueUpdate)
    last = (sa.select(sa.func.max(earlier.id))
            .where(earlier.issue_id == open_at_end.c.id, earlier.created_at < month.end)
            .scalar_subquery())
    # The entries looked up by their keys (a join on the subquery has PostgreSQL hash the
    # whole timeline instead).
    ends = sa.select(last).select_from(open_at_end)
    overdue = sa.and_(IssueUpdate.to_status.in_(DUE_STATUSES),
                      IssueUpdate.due_on < month.first_day_after)
    for department_id, held, late in db.session.execute(
            sa.select(IssueUpdate.department_id, sa.func.count(),
                      sa.func.sum(sa.case((overdue, 1), else_=0)))
            .where(IssueUpdate.id.in_(ends), IssueUpdate.to_status.in_(DEPARTMENT_STATUSES),
                   IssueUpdate.department_id.is_not(None))
            .group_by(IssueUpdate.department_id)):
        counts[department_id]["open_end"] += held
        counts[department_id]["overdue_end"] += int(late or 0)


def finish(counts: Counter[str] | dict[str, Any], reply_days: float) -> dict[str, Any]:
    """Every department metric (zeros included) with the shares and the average."""
    metrics: dict[str, Any] = {name: int(counts.get(name, 0) or 0) for name in DEPARTMENT_COUNTS}
    metrics["reply_days_total"] = round(float(reply_days), 4)

    def share(part: str, whole: str) -> float | None:
        return round(metrics[part] / metrics[whole], 4) if metrics[whole] else None

    metrics["acknowledged_share"] = share("acknowledged_in_time", "assigned")
    metrics["on_time_share"] = share("replied_on_time", "replied")
    metrics["average_days_to_reply"] = (round(reply_days / metrics["replied"], 1)
                                        if metrics["replied"] else None)
    good = metrics["rated_satisfied"] + metrics["rated_basically"]
    metrics["satisfaction_share"] = round(good / metrics["rated"], 4) if metrics["rated"] else None
    return metrics


def sum_months(months: list[dict[str, Any]]) -> dict[str, Any]:
    """Months added up: counts and the sum of days summed, stocks (open and overdue at the
    end) from the last month, shares and the average from the sums."""
    counts = dict.fromkeys(DEPARTMENT_COUNTS, 0)
    days = 0.0
    for metrics in months:
        for name in DEPARTMENT_COUNTS:
            value = metrics.get(name)
            if value:
                counts[name] += int(value)
        days += float(metrics.get("reply_days_total") or 0)
    last = months[-1] if months else {}
    for name in ("open_end", "overdue_end"):
        counts[name] = int(last.get(name) or 0)
    return finish(counts, days)


def compute_departments(month: date, district_ids: Collection[int] | None = None,
                        ) -> dict[int, dict[str, Any]]:
    """The month's figures of every department with something to count, by department id.

    With ``district_ids``, only problems of those districts count (a district's report: its
    own departments handle only its problems)."""
    counted = _Month.of(month, district_ids)
    counts: dict[int, Counter[str]] = defaultdict(Counter)
    reply_days: dict[int, float] = defaultdict(float)
    _count_entries(counted, counts)
    _acknowledged_in_time(counted, counts)
    _replies(counted, counts, reply_days)
    _ratings(counted, counts)
    _held_at_end(counted, counts)
    return {department: finish(figures, reply_days.get(department, 0.0))
            for department, figures in sorted(counts.items()) if any(figures.values())}


def _chunks(ids: list[int]) -> Iterator[list[int]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start:start + CHUNK]


def department_districts(ids: Collection[int]) -> dict[int, int | None]:
    """Each department's district (None: a city department), for the stored rows' area."""
    found: dict[int, int | None] = {}
    for chunk in _chunks(sorted(ids)):
        found.update((row.id, row.district_id) for row in db.session.execute(
            sa.select(Department.id, Department.district_id).where(Department.id.in_(chunk))))
    return found
