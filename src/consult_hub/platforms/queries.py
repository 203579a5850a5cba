"""Read-side queries on platforms, for staff pages and (later) the public site."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from consult_hub.events.models import Event, EventStatus
from consult_hub.extensions import db
from consult_hub.issues.models import CLOSED_STATUSES, Issue
from consult_hub.platforms.models import Platform


def platform_with_people(platform_id: int) -> Platform | None:
    return db.session.scalar(
        sa.select(Platform)
        .where(Platform.id == platform_id)
        .options(selectinload(Platform.members), selectinload(Platform.coordinators),
                 selectinload(Platform.area), selectinload(Platform.district))
    )


def upcoming_events(platform_id: int, now: datetime, limit: int = 10) -> list[Event]:
    return list(db.session.scalars(
        sa.select(Event)
        .where(Event.platform_id == platform_id, Event.status == EventStatus.PLANNED,
               Event.starts_at >= now)
        .order_by(Event.starts_at).limit(limit)
    ))


def recent_events(platform_id: int, now: datetime, limit: int = 10) -> list[Event]:
    return list(db.session.scalars(
        sa.select(Event)
        .where(Event.platform_id == platform_id, Event.starts_at < now)
        .order_by(Event.starts_at.desc()).limit(limit)
    ))


def open_issues(platform_id: int, limit: int = 20) -> list[Issue]:
    return list(db.session.scalars(
        sa.select(Issue)
        .where(Issue.platform_id == platform_id, Issue.status.not_in(CLOSED_STATUSES))
        .options(selectinload(Issue.department))
        .order_by(Issue.due_on.is_(None), Issue.due_on, Issue.id).limit(limit)
    ))
