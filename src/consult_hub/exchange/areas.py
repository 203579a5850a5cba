"""Areas named in import files: districts must exist; streets and communities may be added.

A district is found by its name (江岸区) or its code (420102). A street is looked up among the
district's streets, and a community among the street's communities, by name or code; one that
is not there yet is created under it when the import is written (recorded in the audit log).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from consult_hub.areas.models import Area, AreaLevel
from consult_hub.audit.operations import diff, record
from consult_hub.exchange.cells import plain
from consult_hub.extensions import db

# A new street or community: (level, parent, name), where parent is an id or another NewArea.
NewArea = tuple[AreaLevel, Any, str]
AreaRef = int | NewArea  # an existing area's id, or one the import will add


@dataclass
class AreaBook:
    districts: dict[str, tuple[int, str]] = field(default_factory=dict)  # name/code → (id, name)
    children: dict[tuple[Any, str], int] = field(default_factory=dict)  # (parent, name/code) → id
    parents: dict[int, int | None] = field(default_factory=dict)  # area id → parent id
    loaded: set[int] = field(default_factory=set)  # districts whose streets are loaded
    new: dict[NewArea, None] = field(default_factory=dict)  # areas to add, in order

    @classmethod
    def load(cls) -> AreaBook:
        book = cls()
        for ident, code, name in db.session.execute(
                sa.select(Area.id, Area.code, Area.name).where(Area.level == AreaLevel.DISTRICT)):
            book.districts[plain(name)] = (ident, name)
            book.districts.setdefault(plain(code), (ident, name))
            book.parents[ident] = None
        return book

    def district(self, text: str) -> tuple[int, str] | None:
        return self.districts.get(plain(text))

    def _load_below(self, district_id: int) -> None:
        if district_id in self.loaded:
            return
        self.loaded.add(district_id)
        streets = db.session.execute(sa.select(Area.id, Area.code, Area.name).where(
            Area.parent_id == district_id, Area.level == AreaLevel.STREET)).all()
        street_ids = [s.id for s in streets]
        communities = db.session.execute(
            sa.select(Area.id, Area.code, Area.name, Area.parent_id).where(
                Area.parent_id.in_(street_ids), Area.level == AreaLevel.COMMUNITY)).all() \
            if street_ids else []
        for ident, code, name in streets:
            self._child(district_id, ident, code, name)
        for ident, code, name, parent_id in communities:
            self._child(parent_id, ident, code, name)

    def _child(self, parent: int, ident: int, code: str, name: str) -> None:
        self.children[(parent, plain(name))] = ident
        self.children.setdefault((parent, plain(code)), ident)
        self.parents[ident] = parent

    def street(self, district_id: int, text: str) -> AreaRef:
        self._load_below(district_id)
        found = self.children.get((district_id, plain(text)))
        if found is not None:
            return found
        key: NewArea = (AreaLevel.STREET, district_id, text.strip())
        self.new.setdefault(key, None)
        return key

    def community(self, street: AreaRef, text: str) -> AreaRef:
        if isinstance(street, int):
            found = self.children.get((street, plain(text)))
            if found is not None:
                return found
        key: NewArea = (AreaLevel.COMMUNITY, street, text.strip())
        self.new.setdefault(key, None)
        return key

    def district_of(self, area_id: int) -> int | None:
        """The district of an existing area (its streets must be loaded)."""
        current: int | None = area_id
        while current is not None and self.parents.get(current) is not None:
            current = self.parents[current]
        return current

    def create_missing(self, actor_id: int | None) -> dict[NewArea, int]:
        """Add the streets and communities the file names and the database lacks; audited."""
        made: dict[NewArea, int] = {}
        for key in self.new:
            level, parent, name = key
            parent_id = parent if isinstance(parent, int) else made[parent]
            parent_code = db.session.scalar(sa.select(Area.code).where(Area.id == parent_id))
            area = Area(code=_free_code(parent_code), name=name, level=level, parent_id=parent_id)
            db.session.add(area)
            db.session.flush()
            record("area_create", area, diff({}, {"code": area.code, "name": area.name,
                                                   "level": level, "parent_id": parent_id,
                                                   "via": "import"}), actor_id=actor_id)
            made[key] = area.id
        return made

    def resolve(self, ref: AreaRef, made: dict[NewArea, int]) -> int:
        return ref if isinstance(ref, int) else made[ref]


def _free_code(parent_code: str) -> str:
    """The parent's code with the next free ``-NNN`` suffix, e.g. ``420102001000-001``."""
    prefix = f"{parent_code}-"
    taken = set(db.session.scalars(
        sa.select(Area.code).where(Area.code.startswith(prefix, autoescape=True))))
    number = 1
    while f"{prefix}{number:03d}" in taken:
        number += 1
    return f"{prefix}{number:03d}"
