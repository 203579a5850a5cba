"""Read-side queries on the area tree: districts for pickers, and counts for the tree pages."""

from __future__ import annotations

import sqlalchemy as sa

from consult_hub.areas.models import Area, AreaLevel
from consult_hub.auth.models import Role, User
from consult_hub.extensions import db


def districts_for(user: User) -> list[Area]:
    """The districts ``user`` works in: all of them for city staff, else their own."""
    query = sa.select(Area).where(Area.level == AreaLevel.DISTRICT).order_by(Area.code)
    if user.role is not Role.ADMIN:
        query = query.where(Area.id == user.district_id)
    return list(db.session.scalars(query))


def district_choices(user: User) -> list[tuple[int, str]]:
    return [(d.id, d.name) for d in districts_for(user)]


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
