"""Read-side queries of the report pages: the list with its counts, one report's page, the
records a report is written from, and the reports linked to an event or a problem."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy.orm import selectinload

from consult_hub.areas.models import Area
from consult_hub.auth.models import Role, User
from consult_hub.core.categories import Category
from consult_hub.core.db import contains_text
from consult_hub.core.timefmt import local_month_bounds, local_year_bounds, to_local
from consult_hub.events.models import Event
from consult_hub.extensions import db
from consult_hub.issues.models import Issue
from consult_hub.issues.queries import platform_choices
from consult_hub.members.models import Member
from consult_hub.opinions.access import report_scope
from consult_hub.opinions.models import (
    OpinionReport,
    OpinionSource,
    OpinionStatus,
    opinion_report_events,
    opinion_report_issues,
)
from consult_hub.platforms.models import Platform, PlatformStatus, platform_members

PER_PAGE = 25


def report_day() -> sa.ColumnElement[datetime]:
    """The moment a report is listed and counted by: when it was sent, else when written."""
    return sa.func.coalesce(OpinionReport.submitted_at, OpinionReport.created_at)


@dataclass
class ReportFilters:
    """What the list is narrowed to; empty fields do not filter."""

    year: int | None = None
    month: int | None = None  # only with a year
    status: OpinionStatus | None = None
    category: Category | None = None
    livelihood: bool | None = None
    source: OpinionSource | None = None
    district_id: int | None = None
    text: str = ""


def _where(user: User, filters: ReportFilters) -> list[sa.ColumnElement[bool]]:
    """Every condition but the status one (the status counts ignore it)."""
    clauses = [report_scope(user)]
    if filters.year is not None:
        start, end = (local_month_bounds(filters.year, filters.month) if filters.month
                      else local_year_bounds(filters.year))
        clauses += [report_day() >= start, report_day() < end]
    for column, value in ((OpinionReport.category, filters.category),
                          (OpinionReport.source, filters.source),
                          (OpinionReport.district_id, filters.district_id),
                          (OpinionReport.is_livelihood, filters.livelihood)):
        if value is not None:
            clauses.append(column == value)
    text = filters.text.strip()
    if text:
        clauses.append(sa.or_(contains_text(OpinionReport.title, text),
                              contains_text(OpinionReport.reference, text)))
    return clauses


def status_counts(user: User, filters: ReportFilters) -> dict[OpinionStatus, int]:
    """How many reports match the filters in each status, in one grouped query."""
    counts = dict.fromkeys(OpinionStatus, 0)
    rows = db.session.execute(
        sa.select(OpinionReport.status, sa.func.count(OpinionReport.id))
        .where(*_where(user, filters)).group_by(OpinionReport.status))
    counts.update({status: count for status, count in rows})
    return counts


def livelihood_count(user: User, filters: ReportFilters) -> int:
    """How many of the listed reports (status filter included) are tagged 民生实事."""
    stmt = sa.select(sa.func.count(OpinionReport.id)).where(
        *_where(user, filters), OpinionReport.is_livelihood.is_(True))
    if filters.status is not None:
        stmt = stmt.where(OpinionReport.status == filters.status)
    return db.session.scalar(stmt) or 0


def report_page(user: User, filters: ReportFilters, page: int,
                per_page: int = PER_PAGE) -> Pagination:
    stmt = sa.select(OpinionReport).where(*_where(user, filters))
    if filters.status is not None:
        stmt = stmt.where(OpinionReport.status == filters.status)
    stmt = stmt.order_by(report_day().desc(), OpinionReport.id.desc()).options(
        selectinload(OpinionReport.platform), selectinload(OpinionReport.member),
        selectinload(OpinionReport.district), selectinload(OpinionReport.author))
    return db.paginate(stmt, page=page, per_page=per_page, error_out=False)


def report_years(user: User) -> list[int]:
    """The years the user's reports fall in (local time), newest first, for the filter."""
    first = db.session.scalar(sa.select(sa.func.min(report_day())).where(report_scope(user)))
    last = db.session.scalar(sa.select(sa.func.max(report_day())).where(report_scope(user)))
    if first is None or last is None:
        return []
    return list(range(to_local(last).year, to_local(first).year - 1, -1))


def report_for_page(report_id: int) -> OpinionReport | None:
    return db.session.scalar(
        sa.select(OpinionReport).where(OpinionReport.id == report_id).options(
            selectinload(OpinionReport.platform), selectinload(OpinionReport.member),
            selectinload(OpinionReport.district), selectinload(OpinionReport.author),
            selectinload(OpinionReport.events).selectinload(Event.platform),
            selectinload(OpinionReport.issues)))


def districts() -> list[Area]:
    return list(db.session.scalars(
        sa.select(Area).where(Area.parent_id.is_(None)).order_by(Area.code)))


def writable_platforms(user: User, include: Iterable[int | None] = ()) -> list[sa.Row[Any]]:
    """The open platforms ``user`` may write a report for (a member: those they serve), as
    ``id`` and ``name`` rows for the form's choice (``views._chosen_platform`` loads the one
    chosen): a city admin's 1,006 platforms as ORM objects were most of the new report page."""
    if user.role is Role.MEMBER:
        ids = [i for i in include if i is not None]
        served = sa.select(platform_members.c.platform_id).where(
            platform_members.c.member_id == user.member_id)
        wanted = sa.and_(Platform.id.in_(served), sa.or_(
            Platform.status != PlatformStatus.CLOSED, Platform.id.in_(ids)))
        return list(db.session.execute(
            sa.select(Platform.id, Platform.name).where(wanted).order_by(Platform.name)))
    return platform_choices(user, include=include)


def events_by_id(ids: Iterable[int]) -> list[Event]:
    ids = sorted(set(ids))
    if not ids:
        return []
    return list(db.session.scalars(
        sa.select(Event).where(Event.id.in_(ids)).options(
            selectinload(Event.platform).selectinload(Platform.members))
        .order_by(Event.starts_at, Event.id)))


def issues_by_id(ids: Iterable[int]) -> list[Issue]:
    ids = sorted(set(ids))
    if not ids:
        return []
    return list(db.session.scalars(
        sa.select(Issue).where(Issue.id.in_(ids)).options(
            selectinload(Issue.platform).selectinload(Platform.members)).order_by(Issue.id)))


def member_of(user: User) -> Member | None:
    return db.session.get(Member, user.member_id) if user.member_id else None


def _linked(user: User, table: sa.Table, column: str, record_id: int) -> list[OpinionReport]:
    return list(db.session.scalars(
        sa.select(OpinionReport)
        .join(table, table.c.report_id == OpinionReport.id)
        .where(table.c[column] == record_id, report_scope(user))
        .order_by(OpinionReport.created_at, OpinionReport.id)))


def reports_of_event(user: User, event_id: int) -> list[OpinionReport]:
    """The reports written from an event that ``user`` may open."""
    return _linked(user, opinion_report_events, "event_id", event_id)


def reports_of_issue(user: User, issue_id: int) -> list[OpinionReport]:
    """The reports written from a problem that ``user`` may open."""
    return _linked(user, opinion_report_issues, "issue_id", issue_id)
