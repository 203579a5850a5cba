"""Read-side queries for the residents' site: public fields only, a fixed number of queries
per page.

Nothing here loads a problem's submitter, its private notes or staff accounts;
templates get only what these functions return.
"""

from __future__ import annotations

import hmac
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import joinedload, selectinload

from consult_hub.areas.models import Area, AreaLevel
from consult_hub.core.categories import Category
from consult_hub.core.db import contains_text
from consult_hub.core.pagecache import site_version
from consult_hub.events.models import Event, EventStatus
from consult_hub.extensions import db
from consult_hub.issues.models import (
    OUTCOME_STATUSES,
    OUTCOME_WHERE,
    Issue,
    IssueStatus,
    IssueUpdate,
)
from consult_hub.issues.references import normalise_reference
from consult_hub.platforms.models import Platform, PlatformStatus
from consult_hub.platforms.queries import PlatformFilters

# What residents see as an outcome: solved, scheduled, or explained (and published).
OUTCOME_CLAUSE = sa.text(OUTCOME_WHERE)
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


_district_choices: dict[int, tuple[int, list[DistrictChoice]]] = {}  # per app: (version, rows)


def district_choices() -> list[DistrictChoice]:
    """Every district, by code, for the public filters; kept while the site version stands.

    A nation has 3,000 districts: loading them as ORM objects took half of a directory
    page's time on every request.
    """
    version = site_version()
    app_key = id(current_app._get_current_object())
    cached = _district_choices.get(app_key)
    if version is not None and cached is not None and cached[0] == version:
        return cached[1]
    rows = [DistrictChoice(row.id, row.code, row.name) for row in db.session.execute(
        sa.select(Area.id, Area.code, Area.name).where(Area.level == AreaLevel.DISTRICT)
        .order_by(Area.code))]
    if version is not None:
        _district_choices[app_key] = (version, rows)
    return rows


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


def platform_page(platform_id: int) -> Platform | None:
    """A platform with its place and members (public figures); never its coordinators."""
    return db.session.scalar(
        sa.select(Platform).where(Platform.id == platform_id).options(
            joinedload(Platform.district), joinedload(Platform.area).joinedload(Area.parent),
            selectinload(Platform.members)))


def active_platform(platform_id: int | None) -> Platform | None:
    if not platform_id:
        return None
    return db.session.scalar(sa.select(Platform).where(
        Platform.id == platform_id, Platform.status == PlatformStatus.ACTIVE))


# -- events -----------------------------------------------------------------------------------


# An event is always shown with its platform and district.
EVENT_PLACE = joinedload(Event.platform).joinedload(Platform.district)


def upcoming_events(now: datetime, *, limit: int = 6) -> list[Event]:
    """The next planned events city-wide, with their platform and district."""
    return list(db.session.scalars(
        sa.select(Event).where(Event.status == EventStatus.PLANNED, Event.starts_at >= now)
        .options(EVENT_PLACE).order_by(Event.starts_at, Event.id).limit(limit)))


def event_list(
    now: datetime, *, when: str = "upcoming", district_id: int | None = None,
    platform_id: int | None = None, q: str = "",
) -> sa.Select[tuple[Event]]:
    """Upcoming planned events (soonest first) or past ones (latest first); with ``q``, those
    whose topic, place or agenda holds it or whose platform's name, address or street does."""
    stmt = sa.select(Event).options(EVENT_PLACE)
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
        stmt = stmt.join(Event.platform).where(Platform.district_id == district_id)
    return stmt


def event_page(event_id: int) -> Event | None:
    """An event with its platform, the members who attended and the problems raised there."""
    return db.session.scalar(
        sa.select(Event).where(Event.id == event_id).options(
            EVENT_PLACE, selectinload(Event.attendees), selectinload(Event.issues),
            selectinload(Event.photos)))


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
    # The outcome statuses as literals, written exactly as ix_issues_outcome_time's WHERE, so
    # that both databases see the partial index applies (a bound parameter would hide it).
    stmt = sa.select(Issue).where(OUTCOME_CLAUSE).options(
        joinedload(Issue.platform), joinedload(Issue.district))
    if status in OUTCOME_STATUSES:
        stmt = stmt.where(Issue.status == status)
    if platform_id:
        stmt = stmt.where(Issue.platform_id == platform_id)
    elif district_id:
        stmt = stmt.where(Issue.district_id == district_id)
    if category:
        stmt = stmt.where(Issue.category == category)
    if q:
        stmt = stmt.where(sa.or_(contains_text(Issue.title, q), contains_text(Issue.resolution, q),
                                 Issue.platform_id.in_(platforms_named_or_placed(q))))
    return stmt.order_by(_outcome_time().desc(), Issue.id.desc())


def latest_outcomes(*, limit: int = 6) -> list[Issue]:
    return list(db.session.scalars(outcome_list().limit(limit)))


# What a problem's page shows beside the problem itself: all public (offices, not people).
ISSUE_PAGE = (joinedload(Issue.platform), joinedload(Issue.district), joinedload(Issue.event),
              joinedload(Issue.department), joinedload(Issue.duplicate_of))


def issue_by_reference(reference: str) -> Issue | None:
    """The published problem with this receipt; an unpublished one is as unknown as a
    receipt never issued (its page, the API and Open311 answer 404 alike)."""
    return db.session.scalar(
        sa.select(Issue).where(Issue.reference == reference, PUBLISHED).options(*ISSUE_PAGE))


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
