"""Read-side queries for the residents' site: public fields only, a fixed number of queries
per page.

Nothing here loads a problem's submitter, its private notes or staff accounts;
templates get only what these functions return.
"""

from __future__ import annotations

import hmac
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache, lru_cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased, joinedload, selectinload
from sqlalchemy.sql.functions import FunctionElement

from consult_hub.areas.models import Area, AreaLevel
from consult_hub.core.categories import Category
from consult_hub.core.db import contains_text
from consult_hub.core.pagecache import remembered
from consult_hub.departments.models import Department
from consult_hub.events.models import (
    HAPPENED_STATUSES,
    Event,
    EventAttendance,
    EventFormat,
    EventPhoto,
    EventStatus,
)
from consult_hub.events.models import event_attendees as attendee_links
from consult_hub.extensions import db
from consult_hub.issues.models import (
    OUTCOME_STATUSES,
    OUTCOME_WHERE,
    PUBLIC_STATUS,
    Issue,
    IssueKind,
    IssuePhoto,
    IssueStatus,
    IssueUpdate,
    Satisfaction,
)
from consult_hub.issues.references import normalise_reference
from consult_hub.members.models import Member
from consult_hub.platforms.models import Platform, PlatformKind, PlatformStatus
from consult_hub.platforms.models import platform_members as member_links
from consult_hub.platforms.queries import PlatformFilters

# What residents see as an outcome: solved, scheduled, or explained (and published).
OUTCOME_CLAUSE = sa.text(OUTCOME_WHERE)


class likely(FunctionElement[Any]):  # noqa: N801 - named as SQLite's function
    """SQLite's ``likely(X)``: X, with word to the query planner that it is usually true.
    Other databases get X as it is. (Untyped: a Boolean would be compared with 1 on SQLite.)"""

    inherit_cache = True


@compiles(likely)
def _plain(element: likely, compiler: Any, **kw: Any) -> str:
    return compiler.process(element.clauses, **kw)


@compiles(likely, "sqlite")
def _likely(element: likely, compiler: Any, **kw: Any) -> str:
    return f"likely({compiler.process(element.clauses, **kw)})"


# OUTCOME_CLAUSE for the outcome list: the same terms (so the partial index
# ix_issues_outcome_time applies), the status one marked as true of most problems. SQLite
# without statistics (a database nobody ran ANALYZE on: every fresh or demo one) otherwise
# reads the outcomes through the status index and sorts them all: 4 ms a page instead of 0.1.
# The status literals are written as in OUTCOME_WHERE.
OUTCOME_IN_TIME_ORDER = sa.and_(
    likely(sa.text(f"issues.status IN ({', '.join(repr(s.value) for s in OUTCOME_STATUSES)})")),
    sa.text("issues.published_at IS NOT NULL"))
# A problem is on a public surface only once staff reviewed and published it (受理): a
# resident's submission waits unpublished, its words private.
PUBLISHED = Issue.published_at.is_not(None)


# -- districts --------------------------------------------------------------------------------


@dataclass(frozen=True)
class DistrictChoice:
    """A district as the public filters show it."""

    id: int
    code: str
    name: str


def district_choices() -> list[DistrictChoice]:
    """Every district, by code, for the public filters; kept while the site version stands
    (the same list for every caller: never change it).

    A nation has 3,000 districts: loading them as ORM objects took half of a directory
    page's time on every request.
    """
    return remembered(("public.districts",), lambda: [
        DistrictChoice(row.id, row.code, row.name) for row in db.session.execute(
            sa.select(Area.id, Area.code, Area.name).where(Area.level == AreaLevel.DISTRICT)
            .order_by(Area.code))])


# -- list items -------------------------------------------------------------------------------
# A list's statement is built once per set of filters and kept (statements never change once
# built): putting one together and computing its cache key took 150–250 µs a request.
LIST_STATEMENTS = 512

# The public lists read plain rows of the columns they show (``OutcomeItem``, ``EventItem``):
# a page of 30 ORM problems with their platforms and districts took 1.4 ms to load, the rows 0.2.


@dataclass(frozen=True, slots=True)
class Named:
    """A platform or district as a list item names it."""

    id: int | None
    name: str


# The district an item names (areas are joined twice: a platform's place and its district).
_District = aliased(Area, name="item_district")


# -- platforms --------------------------------------------------------------------------------


