"""Read-side queries on residents' problems: the staff list and its counts, one problem's page."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

import sqlalchemy as sa
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy.orm import selectinload

from consult_hub.areas.models import Area
from consult_hub.auth.models import Role, User
from consult_hub.auth.scopes import department_issue_filter
from consult_hub.core.categories import Category
from consult_hub.core.db import contains_text
from consult_hub.departments.models import Department
from consult_hub.events.models import Event, EventStatus
from consult_hub.extensions import db
from consult_hub.issues.lifecycle import DEPARTMENT_WORKING
from consult_hub.issues.models import (
    CLOSED_STATUSES,
    DUE_STATUSES,
    Issue,
    IssueKind,
    IssueSource,
    IssueStatus,
    IssueUpdate,
)
from consult_hub.platforms.models import Platform, PlatformStatus, platform_members
from consult_hub.platforms.scopes import platform_filter, platform_id_filter

PER_PAGE = 25
SORTS = ("newest", "due")


def overdue_clause(today: date) -> sa.ColumnElement[bool]:
    """SQL twin of ``Issue.is_overdue``: due date passed while open, or planned date passed."""
    return sa.or_(
        sa.and_(Issue.status.in_(DUE_STATUSES), Issue.due_on < today),
        sa.and_(Issue.status == IssueStatus.PLANNED, Issue.planned_on < today),
    )


def deadline() -> sa.ColumnElement[date]:
    """The date a problem is measured against: the planned date when planned, else the due date."""
    return sa.case((Issue.status == IssueStatus.PLANNED, Issue.planned_on),
                   (Issue.status.in_(DUE_STATUSES), Issue.due_on), else_=sa.null())


def issue_scope(user: User) -> sa.ColumnElement[bool]:
    """The problems ``user`` may see on staff pages: a department's contact those of their
    department (``auth/scopes.handles_issue``), everyone else those of their platforms."""
    department = department_issue_filter(user, Issue.department_id)
    if department is not None:
        return department
    if user.role is Role.MEMBER:
        # A member reads the published problems of the platforms they serve (auth/scopes.py
        # reads_issue).
        return sa.and_(Issue.published_at.is_not(None), Issue.platform_id.in_(
            sa.select(platform_members.c.platform_id)
            .where(platform_members.c.member_id == (user.member_id or -1))))
    return platform_id_filter(user, Issue.platform_id)


# What a problem may be waiting on staff for, besides a status of its own (the dashboard's
# counts link to the list narrowed this way): a department asked for more time, or sent the
# problem back as not theirs (back at "received", to be assigned again).
WAITING = {
    "extension": lambda: sa.and_(Issue.requested_due_on.is_not(None),
                                 Issue.status.in_(DEPARTMENT_WORKING)),
    "returned": lambda: sa.and_(Issue.returned_at.is_not(None),
                                Issue.status == IssueStatus.RECEIVED),
    "rework": lambda: sa.and_(Issue.rework_reason.is_not(None),
                              Issue.status.in_(DEPARTMENT_WORKING)),
}


@dataclass
class IssueFilters:
    """What the staff list is narrowed to; empty fields do not filter."""

    statuses: list[IssueStatus] = field(default_factory=list)
    kind: IssueKind | None = None
    category: Category | None = None
    source: IssueSource | None = None
    district_id: int | None = None
    platform_id: int | None = None
    department_id: int | None = None
    overdue: bool = False
    text: str = ""
    sort: str = "newest"
    waiting: str | None = None  # a key of WAITING


def _where(user: User, filters: IssueFilters, today: date) -> list[sa.ColumnElement[bool]]:
    """Every condition but the status one (the status counts ignore it)."""
    clauses = [issue_scope(user)]
    for column, value in ((Issue.kind, filters.kind), (Issue.category, filters.category),
                          (Issue.source, filters.source), (Issue.district_id, filters.district_id),
                          (Issue.platform_id, filters.platform_id),
                          (Issue.department_id, filters.department_id)):
        if value is not None:
            clauses.append(column == value)
    if filters.overdue:
        clauses.append(overdue_clause(today))
    if filters.waiting in WAITING:
        clauses.append(WAITING[filters.waiting]())
    text = _text_clause(filters)
    if text is not None:
        clauses.append(text)
    return clauses


def _text_clause(filters: IssueFilters) -> sa.ColumnElement[bool] | None:
    text = filters.text.strip()
    if not text:
        return None
    return sa.or_(contains_text(Issue.title, text), contains_text(Issue.reference, text))


# A search matching this many problems or fewer is listed from its matches (more: the newest
# ones turn up soon enough walking the list's order; 72 matches of 20,000 is about even).
FEW_MATCHES = 50


def status_counts(user: User, filters: IssueFilters, today: date) -> dict[IssueStatus, int]:
    """How many problems match the filters in each status, in one grouped query."""
    rows = db.session.execute(
        sa.select(Issue.status, sa.func.count(Issue.id))
        .where(*_where(user, filters, today)).group_by(Issue.status)
    )
    counts = dict.fromkeys(IssueStatus, 0)
    counts.update({status: count for status, count in rows})
    return counts


def issue_page(user: User, filters: IssueFilters, today: date, page: int,
               per_page: int = PER_PAGE, *,
               counts: dict[IssueStatus, int] | None = None) -> Pagination:
    """One page of the staff list, with platforms and departments loaded alongside.

    ``counts`` (``status_counts`` for the same filters) gives the total without counting the
    matching rows a second time: a text search scans every title once, not twice.
    """
    total = None if counts is None else sum(
        counts[status] for status in (filters.statuses or counts))
    text = _text_clause(filters)
    clauses = _where(user, replace(filters, text=""), today)
    if total == 0:
        # Nothing matches (a search for a word no problem holds): walking every problem newest
        # first to find none read all their rows.
        clauses.append(sa.false())
    elif text is not None and total is not None and total <= FEW_MATCHES:
        # A search with few matches: find them first (on SQLite from the narrow index
        # ix_issues_status_title_reference), then sort those, rather than walk the list's order
        # over every problem until a page of them turns up.
        clauses.append(Issue.id.in_(sa.select(Issue.id).where(text)))
    elif text is not None:
        clauses.append(text)
    stmt = sa.select(Issue).where(*clauses)
    if filters.statuses:
        stmt = stmt.where(Issue.status.in_(filters.statuses))
    if filters.sort == "due":
        due = deadline()
        stmt = stmt.order_by(due.is_(None), due, Issue.id)
    else:
        stmt = stmt.order_by(Issue.created_at.desc(), Issue.id.desc())
    stmt = stmt.options(selectinload(Issue.platform), selectinload(Issue.department))
    if counts is None:
        return db.paginate(stmt, page=page, per_page=per_page, error_out=False)
    listed = db.paginate(stmt, page=page, per_page=per_page, error_out=False, count=False)
    listed.total = total
    return listed


def issue_for_page(issue_id: int) -> Issue | None:
    """One problem with everything its page shows: timeline with actors, platform, department."""
    return db.session.scalar(
        sa.select(Issue).where(Issue.id == issue_id).options(
            selectinload(Issue.updates).selectinload(IssueUpdate.actor),
            selectinload(Issue.platform), selectinload(Issue.district),
            selectinload(Issue.department), selectinload(Issue.event),
            selectinload(Issue.duplicate_of),
        )
    )


def updates_after(issue: Issue, update_id: int) -> list[IssueUpdate]:
    """Timeline entries written after ``update_id`` (what changed since a page was loaded)."""
    return [u for u in issue.updates if u.id > update_id]


def find_by_reference(user: User, reference: str) -> Issue | None:
    """The problem with this receipt code, among those ``user`` may see."""
    return db.session.scalar(
        sa.select(Issue).where(sa.func.upper(Issue.reference) == reference.strip().upper(),
                               issue_scope(user))
    )


def assignable_departments(district_id: int) -> list[Department]:
    """Active city departments, then the district's own, by name."""
    return list(db.session.scalars(
        sa.select(Department)
        .where(Department.is_active,
               sa.or_(Department.district_id.is_(None), Department.district_id == district_id))
        .order_by(Department.district_id.is_not(None), Department.name)
    ))


