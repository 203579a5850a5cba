"""Areas named in import files: districts must exist; streets and communities may be added.

A district is found by its name (江岸区) or its code (420102). A street is looked up among the
district's streets, and a community among the street's communities, by name or code; one that
is not there yet is created under it when the import is written (recorded in the audit log).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from consult_hub.areas.models import Area, AreaLevel
from consult_hub.exchange.cells import plain
from consult_hub.exchange.importing import bulk_insert, chunks, fetch_by
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

    def create_missing(
        self, audit: Callable[[list[tuple[int, dict[str, Any]]]], None],
    ) -> dict[NewArea, int]:
        """Add the streets and communities the file names and the database lacks.

        Streets first, then communities (whose street may be new), each level in one
        statement; ``audit`` gets (id, values) of every area added.
        """
        made: dict[NewArea, int] = {}
        for level in (AreaLevel.STREET, AreaLevel.COMMUNITY):
            keys = [key for key in self.new if key[0] is level]
            if not keys:
                continue
            parents = {key: key[1] if isinstance(key[1], int) else made[key[1]] for key in keys}
            codes = _free_codes(list(parents.values()))
            rows = [{"code": codes[parents[key]].pop(0), "name": key[2], "level": level,
                     "parent_id": parents[key]} for key in keys]
            bulk_insert(Area, rows)
            ids = {r.code: r.id for r in fetch_by(Area.code, [row["code"] for row in rows],
                                                   Area.id, Area.code)}
            for key, row in zip(keys, rows, strict=True):
                made[key] = ids[row["code"]]
            audit([(made[key], {**row, "via": "import"}) for key, row in zip(keys, rows,
                                                                              strict=True)])
        return made

    def resolve(self, ref: AreaRef, made: dict[NewArea, int]) -> int:
        return ref if isinstance(ref, int) else made[ref]


def _free_codes(parent_ids: list[int]) -> dict[int, list[str]]:
    """For each parent, as many free codes as it gets children: its code plus ``-001``, ``-002``…"""
    wanted: dict[int, int] = {}
    for parent_id in parent_ids:
        wanted[parent_id] = wanted.get(parent_id, 0) + 1
    parent_codes = dict(fetch_by(Area.id, list(wanted), Area.id, Area.code))
    taken: set[str] = set()
    for part in chunks(list(parent_codes.values()), 100):
        taken.update(db.session.scalars(sa.select(Area.code).where(
            sa.or_(*(Area.code.startswith(f"{code}-", autoescape=True) for code in part)))))
    free: dict[int, list[str]] = {}
    for parent_id, count in wanted.items():
        codes, number = [], 1
        while len(codes) < count:
            code = f"{parent_codes[parent_id]}-{number:03d}"
            if code not in taken:
                codes.append(code)
            number += 1
        free[parent_id] = codes
    return free