def platform_directory(filters: PlatformFilters) -> sa.Select[tuple[Platform]]:
    """The directory's platforms, active ones first; closed and suspended ones keep their status.

    A search lists the platforms whose name holds the words before those where only the
    address does: "百步" is looking for 百步亭社区协商议事室, not every platform on 百步亭路.
    """
    stmt = (
        sa.select(Platform).where(*filters.clauses())
        .options(joinedload(Platform.district), joinedload(Platform.area).joinedload(Area.parent))
    )
    if filters.q:
        # A search's matches are few (the text narrows them): sorting them costs nothing.
        stmt = stmt.order_by(sa.case((contains_text(Platform.name, filters.q), 0), else_=1))
    # 'active' sorts before 'closed' and 'suspended': active ones first, and the order
    # is an index's (ix_platforms_directory), so a nation's directory needs no sort.
    return stmt.order_by(Platform.status, Platform.district_id, Platform.name, Platform.id)


@dataclass(frozen=True, slots=True)
class AreaItem:
    """A platform's community or street, with the street a community belongs to."""

    id: int
    name: str
    parent: Named | None


@dataclass(frozen=True, slots=True)
class PlatformItem:
    """One platform in the directory: what ``platform_item`` (templates/public/_items.html)
    shows."""

    id: int
    name: str
    kind: PlatformKind
    status: PlatformStatus
    is_demonstration: bool
    address: str
    district_id: int
    district: Named
    area: AreaItem

    @classmethod
    def from_row(cls, row: sa.Row[Any]) -> PlatformItem:
        parent = Named(row.parent_id, row.parent_name) if row.parent_id is not None else None
        return cls(row.id, row.name, row.kind, row.status, row.is_demonstration, row.address,
                   row.district_id, Named(row.district_id, row.district_name or ""),
                   AreaItem(row.area_id, row.area_name, parent))


@lru_cache(maxsize=LIST_STATEMENTS)
def platform_items(filters: PlatformFilters, *, keys: bool = False) -> sa.Select[Any]:
    """``platform_directory`` as rows of the columns the directory shows
    (``PlatformItem.from_row``); with ``keys``, their ids alone (``listing.ListPage``).
    Built once per set of filters (``LIST_STATEMENTS``)."""
    stmt = (sa.select(Platform.id) if keys else _platform_item_columns()).where(
        *filters.clauses())
    if filters.q:
        stmt = stmt.order_by(sa.case((contains_text(Platform.name, filters.q), 0), else_=1))
    return stmt.order_by(Platform.status, Platform.district_id, Platform.name, Platform.id)


_Place = aliased(Area, name="item_place")
_Street = aliased(Area, name="item_street")


@cache
def _platform_item_columns() -> sa.Select[Any]:
    # Every area joined under an alias: the filters' own subqueries of areas (a street's
    # communities) must not correlate with these.
    return (sa.select(Platform.id, Platform.name, Platform.kind, Platform.status,
                      Platform.is_demonstration, Platform.address, Platform.district_id,
                      _District.name.label("district_name"), Platform.area_id,
                      _Place.name.label("area_name"), _Street.id.label("parent_id"),
                      _Street.name.label("parent_name"))
            .select_from(Platform)
            .outerjoin(_District, _District.id == Platform.district_id)
            .outerjoin(_Place, _Place.id == Platform.area_id)
            .outerjoin(_Street, _Street.id == _Place.parent_id))


def platforms_named_or_placed(q: str) -> sa.Select[tuple[int]]:
    """The ids of platforms whose name, address or code holds ``q``, or whose community or
    street is named by it: what a search of events and outcomes means by "where".

    The platforms' own text is looked up as the directory does (PostgreSQL's trigram index,
    two-character searches by the doubled text); a place name matches its areas, then the
    platforms in them or in their communities.
    """
    # Never correlated with the list's own joins (an event list by district joins platforms).
    places = sa.select(Area.id).where(Area.level != AreaLevel.DISTRICT,
                                      contains_text(Area.name, q)).correlate(None)
    in_place = sa.or_(Platform.area_id.in_(places), Platform.area_id.in_(
        sa.select(Area.id).where(Area.parent_id.in_(places)).correlate(None)))
    return sa.select(Platform.id).where(
        sa.or_(sa.and_(*PlatformFilters(q=q).clauses()), in_place)).correlate(None)


# -- statements built once ---------------------------------------------------------------------
#
# A detail page's few queries cost more to put together than to run: building a statement, its
# cache key, and the ORM session's work around a plain-row query took 250–300 µs a query, SQLite
# 20–50 µs. The pages' statements are built once with bound parameters (their cache key is kept on
# the statement), and plain-row ones run on the session's connection (``_rows``).