def department_choices(district_id: int | None, *, everything: bool = False) -> list[sa.Row[Any]]:
    """Departments to filter by (id, name, is_active): the city's and one district's, or
    every one (city staff; a city has hundreds, read as plain rows)."""
    stmt = sa.select(Department.id, Department.name, Department.is_active).order_by(
        Department.district_id.is_not(None), Department.district_id, Department.name)
    if not everything:
        stmt = stmt.where(sa.or_(Department.district_id.is_(None),
                                 Department.district_id == district_id))
    return list(db.session.execute(stmt))


def districts() -> list[Area]:
    return list(db.session.scalars(
        sa.select(Area).where(Area.parent_id.is_(None)).order_by(Area.code)))


def platform_choices(user: User, district_id: int | None = None,
                     include: Iterable[int | None] = ()) -> list[sa.Row[Any]]:
    """The open platforms ``user`` may manage (in one district, when given), plus ``include``,
    as a select offers them: ``id``, ``name``, ``district_id`` and ``district_name`` rows, by
    district and name. A city admin's 1,006 platforms as ORM objects took two thirds of the
    page that offers them (24 ms, and over 100 once in twenty requests, when the garbage
    collector went through them)."""
    wanted = sa.and_(platform_filter(user), Platform.status != PlatformStatus.CLOSED)
    if district_id is not None:
        wanted = sa.and_(wanted, Platform.district_id == district_id)
    ids = [i for i in include if i is not None]
    if ids:
        wanted = sa.or_(wanted, sa.and_(platform_filter(user), Platform.id.in_(ids)))
    return list(db.session.execute(
        sa.select(Platform.id, Platform.name, Platform.district_id,
                  Area.name.label("district_name"))
        .join(Area, Area.id == Platform.district_id).where(wanted)
        .order_by(Platform.district_id, Platform.name)
    ))


