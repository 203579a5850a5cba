"""Staff pages for departments (承办单位)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import selectinload

from consult_hub.areas.queries import district_choices
from consult_hub.auth.decorators import roles_required
from consult_hub.core.forms import select_choices, show_errors
from consult_hub.auth.models import Role
from consult_hub.auth.scopes import can_manage_district, require
from consult_hub.core.errors import ValidationFailed
from consult_hub.core import params
from consult_hub.departments import queries
from consult_hub.departments.forms import DepartmentForm
from consult_hub.departments.models import Department
from consult_hub.departments.operations import (
    create_department,
    set_department_active,
    update_department,
)
from consult_hub.extensions import db

bp = Blueprint("departments", __name__, url_prefix="/manage/departments")

STAFF = (Role.ADMIN, Role.DISTRICT_ADMIN)


@bp.route("/")
@roles_required(*STAFF)
def index():  # type: ignore[no-untyped-def]
    scope_id = params.arg_id("scope")  # a district's id, or "city"
    scope = str(scope_id) if scope_id else params.arg_choice("scope", ("city",))
    filters = {"q": params.arg_text("q"), "scope": scope,
               "active": params.arg_choice("active", ("1", "0"), default="all", missing="1")}
    page = db.paginate(
        queries.department_query(current_user, **filters).options(
            selectinload(Department.district)),
        page=params.arg_page(), per_page=30, error_out=False,
    )
    return render_template(
        "departments/index.html", page=page, filters=filters,
        districts=district_choices(current_user),
        open_issues=queries.open_issue_counts([d.id for d in page.items]),
        can_manage=lambda d: can_manage_district(current_user, d.district_id),
    )


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
def create():  # type: ignore[no-untyped-def]
    form = _form(district=current_user.district_id)
    if form.is_submitted():  # a district outside the user's own is refused, not validated
        require(can_manage_district(current_user, form.district.data), "department:new")
    if form.validate_on_submit():
        try:
            department = create_department(code=form.code.data, name=form.name.data,
                                           district_id=form.district.data)
        except ValidationFailed as exc:
            db.session.rollback()
            show_errors(form, exc.errors)
        else:
            db.session.commit()
            flash(_("已添加承办单位 %(name)s", name=department.name), "success")
            return redirect(url_for("departments.index"), 303)
    return _render(form, None)


def _render(form: DepartmentForm, department: Department | None,
            status: int | None = None):  # type: ignore[no-untyped-def]
    status = status or (422 if form.is_submitted() else 200)
    return render_template("departments/form.html", form=form, department=department), status


@bp.route("/<int:department_id>/edit", methods=["GET", "POST"])
@roles_required(*STAFF)
def edit(department_id: int):  # type: ignore[no-untyped-def]
    department = _load(department_id)
    form = _form(code=department.code, name=department.name, district=department.district_id)
    if form.is_submitted():  # a district outside the user's own is refused, not validated
        require(can_manage_district(current_user, form.district.data), f"department:{department.id}")
    if form.validate_on_submit():
        try:
            update_department(department, code=form.code.data, name=form.name.data,
                              district_id=form.district.data)
        except ValidationFailed as exc:
            db.session.rollback()
            show_errors(form, exc.errors)
        else:
            db.session.commit()
            flash(_("已保存 %(name)s", name=department.name), "success")
            return redirect(url_for("departments.index"), 303)
    return _render(form, department)


def _set_active(department_id: int, active: bool):  # type: ignore[no-untyped-def]
    department = _load(department_id)
    set_department_active(department, active)
    db.session.commit()
    flash(_("已恢复使用 %(name)s", name=department.name) if active
          else _("已停用 %(name)s;已交办的问题和历史记录不受影响", name=department.name), "success")
    return redirect(url_for("departments.edit", department_id=department.id), 303)


@bp.route("/<int:department_id>/deactivate", methods=["POST"])
@roles_required(*STAFF)
def deactivate(department_id: int):  # type: ignore[no-untyped-def]
    return _set_active(department_id, False)


@bp.route("/<int:department_id>/reactivate", methods=["POST"])
@roles_required(*STAFF)
def reactivate(department_id: int):  # type: ignore[no-untyped-def]
    return _set_active(department_id, True)