def _rows(stmt: sa.Executable, **params: Any) -> sa.CursorResult[Any]:
    """A statement of plain columns, run on the session's connection (the same transaction)."""
    return db.session.connection().execute(stmt, params)


@cache
def _platform_page_statement() -> sa.Select[tuple[Platform]]:
    return sa.select(Platform).where(Platform.id == sa.bindparam("page_platform_id")).options(
        joinedload(Platform.district), joinedload(Platform.area).joinedload(Area.parent),
        selectinload(Platform.members))


def platform_page(platform_id: int) -> Platform | None:
    """A platform with its place and members (public figures); never its coordinators."""
    return db.session.scalar(_platform_page_statement(), {"page_platform_id": platform_id})


@dataclass(frozen=True, slots=True)
class PlatformPage:
    """A platform as its public page shows it (templates/public/platform.html), read as one
    plain row with its district, community and street: the ORM platform with its places took
    150 µs to load, the row 40."""

    id: int
    name: str
    kind: PlatformKind
    status: PlatformStatus
    is_demonstration: bool
    demonstration_year: int | None
    address: str
    convener: str | None
    established_on: date
    description: str | None
    description_html: str | None  # rendered when saved (core/prose.py; the ``prose`` filter)
    latitude: float | None
    longitude: float | None
    district_id: int
    district: Named
    area: AreaItem

    @classmethod
    def from_row(cls, row: sa.Row[Any]) -> PlatformPage:
        parent = Named(row.parent_id, row.parent_name) if row.parent_id is not None else None
        return cls(row.id, row.name, row.kind, row.status, row.is_demonstration,
                   row.demonstration_year, row.address, row.convener, row.established_on,
                   row.description, row.description_html, row.latitude, row.longitude,
                   row.district_id,
                   Named(row.district_id, row.district_name or ""),
                   AreaItem(row.area_id, row.area_name, parent))


@cache
def _platform_row_statement() -> sa.Select[Any]:
    return (sa.select(Platform.id, Platform.name, Platform.kind, Platform.status,
                      Platform.is_demonstration, Platform.demonstration_year, Platform.address,
                      Platform.convener, Platform.established_on, Platform.description,
                      Platform.description_html, Platform.latitude, Platform.longitude,
                      Platform.district_id,
                      _District.name.label("district_name"), Platform.area_id,
                      _Place.name.label("area_name"), _Street.id.label("parent_id"),
                      _Street.name.label("parent_name"))
            .select_from(Platform)
            .outerjoin(_District, _District.id == Platform.district_id)
            .outerjoin(_Place, _Place.id == Platform.area_id)
            .outerjoin(_Street, _Street.id == _Place.parent_id)
            .where(Platform.id == sa.bindparam("page_platform_id")))


def platform_row(platform_id: int) -> PlatformPage | None:
    """The platform for its public page (``PlatformPage``); None if there is none."""
    row = _rows(_platform_row_statement(), page_platform_id=platform_id).first()
    return PlatformPage.from_row(row) if row is not None else None


@cache
def _platform_members_statement() -> sa.Select[Any]:
    return (sa.select(Member.id, Member.name, Member.sector, Member.level)
            .join(member_links, member_links.c.member_id == Member.id)
            .where(member_links.c.platform_id == sa.bindparam("page_platform_id"),
                   Member.is_active.is_(True)))


def platform_members(platform_id: int) -> list[sa.Row[Any]]:
    """The platform's active members (name, sector, level), by name, as its page lists them."""
    return sorted(_rows(_platform_members_statement(), page_platform_id=platform_id),
                  key=lambda m: (m.name, m.id))


def active_platform(platform_id: int | None) -> Platform | None:
    if not platform_id:
        return None
    return db.session.scalar(sa.select(Platform).where(
        Platform.id == platform_id, Platform.status == PlatformStatus.ACTIVE))


# -- events -----------------------------------------------------------------------------------


# An event is always shown with its platform and district.
EVENT_PLACE = joinedload(Event.platform).joinedload(Platform.district)


def upcoming_events(now: datetime, *, limit: int = 6) -> list[EventItem]:
    """The next planned events city-wide, with their platform and district (list items)."""
    return [EventItem.from_row(row) for row in _rows(_event_items_statement("upcoming", limit),
                                                     now=now)]


