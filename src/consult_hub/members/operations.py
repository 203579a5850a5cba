"""Create, change and (de)activate CPPCC members (政协委员)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from consult_hub.areas.models import Area, AreaLevel
from consult_hub.audit.operations import diff, record
from consult_hub.core.errors import ValidationFailed
from consult_hub.core.i18n import gettext as _
from consult_hub.extensions import db
from consult_hub.members.models import Member, MemberLevel


def member_values(member: Member) -> dict[str, Any]:
    return {"name": member.name, "code": member.code, "sector": member.sector,
            "level": member.level, "district_id": member.district_id,
            "is_active": member.is_active}


def _clean(values: dict[str, Any]) -> dict[str, Any]:
    text = {k: (values.get(k) or "").strip() for k in ("name", "code", "sector")}
    return {**text, "code": text["code"] or None, "level": values.get("level"),
            "district_id": values.get("district_id")}


def _validate(values: dict[str, Any], member: Member | None) -> MemberLevel:
    errors: dict[str, str] = {}
    for key, label, limit in (("name", _("姓名"), 64), ("sector", _("界别"), 64)):
        if not values[key]:
            errors[key] = _("请填写%(field)s", field=label)
        elif len(values[key]) > limit:
            errors[key] = _("%(field)s不超过 %(n)s 个字符", field=label, n=limit)
    if values["code"]:
        clash = sa.select(Member.id).where(Member.code == values["code"])
        if member is not None:
            clash = clash.where(Member.id != member.id)
        if len(values["code"]) > 32:
            errors["code"] = _("委员编号不超过 32 个字符")
        elif db.session.scalar(clash):
            errors["code"] = _("委员编号 %(code)s 已被使用", code=values["code"])
    try:
        level = MemberLevel(values["level"])
    except ValueError:
        errors["level"] = _("请选择委员级别")
        level = None
    if values["district_id"] is not None:
        district = db.session.get(Area, values["district_id"])
        if district is None or district.level is not AreaLevel.DISTRICT:
            errors["district"] = _("请选择一个区")
    elif level is MemberLevel.DISTRICT:
        errors["district"] = _("区政协委员必须选择所属的区")
    if errors:
        raise ValidationFailed(errors)
    return level


def create_member(**values: Any) -> Member:
    """Validate and add a member (the caller commits); takes name, code, sector, level,
    district_id."""
    clean = _clean(values)
    level = _validate(clean, None)
    member = Member(name=clean["name"], code=clean["code"], sector=clean["sector"], level=level,
                    district_id=clean["district_id"], is_active=True)
    db.session.add(member)
    db.session.flush()
    record("member_create", member, diff({}, member_values(member)))
    return member


def update_member(member: Member, **values: Any) -> None:
    """Change a member's details; audited with before/after."""
    clean = _clean(values)
    level = _validate(clean, member)
    before = member_values(member)
    member.name, member.code, member.sector = clean["name"], clean["code"], clean["sector"]
    member.level, member.district_id = level, clean["district_id"]
    db.session.flush()
    changes = diff(before, member_values(member))
    if changes:
        record("member_update", member, changes)


def set_member_active(member: Member, active: bool) -> None:
    """Mark a member as no longer serving (or serving again); their history stays."""
    if member.is_active == active:
        return
    before = member_values(member)
    member.is_active = active
    db.session.flush()
    record("member_reactivate" if active else "member_deactivate", member,
           diff(before, member_values(member)))
