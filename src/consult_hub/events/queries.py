"""Read-side queries on events for the staff pages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_sqlalchemy.pagination import SelectPagination
from sqlalchemy.orm import joinedload, lazyload, selectinload

from consult_hub.auth.models import User
from consult_hub.core.categories import Category
from consult_hub.core.db import contains_text
from consult_hub.core.timefmt import local_midnight
from consult_hub.events.models import Event, EventPhoto, EventStatus, event_attendees
from consult_hub.extensions import db
from consult_hub.members.models import Member
from consult_hub.platforms.models import Platform, PlatformStatus, platform_members
from consult_hub.platforms.scopes import (
    platform_filter,
    platform_id_filter,
    platform_read_filter,
)


@dataclass
class EventFilters:
    """What the list is narrowed to; every part optional."""

    q: str = ""
    status: EventStatus | None = None
    platform_id: int | None = None
    category: Category | None = None
    date_from: date | None = None
    date_to: date | None = None
    missing_minutes: bool = False


def missing_minutes(now: datetime) -> sa.ColumnElement[bool]:
    """Planned events whose end has passed: their minutes are due."""
    return sa.and_(Event.status == EventStatus.PLANNED, Event.ends_at < now)


def event_list(user: User, filters: EventFilters, now: datetime) -> sa.Select[tuple[Event]]:
    """The events ``user`` may see, filtered; upcoming ones first (soonest first), then the past."""
    query = (sa.select(Event).where(platform_id_filter(user, Event.platform_id, reading=True))
             .options(selectinload(Event.platform)))
    if filters.q:
        # Only a search needs the platforms' rows (their names): joined for every event, they
        # cost a lookup per matching event however few the page shows.
        query = query.join(Event.platform).where(sa.or_(contains_text(Event.topic, filters.q),
                                                        contains_text(Platform.name, filters.q)))
    if filters.status is not None:
        query = query.where(Event.status == filters.status)
    if filters.platform_id is not None:
        query = query.where(Event.platform_id == filters.platform_id)
    if filters.category is not None:
        query = query.where(Event.category == filters.category)
    if filters.date_from is not None:
        query = query.where(Event.starts_at >= local_midnight(filters.date_from))
    if filters.date_to is not None:
        query = query.where(Event.starts_at < local_midnight(filters.date_to + timedelta(days=1)))
    if filters.missing_minutes:
        query = query.where(missing_minutes(now))
    upcoming = Event.starts_at >= now
    return query.order_by(
        sa.case((upcoming, 0), else_=1),
        sa.case((upcoming, Event.starts_at)).asc(),
        Event.starts_at.desc(),
        Event.id.desc(),
    )


class EventPage(SelectPagination):
    """A page of ``event_list``: its ids sorted and counted from the indexes, then the page's
    events with their platforms.

    The list's order (upcoming first, soonest first; then the past, newest first) is no
    index's: the database sorts every matching event. Sorting whole rows read each one
    (3,000 events held on 社会建设 topics: 39 ms); their ids come from
    ``ix_events_status_category_starts_at`` and its kin alone (2 ms). Two statements, as before
    (the list, then its platforms).
    """

    def _ids(self) -> sa.Select[Any]:
        return self._query_args["select"].options(lazyload("*")).with_only_columns(Event.id)

    def _query_items(self) -> list[Any]:
        session = self._query_args["session"]
        ids = list(session.scalars(self._ids().limit(self.per_page).offset(self._query_offset)))
        if not ids:
            return []
        found = {event.id: event for event in session.scalars(
            sa.select(Event).where(Event.id.in_(ids)).options(joinedload(Event.platform)))}
        return [found[ident] for ident in ids if ident in found]

    def _query_count(self) -> int:
        counted = self._ids().order_by(None).subquery()
        return int(self._query_args["session"].scalar(
            sa.select(sa.func.count()).select_from(counted)) or 0)


def event_page(user: User, filters: EventFilters, now: datetime, *, page: int,
               per_page: int) -> EventPage:
    """One page of the staff list (``event_list``); past the end is an empty page."""
    return EventPage(select=event_list(user, filters, now), session=db.session(), page=page,
                     per_page=per_page, max_per_page=per_page, error_out=False, count=True)


def platforms_query(user: User, *, active_only: bool = False,
                    q: str = "") -> sa.Select[tuple[Platform]]:
    """The platforms ``user`` may manage, by name; optionally active ones, matching ``q``."""
    query = sa.select(Platform).where(platform_filter(user)).order_by(Platform.name, Platform.id)
    if active_only:
        query = query.where(Platform.status == PlatformStatus.ACTIVE)
    if q:
        query = query.where(sa.or_(contains_text(Platform.name, q),
                                   contains_text(Platform.address, q)))
    return query


def platform_choices(user: User, limit: int) -> list[tuple[int, str]] | None:
    """(id, name) of the platforms whose events the user reads, for a filter list; None when
    there are too many."""
    rows = db.session.execute(
        sa.select(Platform.id, Platform.name).where(platform_read_filter(user))
        .order_by(Platform.name, Platform.id).limit(limit + 1)
    ).all()
    if len(rows) > limit:
        return None
    return [(row.id, row.name) for row in rows]


def platform_members_of(platform_id: int) -> list[Member]:
    """The members linked to a platform (下沉委员), active ones, by name."""
    return list(db.session.scalars(
        sa.select(Member)
        .join(platform_members, platform_members.c.member_id == Member.id)
        .where(platform_members.c.platform_id == platform_id, Member.is_active)
        .order_by(Member.name, Member.id)
    ))


def photo_with_event(photo_id: int) -> EventPhoto | None:
    return db.session.scalar(
        sa.select(EventPhoto).where(EventPhoto.id == photo_id)
        .options(selectinload(EventPhoto.event).selectinload(Event.platform))
    )


# ---- a platform's and a member's events (shown on their pages) -------------------------------


def upcoming_events(platform_id: int, now: datetime, limit: int = 10) -> list[Event]:
    return list(db.session.scalars(
        sa.select(Event)
        .where(Event.platform_id == platform_id, Event.status == EventStatus.PLANNED,
               Event.starts_at >= now)
        .order_by(Event.starts_at).limit(limit)
    ))


def upcoming_event_count(platform_id: int, now: datetime) -> int:
    return db.session.scalar(
        sa.select(sa.func.count()).select_from(Event)
        .where(Event.platform_id == platform_id, Event.status == EventStatus.PLANNED,
               Event.starts_at >= now)
    ) or 0


def recent_events(platform_id: int, now: datetime, limit: int = 10) -> list[Event]:
    return list(db.session.scalars(
        sa.select(Event)
        .where(Event.platform_id == platform_id, Event.starts_at < now)
        .order_by(Event.starts_at.desc()).limit(limit)
    ))


def inactive_clause(now: datetime) -> sa.ColumnElement[bool]:
    """Active platforms, older than the window, with no held event in the last INACTIVE_DAYS days.

    A platform set up within the window has not had the chance to be inactive yet. Used by the
    dashboards and by the inactive-platform reminder, so both count the same platforms.
    """
    from consult_hub.core.timefmt import local_today

    days = current_app.config["INACTIVE_DAYS"]
    # SELECT 1: SQLite answers from ix_events_platform_id_status_starts_at alone (EXISTS
    # (SELECT *) read each event's row too).
    held_since = sa.select(sa.literal_column("1")).where(
        Event.platform_id == Platform.id,
        Event.happened,
        Event.starts_at >= now - timedelta(days=days)).exists()
    return sa.and_(Platform.status == PlatformStatus.ACTIVE,
                   Platform.established_on <= local_today(now) - timedelta(days=days), ~held_since)


def events_attended(member_id: int) -> int:
    return db.session.scalar(
        sa.select(sa.func.count()).where(event_attendees.c.member_id == member_id)) or 0