def event_list(
    now: datetime, *, when: str = "upcoming", district_id: int | None = None,
    platform_id: int | None = None, q: str = "",
) -> sa.Select[tuple[Event]]:
    """Upcoming planned events (soonest first) or past ones (latest first); with ``q``, those
    whose topic, place or agenda holds it or whose platform's name, address or street does."""
    stmt = sa.select(Event).options(EVENT_PLACE)
    if district_id and not platform_id:
        stmt = stmt.join(Event.platform)
    return _events(stmt, now, when=when, district_id=district_id, platform_id=platform_id, q=q)


def _events(
    stmt: sa.Select[Any], now: datetime, *, when: str, district_id: int | None,
    platform_id: int | None, q: str,
) -> sa.Select[Any]:
    """``stmt`` (which joins platforms when a district is asked for) narrowed as ``event_list``."""
    if q:
        stmt = stmt.where(sa.or_(
            *(contains_text(column, q) for column in (Event.topic, Event.location, Event.agenda)),
            Event.platform_id.in_(platforms_named_or_placed(q))))
    if when == "past":
        stmt = stmt.where(Event.starts_at < now).order_by(Event.starts_at.desc(), Event.id.desc())
    else:
        stmt = stmt.where(Event.status == EventStatus.PLANNED, Event.starts_at >= now).order_by(
            Event.starts_at, Event.id)
    if platform_id:
        stmt = stmt.where(Event.platform_id == platform_id)
    elif district_id:
        stmt = stmt.where(Platform.district_id == district_id)
    return stmt


@dataclass(frozen=True, slots=True)
class PlaceItem:
    """An event's platform as a list item names it, with its district."""

    id: int
    name: str
    district: Named


@dataclass(frozen=True, slots=True)
class EventItem:
    """One event in a public list: what ``event_item`` (templates/public/_items.html) shows."""

    id: int
    topic: str
    starts_at: datetime
    status: EventStatus
    location: str
    format: EventFormat
    platform: PlaceItem

    @classmethod
    def from_row(cls, row: sa.Row[Any]) -> EventItem:
        return cls(row.id, row.topic, row.starts_at, row.status, row.location, row.format,
                   PlaceItem(row.platform_id, row.platform_name,
                             Named(row.district_id, row.district_name or "")))


def event_items(
    now: datetime, *, when: str = "upcoming", district_id: int | None = None,
    platform_id: int | None = None, q: str = "", keys: bool = False,
) -> sa.Select[Any]:
    """``event_list`` as rows of the columns a list shows (``EventItem.from_row``); with
    ``keys``, their ids alone (``listing.ListPage``)."""
    if keys:
        stmt = sa.select(Event.id)
        if district_id and not platform_id:
            stmt = stmt.join(Platform, Platform.id == Event.platform_id)
    else:
        stmt = _event_item_columns()
    return _events(stmt, now, when=when, district_id=district_id, platform_id=platform_id, q=q)


@cache
def _event_item_columns() -> sa.Select[Any]:
    return (sa.select(Event.id, Event.topic, Event.starts_at, Event.status, Event.location,
                      Event.format, Event.platform_id, Platform.name.label("platform_name"),
                      Platform.district_id, _District.name.label("district_name"))
            .select_from(Event)
            .join(Platform, Platform.id == Event.platform_id)
            .outerjoin(_District, _District.id == Platform.district_id))


@cache
def _event_items_statement(when: str, limit: int, *, of_platform: bool = False) -> sa.Select[Any]:
    """``event_items(now, when=when)`` with ``now`` (and the platform) as bound parameters."""
    stmt = _events(_event_item_columns(), sa.bindparam("now"), when=when, district_id=None,
                   platform_id=None, q="")
    if of_platform:
        stmt = stmt.where(Event.platform_id == sa.bindparam("page_platform_id"))
    return stmt.limit(limit)


@cache
def _platform_events_statement(limit: int) -> sa.CompoundSelect:
    """A platform's next planned events and its latest past ones in one statement: each side
    chosen (ordered, limited) in a subquery of its own and tagged ``upcoming`` or ``past``."""
    sides = []
    for when in ("upcoming", "past"):
        side = _event_items_statement(when, limit, of_platform=True).subquery(when)
        sides.append(sa.select(sa.literal(when).label("side"), *side.c))
    return sa.union_all(*sides)


