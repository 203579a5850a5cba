"""Read-side queries on platforms, for staff pages and (later) the public site."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased, joinedload, selectinload
from sqlalchemy.sql.visitors import InternalTraversal

from consult_hub.areas import queries as area_queries
from consult_hub.areas.models import Area, AreaLevel
from consult_hub.audit.models import AuditLog
from consult_hub.auth.models import Role, User
from consult_hub.core.db import caseless, contains_text
from consult_hub.extensions import db
from consult_hub.members.models import Member
from consult_hub.platforms.models import (
    Platform,
    PlatformKind,
    PlatformStatus,
    platform_coordinators,
    platform_members,
)

# Audit actions of status changes, newest first tells why a platform is not active.
STATUS_ACTIONS = ("platform_suspend", "platform_close", "platform_reactivate")
CANDIDATE_LIMIT = 50


def platform_accepts_events(platform: Platform) -> bool:
    """Whether new events may be planned at ``platform``: only while it is active.

    A closed platform is gone; a suspended one is paused until someone reactivates it.
    """
    return platform.status is PlatformStatus.ACTIVE


class PairedSearch(sa.ColumnElement[bool]):
    """On PostgreSQL, a two-character search looked up in the trigram index of the platforms'
    text with every character doubled (``search_pairs``, migration 0011): pg_trgm needs three
    characters, most Chinese place names have two, and "文昌" occurs in the text exactly where
    "文文昌昌" occurs in the doubled one. It narrows; the plain condition beside it decides.
    Elsewhere it is no condition at all (a city's platforms are read in full).

    Only for text without letters that have a case (the column holds the text as it is).

    Cacheable like SQLAlchemy's own constructs (its pattern a bound parameter of the cache
    key): a statement holding one was compiled again on every request, 2 of a two-character
    search's 4 ms."""

    inherit_cache = True
    _traverse_internals = [("pattern", InternalTraversal.dp_clauseelement)]
    type = sa.Boolean()

    def __init__(self, text: str) -> None:
        doubled = "".join(char * 2 for char in text)
        pattern = "".join("/" + char if char in "%_/" else char for char in doubled)
        self.pattern = sa.bindparam("paired_search", f"%{pattern}%", unique=True)


@compiles(PairedSearch)
def _paired_search_anywhere(element: PairedSearch, compiler: Any, **kw: Any) -> str:
    return "1 = 1"


@compiles(PairedSearch, "postgresql")
def _paired_search_postgresql(element: PairedSearch, compiler: Any, **kw: Any) -> str:
    return f"platforms.search_pairs LIKE {compiler.process(element.pattern, **kw)} ESCAPE '/'"


# ---- the staff list --------------------------------------------------------------------------


@dataclass(frozen=True)
class PlatformFilters:
    """What the staff list is narrowed to; ``None`` means no filter."""

    q: str | None = None
    district_id: int | None = None
    street_id: int | None = None
    kind: PlatformKind | None = None
    status: PlatformStatus | None = None
    demonstration: bool | None = None
    demonstration_year: int | None = None

    def clauses(self) -> list[sa.ColumnElement[bool]]:
        where: list[sa.ColumnElement[bool]] = []
        if self.q:
            # Substring, case-insensitive for Latin letters; % and _ are taken literally.
            where.append(sa.or_(*(contains_text(column, self.q)
                                  for column in (Platform.name, Platform.address, Platform.code))))
            if len(self.q) == 2 and caseless(self.q):
                where.append(PairedSearch(self.q))
        if self.district_id is not None:
            where.append(Platform.district_id == self.district_id)
        if self.street_id is not None:
            # A platform sits in a community of the street, or in the street itself.
            where.append(sa.or_(
                Platform.area_id == self.street_id,
                Platform.area_id.in_(sa.select(Area.id).where(Area.parent_id == self.street_id)),
            ))
        if self.kind is not None:
            where.append(Platform.kind == self.kind)
        if self.status is not None:
            where.append(Platform.status == self.status)
        if self.demonstration is not None:
            where.append(Platform.is_demonstration.is_(self.demonstration))
        if self.demonstration_year is not None:
            where.append(Platform.demonstration_year == self.demonstration_year)
        return where


def platform_page(scope: sa.ColumnElement[bool], filters: PlatformFilters, *, page: int,
                  per_page: int):
    """One page of platforms within ``scope`` (see ``scopes.platform_filter``), with their areas.

    Two queries whatever the page size: the count and the rows (areas joined in).
    """
    query = (
        sa.select(Platform)
        .where(scope, *filters.clauses())
        .options(joinedload(Platform.district), joinedload(Platform.area))
        .order_by(Platform.code, Platform.id)
    )
    return db.paginate(query, page=page, per_page=per_page, max_per_page=per_page,
                       error_out=False)


