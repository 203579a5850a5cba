"""Staff pages for departments (承办单位)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from consult_hub.areas.queries import district_choices
from consult_hub.auth.decorators import roles_required
from consult_hub.auth.models import OFFICE_ROLES
from consult_hub.auth.scopes import can_manage_district, require
from consult_hub.core.forms import select_choices
from consult_hub.core.saving import save
from consult_hub.departments.forms import DepartmentForm
from consult_hub.departments.models import Department
from consult_hub.departments.operations import (
    create_department,
    set_department_active,
    update_department,
)
from consult_hub.extensions import db

bp = Blueprint("departments", __name__, url_prefix="/manage/departments")

STAFF = OFFICE_ROLES


def _form(**defaults: object) -> DepartmentForm:
    form = DepartmentForm(data=defaults) if request.method == "GET" else DepartmentForm()
    city = [("", _("市直单位"))] if can_manage_district(current_user, None) else []
    form.district.choices = select_choices(city + district_choices(current_user))
    return form


def _load(department_id: int) -> Department:
    department = db.get_or_404(Department, department_id)
    require(can_manage_district(current_user, department.district_id),
            f"department:{department.id}")
    return department


@bp.route("/new", methods=["GET", "POST"])
@roles_required(*STAFF)
def create():
    form = _form(district=current_user.district_id)
    if form.is_submitted():  # a district outside the user's own is refused, not validated
        require(can_manage_district(current_user, form.district.data), "department:new")
    if form.validate_on_submit() and (saved := save(form, lambda: create_department(
            code=form.code.data, name=form.name.data, district_id=form.district.data))):
        flash(_("已添加承办单位 %(name)s", name=saved.value.name), "success")
        return redirect(url_for("departments.index"), 303)
    return _render(form, None)


def _render(form: DepartmentForm, department: Department | None,
            status: int | None = None):
    status = status or (422 if form.is_submitted() else 200)
    return render_template("departments/form.html", form=form, department=department), status


@bp.route("/<int:department_id>/edit", methods=["GET", "POST"])
@roles_required(*STAFF)
def edit(department_id: int):
    department = _load(department_id)
    form = _form(code=department.code, name=department.name, district=department.district_id)
    if form.is_submitted():  # a district outside the user's own is refused, not validated
        require(can_manage_district(current_user, form.district.data),
                f"department:{department.id}")
    if form.validate_on_submit() and save(form, lambda: update_department(
            department, code=form.code.data, name=form.name.data,
            district_id=form.district.data)):
        flash(_("已保存 %(name)s", name=department.name), "success")
        return redirect(url_for("departments.index"), 303)
    return _render(form, department)


def _set_active(department_id: int, active: bool):
    department = _load(department_id)
    set_department_active(department, active)
    db.session.commit()
    flash(_("已恢复使用 %(name)s", name=department.name) if active
          else _("已停用 %(name)s;已交办的问题和历史记录不受影响", name=department.name), "success")
    return redirect(url_for("departments.edit", department_id=department.id), 303)


@bp.route("/<int:department_id>/deactivate", methods=["POST"])
@roles_required(*STAFF)
def deactivate(department_id: int):
    return _set_active(department_id, False)


@bp.route("/<int:department_id>/reactivate", methods=["POST"])
@roles_required(*STAFF)
def reactivate(department_id: int):
    return _set_active(department_id, True)
