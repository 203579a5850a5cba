"""Figures for the home page and the signed-in landing page, each in a fixed number of queries."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from consult_hub.areas.models import Area
from consult_hub.auth.models import Role, User
from consult_hub.core.db import utcnow
from consult_hub.core.timefmt import local_today, local_year_bounds, to_local
from consult_hub.events.models import Event, EventStatus
from consult_hub.extensions import db
from consult_hub.issues.models import DUE_STATUSES, Issue, IssueStatus
from consult_hub.platforms.models import Platform, PlatformStatus

HELD = (EventStatus.HELD, EventStatus.CONCLUDED)


@dataclass
class Headline:
    year: int
    platforms: int
    events_held: int
    issues_resolved: int


def headline_years(now: datetime | None = None) -> list[int]:
    """The years in which events were held, newest first."""
    first, last = db.session.execute(
        sa.select(sa.func.min(Event.starts_at), sa.func.max(Event.starts_at)).where(
            Event.status.in_(HELD), Event.starts_at <= (now or utcnow()))
    ).one()
    if first is None:
        return []
    return list(range(to_local(last).year, to_local(first).year - 1, -1))


def default_headline_year(years: list[int], now: datetime | None = None) -> int:
    """The latest complete year with events, as in an annual review; else the latest one."""
    this_year = to_local(now or utcnow()).year
    complete = [year for year in years if year < this_year]
    if complete:
        return complete[0]
    return years[0] if years else this_year


def headline_figures(year: int) -> Headline:
    """The seed's three figures for one year, counted from the records."""
    start, end = local_year_bounds(year)
    platforms = sa.select(sa.func.count(Platform.id)).where(
        Platform.established_on <= date(year, 12, 31), Platform.status != PlatformStatus.CLOSED
    ).scalar_subquery()
    events = sa.select(sa.func.count(Event.id)).where(
        Event.status.in_(HELD), Event.starts_at >= start, Event.starts_at < end
    ).scalar_subquery()
    resolved = sa.select(sa.func.count(Issue.id)).where(
        Issue.status == IssueStatus.RESOLVED, Issue.resolved_at >= start, Issue.resolved_at < end
    ).scalar_subquery()
    row = db.session.execute(sa.select(platforms, events, resolved)).one()
    return Headline(year, row[0], row[1], row[2])


@dataclass
class ScopeRow:
    """One line of the landing table: a platform or a district with its live figures."""

    id: int
    name: str
    platforms: int = 0
    events_this_year: int = 0
    upcoming_events: int = 0
    open_issues: int = 0
    overdue_issues: int = 0


@dataclass
class LandingSummary:
    title: str  # may be a lazy translation
    rows: list[ScopeRow] = field(default_factory=list)
    row_kind: str = "platform"

    @property
    def totals(self) -> ScopeRow:
        total = ScopeRow(0, "合计")
        for row in self.rows:
            for name in ("platforms", "events_this_year", "upcoming_events", "open_issues",
                         "overdue_issues"):
                setattr(total, name, getattr(total, name) + getattr(row, name))
        return total


def _overdue_clause(today: date) -> sa.ColumnElement[bool]:
    return sa.or_(
        sa.and_(Issue.status.in_(DUE_STATUSES), Issue.due_on < today),
        sa.and_(Issue.status == IssueStatus.PLANNED, Issue.planned_on < today),
    )


def landing_summary(user: User, now: datetime | None = None) -> LandingSummary:
    """The user's platforms (coordinator) or districts (staff) with this year's figures."""
    now = now or utcnow()
    today = local_today(now)
    start, end = local_year_bounds(today.year)
    if user.role is Role.COORDINATOR:
        group_col = Platform.id
        names = [(p.id, p.name) for p in user.platforms]
        platform_scope = Platform.id.in_([pid for pid, _ in names])
        summary = LandingSummary(_l("我的平台"), row_kind="platform")
    else:
        group_col = Platform.district_id
        districts = sa.select(Area.id, Area.name).where(Area.parent_id.is_(None)).order_by(Area.code)
        if user.role is Role.DISTRICT_ADMIN:
            districts = districts.where(Area.id == user.district_id)
        names = [(row.id, row.name) for row in db.session.execute(districts)]
        platform_scope = Platform.district_id.in_([did for did, _ in names])
        title = _l("本区概况") if user.role is Role.DISTRICT_ADMIN else _l("各区概况")
        summary = LandingSummary(title, row_kind="district")
    rows = {key: ScopeRow(key, name) for key, name in names}
    if not rows:
        return summary

    def fill(attr: str, stmt: sa.Select) -> None:
        for key, count in db.session.execute(stmt):
            if key in rows:
                setattr(rows[key], attr, count)

    base = sa.select(group_col, sa.func.count()).where(platform_scope).group_by(group_col)
    fill("platforms", base.select_from(Platform).where(Platform.status != PlatformStatus.CLOSED))
    fill("events_this_year", base.select_from(Event).join(Platform).where(
        Event.status.in_(HELD), Event.starts_at >= start, Event.starts_at < end))
    fill("upcoming_events", base.select_from(Event).join(Platform).where(
        Event.status == EventStatus.PLANNED, Event.starts_at >= now))
    fill("open_issues", base.select_from(Issue).join(Platform).where(
        Issue.status.not_in((IssueStatus.RESOLVED, IssueStatus.CONSTRAINED, IssueStatus.REJECTED))))
    fill("overdue_issues", base.select_from(Issue).join(Platform).where(_overdue_clause(today)))
    summary.rows = list(rows.values())
    return summary
