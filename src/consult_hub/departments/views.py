"""Staff pages for departments (承办单位)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from consult_hub.areas.models import Area, AreaLevel
from consult_hub.areas.queries import district_choices
from consult_hub.auth.decorators import roles_required
from consult_hub.auth.models import OFFICE_ROLES
from consult_hub.auth.scopes import (
    can_choose_district,
    can_manage_district,
    require,
    staff_district_id,
)
from consult_hub.core import params
from consult_hub.core.conflicts import EditConflict
from consult_hub.core.forms import select_choices
from consult_hub.core.i18n import gettext as _
from consult_hub.core.saving import save
from consult_hub.departments import routing
from consult_hub.departments.forms import (
    DepartmentForm,
    RoutingRuleForm,
    RuleDeleteForm,
    RuleDistrictForm,
)
from consult_hub.departments.models import Department, RoutingRule
from consult_hub.departments.operations import (
    create_department,
    set_department_active,
    update_department,
)
from consult_hub.extensions import db

bp = Blueprint("departments", __name__, url_prefix="/manage/departments")

STAFF = OFFICE_ROLES


@bp.context_processor
def _routing_rules() -> dict[str, Any]:
    # The department list (main/overviews.py, on this blueprint) shows each department's
    # routing rules; the template asks for the rules of the departments on its page.
    return {"routing_rules_for": lambda departments: routing.rules_by_department(
        [d.id for d in departments], current_user)}


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
        flash(_("已添加承办单位“%(name)s”。", name=saved.value.name), "success")
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
        flash(_("承办单位“%(name)s”的修改已保存。", name=department.name), "success")
        return redirect(url_for("departments.index"), 303)
    return _render(form, department)


def _set_active(department_id: int, active: bool):
    department = _load(department_id)
    set_department_active(department, active)
    db.session.commit()
    flash(_("承办单位“%(name)s”已恢复使用。", name=department.name) if active
          else _("承办单位“%(name)s”已停用；已交办的问题和历史记录不受影响。",
                  name=department.name), "success")
    return redirect(url_for("departments.edit", department_id=department.id), 303)


@bp.route("/<int:department_id>/deactivate", methods=["POST"])
@roles_required(*STAFF)
def deactivate(department_id: int):
    return _set_active(department_id, False)


@bp.route("/<int:department_id>/reactivate", methods=["POST"])
@roles_required(*STAFF)
def reactivate(department_id: int):
    return _set_active(department_id, True)


# ---- routing rules (交办规则) -----------------------------------------------------------------


def _rule(rule_id: int) -> RoutingRule:
    rule = db.get_or_404(RoutingRule, rule_id)
    require(can_manage_district(current_user, rule.district_id), f"routing_rule:{rule.id}")
    return rule


def _rule_district(district_id: int | None) -> Area | None:
    """The district a new rule is for: a district admin's own; for city staff the one chosen
    (None until chosen). Another district's is refused (403)."""
    own = staff_district_id(current_user)
    if district_id is None and own is not None:
        district_id = own
    if district_id is None:
        return None
    require(can_manage_district(current_user, district_id), f"district:{district_id}")
    district = db.session.get(Area, district_id)
    if district is None or district.level is not AreaLevel.DISTRICT:
        abort(404)
    return district


def _rule_form(district: Area, **defaults: Any) -> RoutingRuleForm:
    form = RoutingRuleForm(data=defaults) if request.method == "GET" else RoutingRuleForm()
    form.department.choices = select_choices(
        [("", _("请选择承办单位"))]
        + [(d.id, d.name if d.district_id else _("%(name)s（市直）", name=d.name))
           for d in routing.eligible_departments(district.id)])
    form.streets.choices = select_choices(
        (s.id, s.name) for s in routing.district_streets(district.id))
    return form


