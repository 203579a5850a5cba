"""Staff pages for districts, streets and communities (city staff only)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from consult_hub.areas import queries
from consult_hub.areas.forms import AreaForm
from consult_hub.areas.models import Area, AreaLevel
from consult_hub.areas.operations import CHILD_LEVEL, create_area, update_area
from consult_hub.auth.decorators import roles_required
from consult_hub.core.forms import select_choices, show_errors
from consult_hub.auth.models import Role
from consult_hub.core.errors import ValidationFailed
from consult_hub.core import params
from consult_hub.extensions import db

bp = Blueprint("areas", __name__, url_prefix="/manage/areas")


@bp.route("/")
@roles_required(Role.ADMIN)
def index():  # type: ignore[no-untyped-def]
    return render_template("areas/index.html", rows=queries.district_rows())


@bp.route("/<int:area_id>")
@roles_required(Role.ADMIN)
def detail(area_id: int):  # type: ignore[no-untyped-def]
    area = db.get_or_404(Area, area_id, options=[selectinload(Area.parent)])
    return render_template(
        "areas/detail.html", area=area, path=queries.ancestors(area),
        rows=queries.child_rows(area), platforms=queries.platforms_in(area),
        child_level=CHILD_LEVEL.get(area.level),
    )


def _form(**defaults: object) -> AreaForm:
    form = AreaForm(data=defaults) if request.method == "GET" else AreaForm()
    form.parent.choices = select_choices([("", _("—(区没有上级)"))], _("无上级")) + [
        choice for group, pairs in queries.parent_choices() for choice in select_choices(pairs, group)]
    return form


def _render(form: AreaForm, area: Area | None, status: int = 200,
            parent: Area | None = None):  # type: ignore[no-untyped-def]
    here = area or parent
    return render_template("areas/form.html", form=form, area=area, parent=parent,
                           path=queries.ancestors(here) if here else []), status


@bp.route("/new", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def create():  # type: ignore[no-untyped-def]
    parent = db.session.get(Area, params.arg_id("parent") or 0)
    child_level = CHILD_LEVEL.get(parent.level) if parent is not None else None
    form = _form(parent=parent.id if child_level else None,
                 level=(child_level or AreaLevel.DISTRICT).value)
    if form.validate_on_submit():
        try:
            area = create_area(code=form.code.data, name=form.name.data, level=form.level.data,
                               parent_id=form.parent.data)
        except ValidationFailed as exc:
            db.session.rollback()
            show_errors(form, exc.errors)
        else:
            db.session.commit()
            flash(_("已添加%(level)s %(name)s", level=area.level.label, name=area.name), "success")
            return redirect(url_for("areas.detail", area_id=area.parent_id)
                            if area.parent_id else url_for("areas.index"), 303)
    return _render(form, None, 422 if form.is_submitted() else 200,
                   parent=parent if child_level else None)


@bp.route("/<int:area_id>/edit", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def edit(area_id: int):  # type: ignore[no-untyped-def]
    area = db.get_or_404(Area, area_id)
    form = _form(code=area.code, name=area.name, level=area.level.value, parent=area.parent_id)
    if form.validate_on_submit():
        try:
            update_area(area, code=form.code.data, name=form.name.data, level=form.level.data,
                        parent_id=form.parent.data)
        except ValidationFailed as exc:
            db.session.rollback()
            show_errors(form, exc.errors)
        else:
            db.session.commit()
            flash(_("已保存 %(name)s", name=area.name), "success")
            return redirect(url_for("areas.detail", area_id=area.id), 303)
    return _render(form, area, 422 if form.is_submitted() else 200)
