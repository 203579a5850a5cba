"""Read-side queries on the area tree: districts for pickers, and counts for the tree pages."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import aliased, selectinload

from consult_hub.areas.models import Area, AreaLevel
from consult_hub.auth.models import Role, User
from consult_hub.extensions import db
from consult_hub.platforms.models import Platform


def districts_for(user: User) -> list[Area]:
    """The districts ``user`` works in: all of them for city staff, else their own."""
    query = sa.select(Area).where(Area.level == AreaLevel.DISTRICT).order_by(Area.code)
    if user.role is not Role.ADMIN:
        query = query.where(Area.id == user.district_id)
    return list(db.session.scalars(query))


def district_choices(user: User) -> list[tuple[int, str]]:
    return [(d.id, d.name) for d in districts_for(user)]


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
               .where(Platform.district_id == district_of(area).id))
    for area_id, parent_id in db.session.execute(located):
        if area_id in child_ids:
            counts[area_id] += 1
        elif parent_id in child_ids:
            counts[parent_id] += 1
    return [AreaRow(c, children=grand.get(c.id, 0), platforms=counts[c.id]) for c in children]


def district_of(area: Area) -> Area:
    """The district at the top of ``area``'s branch."""
    while area.parent is not None:
        area = area.parent
    return area


def ancestors(area: Area) -> list[Area]:
    """The path from the district down to ``area``'s parent."""
    path = []
    node = area.parent
    while node is not None:
        path.append(node)
        node = node.parent
    return list(reversed(path))


def platforms_in(area: Area, limit: int = 200) -> list[Platform]:
    """Platforms placed directly in ``area`` (a community, or a street without one)."""
    return list(db.session.scalars(
        sa.select(Platform).where(Platform.area_id == area.id)
        .options(selectinload(Platform.district)).order_by(Platform.name).limit(limit)
    ))


def parent_choices() -> list[tuple[str, list[tuple[int, str]]]]:
    """Districts, then each district's streets: the possible parents, grouped for a select."""
    areas = list(db.session.scalars(
        sa.select(Area).where(Area.level.in_([AreaLevel.DISTRICT, AreaLevel.STREET]))
        .order_by(Area.code)
    ))
    districts = [a for a in areas if a.level is AreaLevel.DISTRICT]
    groups = [(AreaLevel.DISTRICT.label, [(d.id, d.name) for d in districts])]
    for d in districts:
        streets = [(a.id, a.name) for a in areas if a.parent_id == d.id]
        if streets:
            groups.append((f"{d.name} · {AreaLevel.STREET.label}", streets))
    return groups