def _render_rule(form: RoutingRuleForm, district: Area, rule: RoutingRule | None, *,
                 conflict: EditConflict | None = None, status: int | None = None):
    status = status or (422 if form.is_submitted() else 200)
    labels = form.field_labels()
    labels["department_id"] = labels["department"]
    if conflict is not None and "streets" in conflict.changed:
        names = {s.id: s.name for s in routing.district_streets(district.id)}
        conflict.changed["streets"] = tuple(
            "、".join(names.get(i, str(i)) for i in ids or []) or None
            for ids in conflict.changed["streets"])
    return render_template("departments/routing_form.html", form=form, district=district,
                           rule=rule, conflict=conflict, labels=labels), status


@bp.route("/routing")
@roles_required(*STAFF)
def routing_index():
    district_id = params.arg_id("district") if can_choose_district(current_user) else None
    department_id = params.arg_id("department")
    rules = list(db.session.scalars(routing.rule_query(
        current_user, district_id=district_id, department_id=department_id)))
    department = db.session.get(Department, department_id) if department_id else None
    return render_template(
        "departments/routing.html", rules=rules, department=department,
        district_id=district_id, districts=district_choices(current_user)
        if can_choose_district(current_user) else [],
        delete_form=RuleDeleteForm())


@bp.route("/routing/new", methods=["GET", "POST"])
@roles_required(*STAFF)
def routing_create():
    chosen = params.arg_id("district") if request.method == "GET" else params.id_or_none(
        request.form.get("district"))
    district = _rule_district(chosen)
    if district is None:  # city staff: which district's rule?
        picker = RuleDistrictForm(formdata=None)
        picker.district.choices = select_choices(district_choices(current_user))
        return render_template("departments/routing_district.html", form=picker)
    form = _rule_form(district, due_days=routing.DUE_DAYS_DEFAULT,
                      department=params.arg_id("department"))
    if form.validate_on_submit() and save(form, lambda: routing.create_rule(
            district_id=district.id, **form.values())):
        flash(_("已添加交办规则。"), "success")
        return redirect(url_for("departments.routing_index"), 303)
    return _render_rule(form, district, None)


@bp.route("/routing/<int:rule_id>/edit", methods=["GET", "POST"])
@roles_required(*STAFF)
def routing_edit(rule_id: int):
    rule = _rule(rule_id)
    district = rule.district
    form = _rule_form(district, category=rule.category.value if rule.category else "",
                      keyword=rule.keyword or "", streets=[s.id for s in rule.streets],
                      department=rule.department_id, due_days=rule.due_days)
    if request.method == "GET":
        form.start_from(rule, routing.FIELDS)
        return _render_rule(form, district, rule)
    if not form.validate_on_submit():
        return _render_rule(form, district, rule)
    saved = save(form, lambda: routing.update_rule(
        rule, version=form.version.data, original=form.original.data, **form.values()),
        edited=(rule, routing.FIELDS))
    if saved:
        flash(_("交办规则的修改已保存。") if saved.value else _("没有需要保存的修改。"), "success")
        return redirect(url_for("departments.routing_index"), 303)
    if saved.conflict is not None:
        rule = _rule(rule_id)
    return _render_rule(form, district, rule, conflict=saved.conflict, status=saved.status)


@bp.route("/routing/<int:rule_id>/delete", methods=["POST"])
@roles_required(*STAFF)
def routing_delete(rule_id: int):
    rule = _rule(rule_id)
    form = RuleDeleteForm()
    if not form.validate_on_submit():
        abort(400)
    saved = save(None, lambda: routing.delete_rule(rule, version=form.version.data))
    if saved:
        flash(_("已删除这条交办规则。"), "success")
        return redirect(url_for("departments.routing_index"), 303)
    flash(_("这条交办规则刚被他人修改，请核对后再决定是否删除。"), "warning")
    rules = list(db.session.scalars(routing.rule_query(current_user)))
    return render_template(
        "departments/routing.html", rules=rules, department=None, district_id=None,
        districts=district_choices(current_user) if can_choose_district(current_user) else [],
        delete_form=RuleDeleteForm()), saved.status