def scoped_platform_count(user: User) -> int:
    return db.session.scalar(
        sa.select(sa.func.count(Platform.id)).where(platform_filter(user))) or 0


def platform_events(platform_id: int, include: int | None = None, limit: int = 30) -> list[Event]:
    """The platform's latest events (not cancelled) a problem may have been raised at."""
    stmt = (sa.select(Event)
            .where(Event.platform_id == platform_id, Event.status != EventStatus.CANCELLED)
            .order_by(Event.starts_at.desc()).limit(limit))
    events = list(db.session.scalars(stmt))
    if include is not None and all(e.id != include for e in events):
        extra = db.session.get(Event, include)
        if extra is not None and extra.platform_id == platform_id:
            events.insert(0, extra)
    return events


# ---- an event's page (it lists the problems raised there) -------------------------------------


def event_for_page(event_id: int) -> Event | None:
    """One event with everything its detail page shows, in a fixed number of queries."""
    return db.session.scalar(
        sa.select(Event).where(Event.id == event_id)
        .options(selectinload(Event.platform).selectinload(Platform.district),
                 selectinload(Event.attendees),
                 selectinload(Event.photos),
                 selectinload(Event.issues).selectinload(Issue.department),
                 selectinload(Event.created_by))
    )


# ---- open problems of a platform or department (shown on their pages) ------------------------


def _open_at(platform_id: int, published_only: bool) -> list[sa.ColumnElement[bool]]:
    where = [Issue.platform_id == platform_id, Issue.status.not_in(CLOSED_STATUSES)]
    if published_only:  # what a member serving there reads (auth/scopes.py reads_issue)
        where.append(Issue.published_at.is_not(None))
    return where


def open_issues(platform_id: int, limit: int = 20, *,
                published_only: bool = False) -> list[Issue]:
    return list(db.session.scalars(
        sa.select(Issue)
        .where(*_open_at(platform_id, published_only))
        .options(selectinload(Issue.department))
        .order_by(Issue.due_on.is_(None), Issue.due_on, Issue.id).limit(limit)
    ))


def open_issue_count(platform_id: int, *, published_only: bool = False) -> int:
    return db.session.scalar(
        sa.select(sa.func.count()).select_from(Issue)
        .where(*_open_at(platform_id, published_only))
    ) or 0


def open_issue_counts(department_ids: list[int]) -> dict[int, int]:
    """Problems still being handled, per department."""
    if not department_ids:
        return {}
    return dict(db.session.execute(
        sa.select(Issue.department_id, sa.func.count(Issue.id))
        .where(Issue.department_id.in_(department_ids), Issue.status.not_in(CLOSED_STATUSES))
        .group_by(Issue.department_id)
    ).all())
