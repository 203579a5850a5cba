"""The raw SQL floor of a monthly tally: the core counts in one hand-written statement.

``consult_hub.tallies.compute.compute_month`` counts every metric per platform (with the
category and kind splits, the median days to resolve, planned outcomes from the timeline)
and sums them into districts and the city. The floor is what a database must do at the
least to produce the same *core* totals for the month: one SELECT of scalar subqueries,
each an aggregate over one table using the indexes the app has. The tally's time divided by
the floor's is the price of the app's generality; the totals must agree.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa

# Metrics the floor produces; compute_month's "city" figures must hold the same values.
CORE = ("platforms_total", "platforms_active", "events_held", "events_cancelled",
        "member_attendance", "resident_attendance", "issues_raised", "issues_resolved",
        "issues_constrained", "issues_rejected", "issues_backlog_end", "issues_overdue_end",
        "satisfaction_rated")


def statement(month: date, district_ids: Collection[int] | None = None) -> sa.Select[Any]:
    from consult_hub.core.timefmt import local_month_bounds
    from consult_hub.events.models import Event, EventStatus, event_attendees
    from consult_hub.issues.models import DUE_STATUSES, Issue, IssueStatus
    from consult_hub.platforms.models import Platform, PlatformStatus

    start, end = local_month_bounds(month.year, month.month)
    following = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    last_day = following - timedelta(days=1)
    held = Event.status.in_((EventStatus.HELD, EventStatus.CONCLUDED))
    in_month = (Event.starts_at >= start, Event.starts_at < end)
    platform_area: tuple[Any, ...] = ()
    event_area: tuple[Any, ...] = ()
    issue_area: tuple[Any, ...] = ()
    if district_ids is not None:
        ids = sorted(set(district_ids))
        platform_area = (Platform.district_id.in_(ids),)
        event_area = (Event.platform_id.in_(
            sa.select(Platform.id).where(Platform.district_id.in_(ids))),)
        issue_area = (Issue.district_id.in_(ids),)

    def scalar(stmt: sa.Select[Any], label: str) -> sa.Label[Any]:
        return stmt.scalar_subquery().label(label)

    count = sa.func.count
    events = (sa.select(
        sa.func.sum(sa.case((held, 1), else_=0)).label("held"),
        sa.func.sum(sa.case((Event.status == EventStatus.CANCELLED, 1),
                            else_=0)).label("cancelled"),
        sa.func.sum(sa.case((held, Event.resident_count), else_=0)).label("residents"),
        count(sa.distinct(sa.case((held, Event.platform_id)))).label("active"),
    ).where(*in_month, *event_area)).subquery("month_events")
    open_at_end = (Issue.created_at < end,
                   sa.or_(Issue.closed_at.is_(None), Issue.closed_at >= end))
    due_by = last_day + timedelta(days=1)
    return sa.select(
        scalar(sa.select(count()).select_from(Platform).where(
            Platform.established_on <= last_day, Platform.status != PlatformStatus.CLOSED,
            *platform_area), "platforms_total"),
        sa.func.coalesce(events.c.active, 0).label("platforms_active"),
        sa.func.coalesce(events.c.held, 0).label("events_held"),
        sa.func.coalesce(events.c.cancelled, 0).label("events_cancelled"),
        scalar(sa.select(count()).select_from(event_attendees)
               .join(Event, Event.id == event_attendees.c.event_id)
               .where(held, *in_month, *event_area), "member_attendance"),
        sa.func.coalesce(events.c.residents, 0).label("resident_attendance"),
        scalar(sa.select(count()).select_from(Issue).where(
            Issue.created_at >= start, Issue.created_at < end, *issue_area), "issues_raised"),
        scalar(sa.select(count()).select_from(Issue).where(
            Issue.status == IssueStatus.RESOLVED, Issue.resolved_at >= start,
            Issue.resolved_at < end, *issue_area), "issues_resolved"),
        scalar(sa.select(count()).select_from(Issue).where(
            Issue.status == IssueStatus.CONSTRAINED, Issue.closed_at >= start,
            Issue.closed_at < end, *issue_area), "issues_constrained"),
        scalar(sa.select(count()).select_from(Issue).where(
            Issue.status == IssueStatus.REJECTED, Issue.closed_at >= start,
            Issue.closed_at < end, *issue_area), "issues_rejected"),
        scalar(sa.select(count()).select_from(Issue).where(*open_at_end, *issue_area),
               "issues_backlog_end"),
        scalar(sa.select(count()).select_from(Issue).where(*open_at_end, *issue_area, sa.or_(
            sa.and_(Issue.status.in_(DUE_STATUSES), Issue.due_on < due_by),
            sa.and_(Issue.status == IssueStatus.PLANNED, Issue.planned_on < due_by))),
            "issues_overdue_end"),
        scalar(sa.select(count()).select_from(Issue).where(
            Issue.rated_at >= start, Issue.rated_at < end, *issue_area), "satisfaction_rated"),
    ).select_from(events)


def floor(month: date, district_ids: Collection[int] | None = None) -> dict[str, int]:
    """Run the statement in the current app context; the core totals by metric name."""
    from consult_hub.extensions import db

    row = db.session.execute(statement(month, district_ids)).one()
    return {name: int(value or 0) for name, value in row._mapping.items()}


def differences(app_figures: dict[str, Any], floor_figures: dict[str, int]) -> list[str]:
    """Metrics where the tally and the floor disagree, as ``name app≠floor``."""
    return [f"{name} {app_figures.get(name)}≠{floor_figures[name]}" for name in CORE
            if int(app_figures.get(name) or 0) != floor_figures[name]]
