"""Staff pages for districts, streets and communities (city staff only)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for

from consult_hub.areas import queries
from consult_hub.areas.forms import AreaForm
from consult_hub.areas.models import Area, AreaLevel
from consult_hub.areas.operations import CHILD_LEVEL, create_area, update_area
from consult_hub.auth.decorators import roles_required
from consult_hub.auth.models import Role
from consult_hub.core import params
from consult_hub.core.forms import select_choices
from consult_hub.core.i18n import gettext as _
from consult_hub.core.saving import save
from consult_hub.extensions import db

bp = Blueprint("areas", __name__, url_prefix="/manage/areas")


def _form(**defaults: object) -> AreaForm:
    form = AreaForm(data=defaults) if request.method == "GET" else AreaForm()
    form.parent.choices = select_choices([("", _("—（区没有上级）"))], _("无上级")) + [
        choice for group, pairs in queries.parent_choices()
        for choice in select_choices(pairs, group)]
    return form


def _render(form: AreaForm, area: Area | None, status: int = 200,
            parent: Area | None = None):
    here = area or parent
    return render_template("areas/form.html", form=form, area=area, parent=parent,
                           path=queries.ancestors(here) if here else []), status


@bp.route("/new", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def create():
    parent = db.session.get(Area, params.arg_id("parent") or 0)
    child_level = CHILD_LEVEL.get(parent.level) if parent is not None else None
    form = _form(parent=parent.id if child_level else None,
                 level=(child_level or AreaLevel.DISTRICT).value)
    if form.validate_on_submit() and (saved := save(form, lambda: create_area(
            code=form.code.data, name=form.name.data, level=form.level.data,
            parent_id=form.parent.data))):
        area = saved.value
        flash(_("已添加%(level)s“%(name)s”。", level=area.level.label, name=area.name), "success")
        return redirect(url_for("areas.detail", area_id=area.parent_id)
                        if area.parent_id else url_for("areas.index"), 303)
    return _render(form, None, 422 if form.is_submitted() else 200,
                   parent=parent if child_level else None)


@bp.route("/<int:area_id>/edit", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def edit(area_id: int):
    area = db.get_or_404(Area, area_id)
    form = _form(code=area.code, name=area.name, level=area.level.value, parent=area.parent_id)
    if form.validate_on_submit() and save(form, lambda: update_area(
            area, code=form.code.data, name=form.name.data, level=form.level.data,
            parent_id=form.parent.data)):
        flash(_("“%(name)s”的修改已保存。", name=area.name), "success")
        return redirect(url_for("areas.detail", area_id=area.id), 303)
    return _render(form, area, 422 if form.is_submitted() else 200)