def status_counts(scope: sa.ColumnElement[bool],
                  filters: PlatformFilters) -> dict[PlatformStatus, int]:
    """How many platforms of each status match, ignoring the status filter itself."""
    without_status = PlatformFilters(**{**filters.__dict__, "status": None})
    rows = db.session.execute(
        sa.select(Platform.status, sa.func.count())
        .where(scope, *without_status.clauses())
        .group_by(Platform.status)
    )
    counts = dict.fromkeys(PlatformStatus, 0)
    counts.update({status: count for status, count in rows})
    return counts


def demonstration_years(scope: sa.ColumnElement[bool]) -> list[int]:
    """The years in which platforms within ``scope`` became demonstration sites, newest first."""
    return list(db.session.scalars(
        sa.select(Platform.demonstration_year).distinct()
        .where(scope, Platform.demonstration_year.is_not(None))
        .order_by(Platform.demonstration_year.desc())
    ))


# ---- areas -----------------------------------------------------------------------------------


def districts() -> list[Area]:
    return list(db.session.scalars(
        sa.select(Area).where(Area.level == AreaLevel.DISTRICT).order_by(Area.code)))


def streets(district_id: int) -> list[Area]:
    return list(db.session.scalars(
        sa.select(Area).where(Area.parent_id == district_id, Area.level == AreaLevel.STREET)
        .order_by(Area.code)))


def areas_by_street(district_id: int) -> list[tuple[Area, list[Area]]]:
    """The streets of a district, each with its communities, for an area picker."""
    street = aliased(Area)
    communities = db.session.scalars(
        sa.select(Area).join(street, Area.parent_id == street.id)
        .where(street.parent_id == district_id, Area.level == AreaLevel.COMMUNITY)
        .order_by(Area.code)
    )
    by_street: dict[int, list[Area]] = {}
    for community in communities:
        by_street.setdefault(community.parent_id, []).append(community)
    return [(s, by_street.get(s.id, [])) for s in streets(district_id)]


def district_of(area: Area) -> Area | None:
    """The district an area belongs to (itself for a district)."""
    while area.parent is not None:
        area = area.parent
    return area if area.level is AreaLevel.DISTRICT else None


def suggest_code(district: Area) -> str:
    """The next free code of the district's sequence, e.g. ``420102-0017``."""
    prefix = f"{district.code}-"
    codes = db.session.scalars(
        sa.select(Platform.code).where(Platform.code.startswith(prefix, autoescape=True)))
    numbers = [int(tail) for code in codes if (tail := code[len(prefix):]).isdigit()]
    return f"{prefix}{max(numbers, default=0) + 1:04d}"


def code_taken(code: str, *, exclude_id: int | None = None) -> bool:
    query = sa.select(Platform.id).where(sa.func.upper(Platform.code) == code.upper())
    if exclude_id is not None:
        query = query.where(Platform.id != exclude_id)
    return db.session.scalar(query.limit(1)) is not None


# ---- one platform ----------------------------------------------------------------------------


def platform_with_people(platform_id: int) -> Platform | None:
    return db.session.scalar(
        sa.select(Platform)
        .where(Platform.id == platform_id)
        .options(selectinload(Platform.members), selectinload(Platform.coordinators),
                 joinedload(Platform.area), joinedload(Platform.district))
    )


def last_status_change(platform: Platform) -> AuditLog | None:
    """The audit row of the latest suspend/close/reactivate, with its reason."""
    return db.session.scalar(
        sa.select(AuditLog)
        .where(AuditLog.entity_type == Platform.__tablename__, AuditLog.entity_id == platform.id,
               AuditLog.action.in_(STATUS_ACTIONS))
        .options(joinedload(AuditLog.actor))
        .order_by(AuditLog.id.desc()).limit(1)
    )


# ---- people ----------------------------------------------------------------------------------


def coordinator_candidates(platform: Platform, *, district_id: int | None, q: str | None = None,
                           limit: int = CANDIDATE_LIMIT) -> list[User]:
    """Active coordinators who could be linked to ``platform``.

    With ``district_id`` (a district admin's view) only coordinators of that district
    (by their own district or a platform they coordinate there) or with no platform at all.
    """
    linked = sa.select(platform_coordinators.c.user_id).where(
        platform_coordinators.c.platform_id == platform.id)
    query = sa.select(User).where(User.role == Role.COORDINATOR, User.is_active.is_(True),
                                  User.id.not_in(linked))
    if district_id is not None:
        query = query.where(coordinator_visible_in(district_id))
    if q:
        query = query.where(sa.or_(User.name.icontains(q, autoescape=True),
                                   User.username.icontains(q, autoescape=True)))
    return list(db.session.scalars(
        query.options(selectinload(User.platforms)).order_by(User.name, User.id).limit(limit)))