def platform_events(platform_id: int, now: datetime,
                    limit: int) -> tuple[list[EventItem], list[EventItem]]:
    """A platform's next planned events (soonest first) and its latest past ones (latest
    first), for its page: one statement for both lists."""
    found: dict[str, list[EventItem]] = {"upcoming": [], "past": []}
    for row in _rows(_platform_events_statement(limit), now=now, page_platform_id=platform_id):
        found[row.side].append(EventItem.from_row(row))
    # A subquery's order does not bind the union's: put each list back in its own.
    found["upcoming"].sort(key=lambda e: (e.starts_at, e.id))
    found["past"].sort(key=lambda e: (e.starts_at, e.id), reverse=True)
    return found["upcoming"], found["past"]


def event_page(event_id: int) -> Event | None:
    """An event with its platform, the members who attended and the problems raised there."""
    return db.session.scalar(
        sa.select(Event).where(Event.id == event_id).options(
            EVENT_PLACE, selectinload(Event.attendees), selectinload(Event.issues),
            selectinload(Event.photos)))


@dataclass(frozen=True, slots=True)
class EventPage:
    """An event as its public page shows it (templates/public/event.html), with its platform
    and district, read as one plain row (the ORM event with its platform: 140 µs, the row 40).
    What else the page shows comes as rows too: ``event_attendees``, ``event_issues``,
    ``event_photos``."""

    id: int
    topic: str
    category: Category
    status: EventStatus
    starts_at: datetime
    ends_at: datetime
    location: str
    format: EventFormat
    agenda: str | None
    attendance: EventAttendance | None
    attendance_note: str | None
    minutes: str | None
    opinions: str | None
    outcome: str | None
    resident_count: int
    department_count: int
    expert_count: int
    cancel_reason: str | None
    cancelled_at: datetime | None
    platform_id: int
    # The Markdown fields' HTML, rendered when saved (core/prose.py; the ``prose`` filter).
    agenda_html: str | None
    minutes_html: str | None
    opinions_html: str | None
    outcome_html: str | None
    platform: PlaceItem

    @property
    def happened(self) -> bool:
        return self.status in HAPPENED_STATUSES


_EVENT_PAGE_COLUMNS = ("id", "topic", "category", "status", "starts_at", "ends_at", "location",
                       "format", "agenda", "attendance", "attendance_note", "minutes", "opinions",
                       "outcome", "resident_count", "department_count", "expert_count",
                       "cancel_reason", "cancelled_at", "platform_id", "agenda_html",
                       "minutes_html", "opinions_html", "outcome_html")


@cache
def _event_row_statement() -> sa.Select[Any]:
    return (sa.select(*(getattr(Event, name) for name in _EVENT_PAGE_COLUMNS),
                      Platform.name.label("platform_name"), Platform.district_id,
                      _District.name.label("district_name"))
            .select_from(Event)
            .outerjoin(Platform, Platform.id == Event.platform_id)
            .outerjoin(_District, _District.id == Platform.district_id)
            .where(Event.id == sa.bindparam("page_event_id")))


def event_row(event_id: int) -> EventPage | None:
    """The event for its public page (``EventPage``); None if there is none."""
    row = _rows(_event_row_statement(), page_event_id=event_id).first()
    if row is None:
        return None
    return EventPage(*(getattr(row, name) for name in _EVENT_PAGE_COLUMNS), PlaceItem(
        row.platform_id, row.platform_name, Named(row.district_id, row.district_name or "")))


@cache
def _event_attendees_statement() -> sa.Select[Any]:
    return (sa.select(Member.id, Member.name, Member.sector).select_from(attendee_links)
            .join(Member, Member.id == attendee_links.c.member_id)
            .where(attendee_links.c.event_id == sa.bindparam("page_event_id")))


def event_attendees(event_id: int) -> list[sa.Row[Any]]:
    """The members who attended (id, name, sector)."""
    return list(_rows(_event_attendees_statement(), page_event_id=event_id))


class _PublicStatus:
    """``public_status`` for the rows below that carry a problem's ``status``: what residents
    read (an unconfirmed reply shows as in progress, as ``Issue.public_status`` says)."""

    __slots__ = ()
    status: IssueStatus  # each row's own field

    @property
    def public_status(self) -> IssueStatus:
        return PUBLIC_STATUS.get(self.status, self.status)


@dataclass(frozen=True, slots=True)
class IssueLink(_PublicStatus):
    """A published problem as an event's page lists it: receipt, title, public status."""

    id: int
    reference: str
    title: str
    status: IssueStatus


@cache
def _event_issues_statement() -> sa.Select[Any]:
    return (sa.select(Issue.id, Issue.reference, Issue.title, Issue.status)
            .where(Issue.event_id == sa.bindparam("page_event_id"), PUBLISHED)
            .order_by(Issue.id))


