"""What the feeds publish: events around today and the latest outcomes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from consult_hub.areas.models import Area, AreaLevel
from consult_hub.core.db import utcnow
from consult_hub.core.pagecache import SiteVersion
from consult_hub.events.models import Event
from consult_hub.extensions import db
from consult_hub.issues.models import Issue
from consult_hub.platforms.models import Platform
from consult_hub.public import queries as public_queries

# A calendar carries the recent past (so a subscriber sees what just happened) and the future.
PAST_DAYS = 90
MAX_EVENTS = 2000
MAX_OUTCOMES = 50


def _as_stored(column: Any, name: str) -> Any:
    """A column as the driver returns it: compared, never shown, so not worth converting."""
    return sa.type_coerce(column, sa.String()).label(name)


def _entry_key(event: Any) -> tuple[Any, ...]:
    """What a VEVENT's text is made of, as far as the database goes, from ``event``'s columns
    (the table's or a subquery's) and the platform's: the event's id first, then a change to
    the event or to its platform (name, address) changes one of these. The version counters
    move with every ORM write (bulk imports included); updated_at with any UPDATE through
    SQLAlchemy; ids are never reused (rows are not deleted, and a reused id would come with a
    new updated_at)."""
    return (event.id, event.version, _as_stored(event.updated_at, "event_stamp"),
            event.platform_id, Platform.version.label("platform_version"),
            _as_stored(Platform.updated_at, "platform_stamp"))


_VEVENT_COLUMNS = (
    Event.topic, Event.category, Event.starts_at, Event.ends_at, Event.location, Event.format,
    Event.agenda, Event.attendance, Event.attendance_note, Event.status, Event.cancel_reason,
    Event.sequence, Event.created_at, Event.updated_at, Platform.name.label("platform_name"),
    Platform.address.label("platform_address"),
)
_ID_CHUNK = 500


def calendar_entries(*, platform_id: int | None = None, district_id: int | None = None,
                     now: datetime | None = None) -> list[tuple[Any, ...]]:
    """The events a calendar carries, by their entry key (``_entry_key``): of every status from
    ``PAST_DAYS`` ago on, oldest first.

    At most ``MAX_EVENTS``: what is coming first (soonest first), then the recent past
    (latest first), so that a busy feed never drops tomorrow's events for last quarter's.
    Only the identities: the texts mostly come from the cache (``vevent_rows`` for the rest).
    """
    now = now or utcnow()
    since = now - timedelta(days=PAST_DAYS)
    chosen = sa.select(Event.id, Event.version, Event.updated_at, Event.platform_id,
                       Event.starts_at)
    if platform_id is not None:
        chosen = chosen.where(Event.platform_id == platform_id)
    if district_id is not None:
        chosen = chosen.where(Event.platform_id.in_(
            sa.select(Platform.id).where(Platform.district_id == district_id)))
    connection = db.session.connection()  # plain rows: no ORM entities to build
    coming = connection.execute(_with_platform(
        chosen.where(Event.starts_at >= now).order_by(Event.starts_at, Event.id)
        .limit(MAX_EVENTS), descending=False)).all()
    past = (connection.execute(_with_platform(
        chosen.where(Event.starts_at >= since, Event.starts_at < now)
        .order_by(Event.starts_at.desc(), Event.id.desc())
        .limit(MAX_EVENTS - len(coming)), descending=True)).all()
        if len(coming) < MAX_EVENTS else [])
    return [tuple(row) for row in (*reversed(past), *coming)]


def _with_platform(events: sa.Select[Any], *, descending: bool) -> sa.Select[Any]:
    """The entry keys of the events chosen, in their order: the platform's part joined to the
    few events once they are chosen (joined before the LIMIT, PostgreSQL plans a parallel
    scan of every coming event, several times slower)."""
    chosen = events.subquery("chosen")
    order = (chosen.c.starts_at, chosen.c.id)
    return (sa.select(*_entry_key(chosen.c)).join(Platform, Platform.id == chosen.c.platform_id)
            .order_by(*(c.desc() for c in order) if descending else order))


def vevent_rows(event_ids: list[int]) -> Iterator[tuple[tuple[Any, ...], Any]]:
    """(entry key, row) of each event named: only what a VEVENT carries (minutes
    and opinions can be long, and stay in the database), the platform's name and address."""
    key = _entry_key(Event.__table__.c)
    stmt = sa.select(*key, *_VEVENT_COLUMNS).join(Platform, Platform.id == Event.platform_id)
    connection = db.session.connection()
    width = len(key)
    for start in range(0, len(event_ids), _ID_CHUNK):
        chunk = event_ids[start:start + _ID_CHUNK]
        for row in connection.execute(stmt.where(Event.id.in_(chunk))):
            yield tuple(row[:width]), row


def site_changed_at() -> datetime | None:
    """When the public site last changed (any write residents can see; core/pagecache.py).

    Read before the feed's rows: a write committed in between then makes the feed look older
    than it is (a client fetches once more), never newer (a client would miss the write).
    """
    return db.session.scalar(sa.select(SiteVersion.changed_at).where(SiteVersion.id == 1))


def last_left_at(*, platform_id: int | None = None, district_id: int | None = None,
                 now: datetime) -> datetime | None:
    """When the latest event to leave the calendar's window (``PAST_DAYS``) left it: leaving
    changes the calendar without any write."""
    stmt = sa.select(sa.func.max(Event.starts_at)).where(
        Event.starts_at < now - timedelta(days=PAST_DAYS))
    if platform_id is not None:
        stmt = stmt.where(Event.platform_id == platform_id)
    if district_id is not None:
        stmt = stmt.where(Event.platform_id.in_(
            sa.select(Platform.id).where(Platform.district_id == district_id)))
    latest = db.session.scalar(stmt)
    return latest + timedelta(days=PAST_DAYS) if latest is not None else None


def district_by_code(code: str) -> Area | None:
    return db.session.scalar(
        sa.select(Area).where(Area.code == code, Area.level == AreaLevel.DISTRICT))


def latest_outcomes(limit: int = MAX_OUTCOMES) -> list[Issue]:
    """The newest outcomes (resolved, planned or constrained), as the public outcomes page
    orders them."""
    return list(db.session.scalars(public_queries.outcome_list().limit(limit)).unique())
