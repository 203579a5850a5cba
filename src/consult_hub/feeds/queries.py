"""What the feeds publish: events around today and the latest outcomes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from functools import cache, lru_cache
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
    coming_events, past_events = _calendar_statements(platform_id is not None,
                                                      district_id is not None)
    values = {"now": now, "since": now - timedelta(days=PAST_DAYS), "platform_id": platform_id,
              "district_id": district_id, "room": MAX_EVENTS}
    connection = db.session.connection()  # plain rows: no ORM entities to build
    coming = connection.execute(coming_events, values).all()
    past = (connection.execute(past_events, {**values, "room": MAX_EVENTS - len(coming)}).all()
            if len(coming) < MAX_EVENTS else [])
    return [tuple(row) for row in (*reversed(past), *coming)]


@lru_cache(maxsize=4)
def _calendar_statements(by_platform: bool, by_district: bool,
                         ) -> tuple[sa.Select[Any], sa.Select[Any]]:
    """The coming and the past events' statements, built once per kind of calendar (city,
    district, platform) with the moment and the place as parameters: putting them together
    took longer than running them."""
    chosen = sa.select(Event.id, Event.version, Event.updated_at, Event.platform_id,
                       Event.starts_at)
    if by_platform:
        chosen = chosen.where(Event.platform_id == sa.bindparam("platform_id"))
    if by_district:
        chosen = chosen.where(Event.platform_id.in_(
            sa.select(Platform.id).where(Platform.district_id == sa.bindparam("district_id"))))
    now, room = sa.bindparam("now"), sa.bindparam("room", type_=sa.Integer)
    coming = _with_platform(chosen.where(Event.starts_at >= now)
                            .order_by(Event.starts_at, Event.id).limit(room), descending=False)
    past = _with_platform(chosen.where(Event.starts_at >= sa.bindparam("since"),
                                       Event.starts_at < now)
                          .order_by(Event.starts_at.desc(), Event.id.desc()).limit(room),
                          descending=True)
    return coming, past


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


def latest_outcomes(limit: int = MAX_OUTCOMES) -> list[sa.Row[Any]]:
    """The newest outcomes (resolved, planned or constrained), as the public outcomes page
    orders them: the columns the Atom feed shows, as rows (fifty problems loaded whole with
    their platforms and districts were a fifth of the feed's time)."""
    return list(db.session.execute(_latest_outcomes().limit(limit)))


@cache
def _latest_outcomes() -> sa.Select[Any]:
    return public_queries.outcome_rows(
        Issue.reference, Issue.title, Issue.status, Issue.category, Issue.resolution,
        Issue.created_at, Issue.closed_at, Issue.updated_at)
