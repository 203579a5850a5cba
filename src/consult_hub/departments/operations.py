"""Create, change and (de)activate departments (承办单位)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from consult_hub.areas.models import Area, AreaLevel
from consult_hub.audit.operations import diff, record
from consult_hub.core.errors import ValidationFailed
from consult_hub.core.i18n import gettext as _
from consult_hub.departments.models import Department
from consult_hub.extensions import db


def department_values(department: Department) -> dict[str, Any]:
    return {"code": department.code, "name": department.name,
            "district_id": department.district_id, "is_active": department.is_active}


def _validate(code: str, name: str, district_id: int | None,
              department: Department | None) -> None:
    errors: dict[str, str] = {}
    others = sa.select(Department.id)
    if department is not None:
        others = others.where(Department.id != department.id)
    if not code:
        errors["code"] = _("请填写单位编号")
    elif len(code) > 32:
        errors["code"] = _("单位编号不超过 32 个字符")
    elif db.session.scalar(others.where(Department.code == code)):
        errors["code"] = _("单位编号 %(code)s 已被使用", code=code)
    if district_id is not None:
        district = db.session.get(Area, district_id)
        if district is None or district.level is not AreaLevel.DISTRICT:
            errors["district"] = _("请选择一个区，或留空表示市直单位")
    if not name:
        errors["name"] = _("请填写单位名称")
    elif len(name) > 100:
        errors["name"] = _("单位名称不超过 100 个字符")
    elif "district" not in errors and db.session.scalar(others.where(
            Department.name == name,
            Department.district_id.is_(None) if district_id is None
            else Department.district_id == district_id)):
        errors["name"] = (_("市直单位中已有“%(name)s”", name=name) if district_id is None
                          else _("本区已有名为“%(name)s”的单位", name=name))
    if errors:
        raise ValidationFailed(errors)


def create_department(*, code: str, name: str, district_id: int | None) -> Department:
    """Validate and add a department (the caller commits)."""
    code, name = (code or "").strip(), (name or "").strip()
    _validate(code, name, district_id, None)
    department = Department(code=code, name=name, district_id=district_id, is_active=True)
    db.session.add(department)
    db.session.flush()
    record("department_create", department, diff({}, department_values(department)))
    return department


def update_department(department: Department, *, code: str, name: str,
                      district_id: int | None) -> None:
    """Change a department's code, name or district; audited with before/after."""
    code, name = (code or "").strip(), (name or "").strip()
    _validate(code, name, district_id, department)
    before = department_values(department)
    department.code, department.name, department.district_id = code, name, district_id
    db.session.flush()
    changes = diff(before, department_values(department))
    if changes:
        record("department_update", department, changes)


def set_department_active(department: Department, active: bool) -> None:
    """Take a department out of use (no new assignments) or bring it back."""
    if department.is_active == active:
        return
    before = department_values(department)
    department.is_active = active
    db.session.flush()
    record("department_reactivate" if active else "department_deactivate", department,
           diff(before, department_values(department)))