def coordinator_visible_in(district_id: int) -> sa.ColumnElement[bool]:
    """Coordinators a district's staff may see: theirs, or not linked to any platform yet."""
    in_district = sa.select(platform_coordinators.c.user_id).join(
        Platform, Platform.id == platform_coordinators.c.platform_id
    ).where(Platform.district_id == district_id)
    any_platform = sa.select(platform_coordinators.c.user_id)
    return sa.or_(User.district_id == district_id, User.id.in_(in_district),
                  User.id.not_in(any_platform))


def coordinator_may_be_linked(user: User, district_id: int | None) -> bool:
    """Whether ``user`` is among the candidates a viewer limited to ``district_id`` may link."""
    if user.role is not Role.COORDINATOR or not user.is_active:
        return False
    if district_id is None:
        return True
    return db.session.scalar(
        sa.select(sa.literal(True)).select_from(User)
        .where(User.id == user.id, coordinator_visible_in(district_id))
    ) is not None


def member_candidates(platform: Platform, q: str | None,
                      limit: int = CANDIDATE_LIMIT) -> list[Member]:
    """Active members matching ``q`` by name who are not yet linked to ``platform``.

    Members of the platform's district (and city-level ones) come first.
    """
    if not q:
        return []
    linked = sa.select(platform_members.c.member_id).where(
        platform_members.c.platform_id == platform.id)
    nearby = sa.case((Member.district_id == platform.district_id, 0),
                     (Member.district_id.is_(None), 1), else_=2)
    return list(db.session.scalars(
        sa.select(Member)
        .where(Member.is_active.is_(True), Member.id.not_in(linked),
               Member.name.icontains(q, autoescape=True))
        .options(joinedload(Member.district))
        .order_by(nearby, Member.name, Member.id).limit(limit)
    ))


# ---- the area tree with its platforms, a member with theirs ----------------------------------


@dataclass
class AreaRow:
    """One area in a tree listing, with what sits below it."""

    area: Area
    children: int = 0
    grandchildren: int = 0
    platforms: int = 0


def district_rows() -> list[AreaRow]:
    """Every district with its numbers of streets, communities and platforms."""
    street = aliased(Area)
    streets = dict(db.session.execute(
        sa.select(Area.parent_id, sa.func.count(Area.id))
        .where(Area.level == AreaLevel.STREET).group_by(Area.parent_id)
    ).all())
    communities = dict(db.session.execute(
        sa.select(street.parent_id, sa.func.count(Area.id))
        .join(street, Area.parent_id == street.id)
        .where(Area.level == AreaLevel.COMMUNITY).group_by(street.parent_id)
    ).all())
    platforms = dict(db.session.execute(
        sa.select(Platform.district_id, sa.func.count(Platform.id)).group_by(Platform.district_id)
    ).all())
    districts = db.session.scalars(
        sa.select(Area).where(Area.level == AreaLevel.DISTRICT).order_by(Area.code))
    return [AreaRow(d, streets.get(d.id, 0), communities.get(d.id, 0), platforms.get(d.id, 0))
            for d in districts]


def child_rows(area: Area) -> list[AreaRow]:
    """The streets of a district or the communities of a street, with platform counts."""
    children = list(db.session.scalars(
        sa.select(Area).where(Area.parent_id == area.id).order_by(Area.code)))
    child_ids = {c.id for c in children}
    grand: dict[int, int] = {}
    if area.level is AreaLevel.DISTRICT and child_ids:
        grand = dict(db.session.execute(
            sa.select(Area.parent_id, sa.func.count(Area.id))
            .where(Area.parent_id.in_(child_ids)).group_by(Area.parent_id)
        ).all())
    # A platform sits in a community or directly in a street: count it under the child it is in.
    counts: Counter[int] = Counter()
    located = (sa.select(Platform.area_id, Area.parent_id).join(Area, Platform.area_id == Area.id)
               .where(Platform.district_id == area_queries.district_of(area).id))
    for area_id, parent_id in db.session.execute(located):
        if area_id in child_ids:
            counts[area_id] += 1
        elif parent_id in child_ids:
            counts[parent_id] += 1
    return [AreaRow(c, children=grand.get(c.id, 0), platforms=counts[c.id]) for c in children]


def platforms_in(area: Area, limit: int = 200) -> list[Platform]:
    """Platforms placed directly in ``area`` (a community, or a street without one)."""
    return list(db.session.scalars(
        sa.select(Platform).where(Platform.area_id == area.id)
        .options(selectinload(Platform.district)).order_by(Platform.name).limit(limit)
    ))




def member_with_platforms(member_id: int) -> Member | None:
    return db.session.scalar(
        sa.select(Member).where(Member.id == member_id).options(
            selectinload(Member.district),
            selectinload(Member.platforms).selectinload(Platform.district))
    )
