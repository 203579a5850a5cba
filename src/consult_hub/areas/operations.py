"""Create and change areas of the district → street → community tree."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from consult_hub.areas.models import Area, AreaLevel
from consult_hub.areas.queries import district_of
from consult_hub.audit.operations import diff, record
from consult_hub.core.db import Base
from consult_hub.core.errors import ValidationFailed
from consult_hub.core.i18n import gettext as _
from consult_hub.extensions import db

PARENT_LEVEL = {AreaLevel.DISTRICT: None, AreaLevel.STREET: AreaLevel.DISTRICT,
                AreaLevel.COMMUNITY: AreaLevel.STREET}
CHILD_LEVEL = {up: level for level, up in PARENT_LEVEL.items() if up is not None}


def area_values(area: Area) -> dict[str, Any]:
    return {"code": area.code, "name": area.name, "level": area.level,
            "parent_id": area.parent_id}


def _platforms_below(area: Area) -> int:
    """Platforms placed in ``area`` or anywhere under it.

    The platforms table is found by name in the shared metadata, like the tables of
    ``_district_references``: ``platforms/`` sits above this folder (docs/architecture.md).
    """
    platforms = Base.metadata.tables["platforms"]
    below = sa.select(Area.id).where(sa.or_(Area.id == area.id, Area.parent_id == area.id))
    return db.session.scalar(
        sa.select(sa.func.count(platforms.c.id)).where(sa.or_(
            platforms.c.area_id.in_(below),
            platforms.c.area_id.in_(sa.select(Area.id).where(Area.parent_id.in_(below))),
            platforms.c.district_id == area.id,
        ))
    ) or 0


def _district_references(area: Area) -> int:
    """Rows that name ``area`` as their district: staff, departments, members, problems.

    Every table with a ``district_id`` column, found by name in the shared metadata: the
    folders defining them sit above this one (docs/architecture.md). Platforms are among
    them, and are counted by ``_platforms_below`` as well.
    """
    return sum(
        db.session.scalar(sa.select(sa.func.count()).select_from(table)
                          .where(table.c.district_id == area.id)) or 0
        for table in Base.metadata.sorted_tables if "district_id" in table.c
    )


def _validate(values: dict[str, Any], area: Area | None) -> tuple[AreaLevel | None, Area | None]:
    errors: dict[str, str] = {}
    code = values["code"]
    if not code:
        errors["code"] = _("请填写区划代码")
    elif len(code) > 32:
        errors["code"] = _("区划代码不超过 32 个字符")
    else:
        clash = sa.select(Area.id).where(Area.code == code)
        if area is not None:
            clash = clash.where(Area.id != area.id)
        if db.session.scalar(clash):
            errors["code"] = _("区划代码 %(code)s 已被使用", code=code)
    if not values["name"]:
        errors["name"] = _("请填写名称")
    elif len(values["name"]) > 64:
        errors["name"] = _("名称不超过 64 个字符")
    try:
        level: AreaLevel | None = AreaLevel(values["level"])
    except ValueError:
        errors["level"] = _("请选择级别")
        level = None
    parent = db.session.get(Area, values["parent_id"]) if values["parent_id"] else None
    if values["parent_id"] and parent is None:
        errors["parent"] = _("找不到所选的上级区域")
    elif level is not None:
        wanted = PARENT_LEVEL[level]
        if wanted is None and parent is not None:
            errors["parent"] = _("区是最上一级，不能有上级区域")
        elif wanted is not None and (parent is None or parent.level is not wanted):
            errors["parent"] = _("%(level)s的上级必须是%(parent)s", level=level.label,
                                 parent=wanted.label)
    if area is not None and level is not None and "parent" not in errors:
        _check_move(errors, area, level, parent)
    if errors:
        raise ValidationFailed(errors)
    return level, parent


def _check_move(errors: dict[str, str], area: Area, level: AreaLevel, parent: Area | None) -> None:
    """A level change must leave nothing hanging; a move must not carry platforms across
    districts."""
    if level is not area.level:
        if area.children:
            errors["level"] = _("这个区域下还有下级区域，不能更改级别")
        elif _platforms_below(area) or (area.level is AreaLevel.DISTRICT
                                        and _district_references(area)):
            errors["level"] = _("已有平台、人员或问题记在这个区域下，不能更改级别")
        return
    if parent is None or parent.id == area.parent_id:
        return
    if district_of(parent).id != district_of(area).id and _platforms_below(area):
        errors["parent"] = _("这个区域下有 %(n)s 个平台；平台和问题按区统计，不能移到其他区",
                             n=_platforms_below(area))


def _clean(code: str, name: str, level: str, parent_id: int | None) -> dict[str, Any]:
    return {"code": (code or "").strip(), "name": (name or "").strip(), "level": level,
            "parent_id": parent_id}


def create_area(*, code: str, name: str, level: str, parent_id: int | None) -> Area:
    """Validate and add an area (the caller commits)."""
    values = _clean(code, name, level, parent_id)
    parsed, parent = _validate(values, None)
    area = Area(code=values["code"], name=values["name"], level=parsed, parent=parent)
    db.session.add(area)
    db.session.flush()
    record("area_create", area, diff({}, area_values(area)))
    return area


def update_area(area: Area, *, code: str, name: str, level: str, parent_id: int | None) -> None:
    """Change an area's code, name, level or parent; audited with before/after."""
    values = _clean(code, name, level, parent_id)
    parsed, parent = _validate(values, area)
    before = area_values(area)
    area.code, area.name, area.level, area.parent = values["code"], values["name"], parsed, parent
    db.session.flush()
    changes = diff(before, area_values(area))
    if changes:
        record("area_update", area, changes)
