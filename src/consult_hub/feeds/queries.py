"""What the feeds publish: events around today and the latest outcomes."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, load_only

from consult_hub.areas.models import Area, AreaLevel
from consult_hub.core.db import utcnow
from consult_hub.events.models import Event
from consult_hub.extensions import db
from consult_hub.issues.models import Issue
from consult_hub.platforms.models import Platform
from consult_hub.public import queries as public_queries

# A calendar carries the recent past (so a subscriber sees what just happened) and the future.
PAST_DAYS = 90
MAX_EVENTS = 2000
MAX_OUTCOMES = 50


def calendar_events(*, platform_id: int | None = None, district_id: int | None = None,
                    now: datetime | None = None) -> list[Event]:
    """Events of every status from ``PAST_DAYS`` ago on, oldest first, with their platform.

    At most ``MAX_EVENTS``: what is coming first (soonest first), then the recent past
    (latest first), so that a busy feed never drops tomorrow's events for last quarter's.
    """
    now = now or utcnow()
    since = now - timedelta(days=PAST_DAYS)
    # Only what a VEVENT carries: minutes and opinions can be long, and stay in the database.
    stmt = sa.select(Event).options(joinedload(Event.platform), load_only(
        Event.id, Event.platform_id, Event.topic, Event.category, Event.starts_at, Event.ends_at,
        Event.location, Event.format, Event.agenda, Event.status, Event.cancel_reason,
        Event.sequence, Event.created_at, Event.updated_at))
    if platform_id is not None:
        stmt = stmt.where(Event.platform_id == platform_id)
    if district_id is not None:
        stmt = stmt.where(Event.platform_id.in_(
            sa.select(Platform.id).where(Platform.district_id == district_id)))
    coming = list(db.session.scalars(
        stmt.where(Event.starts_at >= now).order_by(Event.starts_at, Event.id)
        .limit(MAX_EVENTS)).unique())
    past = list(db.session.scalars(
        stmt.where(Event.starts_at >= since, Event.starts_at < now)
        .order_by(Event.starts_at.desc(), Event.id.desc())
        .limit(MAX_EVENTS - len(coming))).unique()) if len(coming) < MAX_EVENTS else []
    return [*reversed(past), *coming]


def district_by_code(code: str) -> Area | None:
    return db.session.scalar(
        sa.select(Area).where(Area.code == code, Area.level == AreaLevel.DISTRICT))


def latest_outcomes(limit: int = MAX_OUTCOMES) -> list[Issue]:
    """The newest outcomes (resolved, planned or constrained), as the public outcomes page orders them."""
    return list(db.session.scalars(public_queries.outcome_list().limit(limit)).unique())