def event_issues(event_id: int) -> list[IssueLink]:
    """The published problems raised at the event, by id (``published(event.issues)``)."""
    return [IssueLink(*row) for row in _rows(_event_issues_statement(), page_event_id=event_id)]


@cache
def _event_photos_statement() -> sa.Select[Any]:
    return (sa.select(EventPhoto.id, EventPhoto.caption, EventPhoto.width, EventPhoto.height)
            .where(EventPhoto.event_id == sa.bindparam("page_event_id"))
            .order_by(EventPhoto.id))


def event_photos(event_id: int) -> list[sa.Row[Any]]:
    """The event's photos (id, caption, width, height), as ``Event.photos`` orders them."""
    return list(_rows(_event_photos_statement(), page_event_id=event_id))


# -- problems ---------------------------------------------------------------------------------


def _outcome_time() -> sa.ColumnElement[datetime]:
    return sa.func.coalesce(Issue.closed_at, Issue.updated_at)


def outcome_list(
    *, status: IssueStatus | None = None, district_id: int | None = None,
    category: Category | None = None, platform_id: int | None = None, q: str = "",
) -> sa.Select[tuple[Issue]]:
    """Problems with an outcome (resolved, planned, constrained), newest outcome first; with
    ``q``, those whose title or public answer holds it or whose platform's name, address or
    street does (the same substring search as the directory's)."""
    stmt = sa.select(Issue).options(joinedload(Issue.platform), joinedload(Issue.district))
    return _outcomes(stmt, status=status, district_id=district_id, category=category,
                     platform_id=platform_id, q=q)


def _outcomes(
    stmt: sa.Select[Any], *, status: IssueStatus | None, district_id: int | None,
    category: Category | None, platform_id: int | None, q: str, a_page: bool = False,
) -> sa.Select[Any]:
    # The outcome statuses as literals, written exactly as ix_issues_outcome_time's WHERE, so
    # that both databases see the partial index applies (a bound parameter would hide it).
    stmt = stmt.where(OUTCOME_IN_TIME_ORDER)
    if status in OUTCOME_STATUSES:
        stmt = stmt.where(Issue.status == status)
    if platform_id:
        stmt = stmt.where(Issue.platform_id == platform_id)
    elif district_id:
        in_district = Issue.district_id == district_id
        # A page (``a_page``) of a district's outcomes: SQLite otherwise reads all of the
        # district's through its index and sorts them (2.3 ms on the city dataset), where the
        # time-ordered index finds the page at once (0.1 ms). Counting them is faster by the
        # district's index, so the ids (``keys``) leave the planner to it.
        stmt = stmt.where(likely(in_district) if a_page else in_district)
    if category:
        stmt = stmt.where(Issue.category == category)
    if q:
        stmt = stmt.where(sa.or_(contains_text(Issue.title, q), contains_text(Issue.resolution, q),
                                 Issue.platform_id.in_(platforms_named_or_placed(q))))
    return stmt.order_by(_outcome_time().desc(), Issue.id.desc())


def outcome_rows(*columns: Any) -> sa.Select[Any]:
    """Every outcome as ``outcome_list`` has them, newest first, as rows of ``columns`` of
    ``Issue`` (the feeds: only what they show, not each problem with its platform)."""
    return _outcomes(sa.select(*columns), status=None, district_id=None, category=None,
                     platform_id=None, q="")


@dataclass(frozen=True, slots=True)
class OutcomeItem(_PublicStatus):
    """One outcome in a public list: what ``outcome_item`` (templates/public/_items.html) shows,
    read as plain rows (a page of ORM problems with their platforms cost a millisecond)."""

    id: int
    reference: str
    title: str
    resolution: str | None
    status: IssueStatus
    closed_at: datetime | None
    updated_at: datetime
    platform: Named
    district: Named

    @classmethod
    def from_row(cls, row: sa.Row[Any]) -> OutcomeItem:
        return cls(row.id, row.reference, row.title, row.resolution, row.status, row.closed_at,
                   row.updated_at, Named(row.platform_id, row.platform_name or ""),
                   Named(row.district_id, row.district_name or ""))


@lru_cache(maxsize=LIST_STATEMENTS)
def outcome_items(
    *, status: IssueStatus | None = None, district_id: int | None = None,
    category: Category | None = None, platform_id: int | None = None, q: str = "",
    keys: bool = False,
) -> sa.Select[Any]:
    """``outcome_list`` as rows of the columns a list shows (``OutcomeItem.from_row``); with
    ``keys``, their ids alone (``listing.ListPage``). Built once per set of filters."""
    return _outcomes(sa.select(Issue.id) if keys else _outcome_item_columns(), status=status,
                     district_id=district_id, category=category, platform_id=platform_id, q=q,
                     a_page=not keys)


