"""Read-side queries for Open311: public fields of problems, and the platform nearest a point."""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from consult_hub.core.categories import Category
from consult_hub.core.forms import MAX_ID
from consult_hub.departments.models import Department
from consult_hub.extensions import db
from consult_hub.issues.models import CLOSED_STATUSES, Issue, IssueKind
from consult_hub.platforms.models import Platform, PlatformStatus

# What a request shows, and nothing more: the problem's public fields (the location staff
# published, never the reported address), its platform (the place) and its department (the
# agency); never a person. Plain rows, not ORM objects: a
# list of a thousand problems spent more time building objects than querying.
REQUEST_COLUMNS = (
    Issue.reference, Issue.status, Issue.kind, Issue.category, Issue.title, Issue.description,
    Issue.resolution, Issue.created_at, Issue.updated_at, Issue.planned_on, Issue.due_on,
    Issue.address.label("published_address"),
    Platform.name.label("platform_name"), Platform.address.label("platform_address"),
    Platform.latitude, Platform.longitude, Department.name.label("department_name"),
)
NEWEST_FIRST = (Issue.created_at.desc(), Issue.id.desc())
# Only problems staff reviewed and published: a submission waiting for review (or rejected
# unseen) is as unknown to Open311 as a receipt never issued.
PUBLISHED = Issue.published_at.is_not(None)


def _shown(stmt: sa.Select[Any]) -> sa.Select[Any]:
    return (stmt.join(Platform, Platform.id == Issue.platform_id)
            .outerjoin(Department, Department.id == Issue.department_id))


def requests(*, references: Iterable[str] = (), services: Iterable[tuple[IssueKind, Category]] = (),
             start: datetime | None = None, end: datetime | None = None,
             statuses: Iterable[str] = (), limit: int = 1000, offset: int = 0,
             older_than: tuple[datetime, int] | None = None) -> list[sa.Row[Any]]:
    """Problems matching the GeoReport filters, newest first; references override the rest.

    ``start`` is inclusive; ``end`` is exclusive; ``older_than`` (``position`` of a request)
    keeps those after it in this order. The page's ids are chosen first (on the
    ``created_at, id`` index, also when ``offset`` skips thousands), then only they are joined.
    """
    stmt = sa.select(Issue.id).where(PUBLISHED)
    wanted = list(references)
    if wanted:
        stmt = stmt.where(Issue.reference.in_(wanted))
    else:
        pairs = list(services)
        if pairs:
            stmt = stmt.where(sa.or_(*(sa.and_(Issue.kind == kind, Issue.category == category)
                                       for kind, category in pairs)))
        if start is not None:
            stmt = stmt.where(Issue.created_at >= start)
        if end is not None:
            stmt = stmt.where(Issue.created_at < end)
        if older_than is not None:
            stmt = stmt.where(sa.tuple_(Issue.created_at, Issue.id) < sa.tuple_(*older_than))
        chosen = set(statuses)
        if chosen == {"open"}:
            stmt = stmt.where(Issue.status.not_in(CLOSED_STATUSES))
        elif chosen == {"closed"}:
            stmt = stmt.where(Issue.status.in_(CLOSED_STATUSES))
    page = stmt.order_by(*NEWEST_FIRST).limit(limit).offset(offset).subquery()
    return list(db.session.execute(
        _shown(sa.select(*REQUEST_COLUMNS).join(page, page.c.id == Issue.id))
        .order_by(*NEWEST_FIRST)))


def position(reference: str) -> tuple[datetime, int] | None:
    """Where the request with this receipt stands in the newest-first order."""
    row = db.session.execute(sa.select(Issue.created_at, Issue.id)
                             .where(Issue.reference == reference, PUBLISHED)).first()
    return (row.created_at, row.id) if row else None


def request_by_reference(reference: str) -> sa.Row[Any] | None:
    return db.session.execute(
        _shown(sa.select(*REQUEST_COLUMNS).where(Issue.reference == reference, PUBLISHED))
    ).first()


def active_platform_by_key(key: str) -> Platform | None:
    """An active platform by its code (420102-0001) or its number."""
    key = key.strip()
    match = Platform.code == key.upper()
    if key.isascii() and key.isdigit() and int(key) <= MAX_ID:
        match = sa.or_(match, Platform.id == int(key))
    return db.session.scalar(
        sa.select(Platform).where(match, Platform.status == PlatformStatus.ACTIVE).limit(1))


def nearest_active_platform(latitude: float, longitude: float) -> Platform | None:
    """The active platform with coordinates closest to the point.

    Squared distance on the plane, with longitude shrunk by cos(latitude) so that a degree
    east counts as far as it is; plenty within a city.
    """
    shrink = math.cos(math.radians(latitude)) ** 2
    distance = ((Platform.latitude - latitude) * (Platform.latitude - latitude)
                + (Platform.longitude - longitude) * (Platform.longitude - longitude) * shrink)
    return db.session.scalar(
        sa.select(Platform).where(Platform.status == PlatformStatus.ACTIVE,
                                  Platform.latitude.is_not(None), Platform.longitude.is_not(None))
        .order_by(distance, Platform.id).limit(1))