@cache
def _outcome_item_columns() -> sa.Select[Any]:
    # Built once: putting a statement together took as long as running it.
    return (sa.select(Issue.id, Issue.reference, Issue.title, Issue.resolution, Issue.status,
                      Issue.closed_at, Issue.updated_at, Issue.platform_id, Issue.district_id,
                      Platform.name.label("platform_name"),
                      _District.name.label("district_name"))
            .select_from(Issue)
            .outerjoin(Platform, Platform.id == Issue.platform_id)
            .outerjoin(_District, _District.id == Issue.district_id))


def latest_outcomes(*, limit: int = 6) -> list[Issue]:
    return list(db.session.scalars(outcome_list().limit(limit)))


@cache
def _outcome_items_statement(limit: int, *, of_platform: bool = False) -> sa.Select[Any]:
    """``outcome_items()`` (of a platform: a bound parameter), the first ``limit``."""
    stmt = outcome_items()
    if of_platform:
        stmt = stmt.where(Issue.platform_id == sa.bindparam("page_platform_id"))
    return stmt.limit(limit)


def latest_outcome_items(*, limit: int = 6) -> list[OutcomeItem]:
    """The newest outcomes city-wide, as list items (the home page)."""
    return [OutcomeItem.from_row(row) for row in _rows(_outcome_items_statement(limit))]


def platform_outcomes(platform_id: int, limit: int) -> list[OutcomeItem]:
    """A platform's newest outcomes, for its page."""
    return [OutcomeItem.from_row(row) for row in _rows(
        _outcome_items_statement(limit, of_platform=True), page_platform_id=platform_id)]


# What a problem's page shows beside the problem itself: all public (offices, not people).
ISSUE_PAGE = (joinedload(Issue.platform), joinedload(Issue.district), joinedload(Issue.event),
              joinedload(Issue.department), joinedload(Issue.duplicate_of))


@cache
def _issue_by_reference_statement() -> sa.Select[tuple[Issue]]:
    return sa.select(Issue).where(Issue.reference == sa.bindparam("page_reference"),
                                  PUBLISHED).options(*ISSUE_PAGE)


def issue_by_reference(reference: str) -> Issue | None:
    """The published problem with this receipt; an unpublished one is as unknown as a
    receipt never issued (its page, the API and Open311 answer 404 alike)."""
    return db.session.scalar(_issue_by_reference_statement(), {"page_reference": reference})


@dataclass(frozen=True, slots=True)
class PlatformPlace:
    """The platform a problem came to, as its page shows it: name, address, map."""

    id: int
    name: str
    address: str
    latitude: float | None
    longitude: float | None


@dataclass(frozen=True, slots=True)
class EventTopic:
    id: int
    topic: str


@dataclass(frozen=True, slots=True)
class Reference:
    id: int
    reference: str


@dataclass(frozen=True, slots=True)
class IssuePage(_PublicStatus):
    """A published problem as its public page shows it (templates/public/issue.html and
    _progress.html), read as one plain row with its platform, district, event, department and
    the problem it duplicates (the ORM problem with those five: 240 µs, the row 50)."""

    id: int
    reference: str
    title: str
    description: str
    kind: IssueKind | None
    category: Category | None
    status: IssueStatus
    resolution: str | None
    satisfaction: Satisfaction | None
    planned_on: date | None
    created_at: datetime
    published_at: datetime | None
    platform_id: int | None
    event_id: int | None
    platform: PlatformPlace | None
    district: Named | None
    event: EventTopic | None
    department: Named | None
    duplicate_of: Reference | None

    @property
    def is_published(self) -> bool:
        return self.published_at is not None


_ISSUE_PAGE_COLUMNS = ("id", "reference", "title", "description", "kind", "category", "status",
                       "resolution", "satisfaction", "planned_on", "created_at", "published_at",
                       "platform_id", "event_id")
_Duplicate = aliased(Issue, name="page_duplicate")


@cache
def _issue_row_statement() -> sa.Select[Any]:
    return (sa.select(*(getattr(Issue, name) for name in _ISSUE_PAGE_COLUMNS),
                      Platform.name.label("platform_name"),
                      Platform.address.label("platform_address"),
                      Platform.latitude, Platform.longitude, Issue.district_id,
                      _District.name.label("district_name"), Event.topic.label("event_topic"),
                      Issue.department_id, Department.name.label("department_name"),
                      Issue.duplicate_of_id, _Duplicate.reference.label("duplicate_reference"))
            .select_from(Issue)
            .outerjoin(Platform, Platform.id == Issue.platform_id)
            .outerjoin(_District, _District.id == Issue.district_id)
            .outerjoin(Event, Event.id == Issue.event_id)
            .outerjoin(Department, Department.id == Issue.department_id)
            .outerjoin(_Duplicate, _Duplicate.id == Issue.duplicate_of_id)
            .where(Issue.reference == sa.bindparam("page_reference"), PUBLISHED))


def issue_row(reference: str) -> IssuePage | None:
    """``issue_by_reference`` for the problem's public page (``IssuePage``)."""
    row = _rows(_issue_row_statement(), page_reference=reference).first()
    if row is None:
        return None

    def joined(key: int | None, make: Callable[[], Any]) -> Any:
        return make() if key is not None else None

    return IssuePage(
        *(getattr(row, name) for name in _ISSUE_PAGE_COLUMNS),
        joined(row.platform_id, lambda: PlatformPlace(
            row.platform_id, row.platform_name, row.platform_address, row.latitude,
            row.longitude)),
        joined(row.district_id, lambda: Named(row.district_id, row.district_name)),
        joined(row.event_id, lambda: EventTopic(row.event_id, row.event_topic)),
        joined(row.department_id, lambda: Named(row.department_id, row.department_name)),
        joined(row.duplicate_of_id, lambda: Reference(row.duplicate_of_id,
                                                       row.duplicate_reference)))


@cache
def _issue_photos_statement() -> sa.Select[Any]:
    return (sa.select(IssuePhoto.id, IssuePhoto.width, IssuePhoto.height)
            .where(IssuePhoto.issue_id == sa.bindparam("page_issue_id"),
                   IssuePhoto.is_public.is_(True))
            .order_by(IssuePhoto.id))


def public_photos(issue_id: int) -> list[sa.Row[Any]]:
    """A published problem's photos residents may see (id, width, height), by id."""
    return list(_rows(_issue_photos_statement(), page_issue_id=issue_id))


def published(issues: list[Issue]) -> list[Issue]:
    """The published ones of ``issues`` (an event's problems), by id."""
    return sorted((i for i in issues if i.is_published), key=lambda i: i.id)


def issue_by_token(token: str) -> Issue | None:
    """The resident's own problem by its secret link, published or not (the receipt and the
    tracking page show the review status to the one who submitted it)."""
    if not token or len(token) > 64:
        return None
    return db.session.scalar(
        sa.select(Issue).where(Issue.tracking_token == token).options(*ISSUE_PAGE))


def phone_digits(phone: str | None) -> str:
    return re.sub(r"\D", "", unicodedata.normalize("NFKC", phone or ""))


def issue_by_reference_and_digits(reference: str, last_four: str) -> Issue | None:
    """The problem with that receipt whose phone ends in ``last_four``; None for any mismatch."""
    issue = db.session.scalar(
        sa.select(Issue).where(Issue.reference == normalise_reference(reference)))
    digits = phone_digits(last_four)
    if issue is None or len(digits) != 4:
        return None
    on_file = phone_digits(issue.submitter_phone)[-4:]
    if len(on_file) != 4 or not hmac.compare_digest(on_file, digits):
        return None
    return issue


def public_timeline(issue_id: int) -> list[IssueUpdate]:
    """The problem's public timeline, oldest first; private notes are never loaded."""
    return list(db.session.scalars(
        sa.select(IssueUpdate).where(IssueUpdate.issue_id == issue_id,
                                     IssueUpdate.is_public.is_(True))
        .order_by(IssueUpdate.created_at, IssueUpdate.id)))


@cache
def _timeline_rows_statement() -> sa.Select[Any]:
    return (sa.select(IssueUpdate.created_at, IssueUpdate.action, IssueUpdate.from_status,
                      IssueUpdate.to_status, IssueUpdate.note)
            .where(IssueUpdate.issue_id == sa.bindparam("page_issue_id"),
                   IssueUpdate.is_public.is_(True))
            .order_by(IssueUpdate.created_at, IssueUpdate.id))


def public_timeline_rows(issue_id: int) -> list[sa.Row[Any]]:
    """``public_timeline`` as the columns a page shows (when, action, statuses, note)."""
    return list(_rows(_timeline_rows_statement(), page_issue_id=issue_id))
