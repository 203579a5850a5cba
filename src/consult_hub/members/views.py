"""Staff pages for CPPCC members (政协委员)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from consult_hub.areas.queries import district_choices
from consult_hub.auth.decorators import roles_required
from consult_hub.auth.models import OFFICE_ROLES
from consult_hub.auth.scopes import can_manage_district, require
from consult_hub.core import params
from consult_hub.core.forms import select_choices
from consult_hub.core.i18n import gettext as _
from consult_hub.core.saving import save
from consult_hub.extensions import db
from consult_hub.members import queries
from consult_hub.members.forms import COMMON_SECTORS, MemberForm
from consult_hub.members.models import Member, MemberLevel
from consult_hub.members.operations import create_member, set_member_active, update_member

bp = Blueprint("members", __name__, url_prefix="/manage/members")

STAFF = OFFICE_ROLES


@bp.route("/")
@roles_required(*STAFF)
def index():
    filters = {
        "q": params.arg_text("q"),
        "level": params.arg_choice("level", [m.value for m in MemberLevel]),
        "sector": params.arg_text("sector"),
        "district": params.arg_id("district"),
        "active": params.arg_choice("active", ("1", "0"), default="all", missing="1"),
    }
    page = db.paginate(queries.member_query(current_user, **filters), page=params.arg_page(),
                       per_page=30, error_out=False)
    return render_template(
        "members/index.html", page=page, filters=filters, levels=MemberLevel,
        sectors=queries.sectors(current_user), districts=district_choices(current_user),
    )


def _load(member_id: int) -> Member:
    member = queries.member_with_district(member_id)
    if member is None:
        abort(404)
    require(can_manage_district(current_user, member.district_id), f"member:{member.id}")
    return member


def _form(**defaults: object) -> MemberForm:
    form = MemberForm(data=defaults) if request.method == "GET" else MemberForm()
    none = [("", _("—（未指定）"))] if can_manage_district(current_user, None) else []
    form.district.choices = select_choices(none + district_choices(current_user))
    return form


def _render(form: MemberForm, member: Member | None):
    status = 422 if form.is_submitted() else 200
    return render_template("members/form.html", form=form, member=member,
                           sectors=COMMON_SECTORS), status


def _values(form: MemberForm) -> dict[str, object]:
    return {"name": form.name.data, "code": form.code.data, "sector": form.sector.data,
            "level": form.level.data, "district_id": form.district.data}


@bp.route("/new", methods=["GET", "POST"])
@roles_required(*STAFF)
def create():
    form = _form(level=MemberLevel.DISTRICT.value, district=current_user.district_id)
    if form.is_submitted():  # a district outside the user's own is refused, not validated
        require(can_manage_district(current_user, form.district.data), "member:new")
    if form.validate_on_submit() and (saved := save(form, lambda: create_member(**_values(form)))):
        member = saved.value
        flash(_("已添加委员%(name)s。", name=member.name), "success")
        return redirect(url_for("members.detail", member_id=member.id), 303)
    return _render(form, None)


@bp.route("/<int:member_id>/edit", methods=["GET", "POST"])
@roles_required(*STAFF)
def edit(member_id: int):
    member = _load(member_id)
    form = _form(name=member.name, code=member.code, sector=member.sector,
                 level=member.level.value, district=member.district_id)
    if form.is_submitted():  # a district outside the user's own is refused, not validated
        require(can_manage_district(current_user, form.district.data), f"member:{member.id}")
    if form.validate_on_submit() and save(form, lambda: update_member(member, **_values(form))):
        flash(_("委员%(name)s的信息已保存。", name=member.name), "success")
        return redirect(url_for("members.detail", member_id=member.id), 303)
    return _render(form, member)


def _set_active(member_id: int, active: bool):
    member = _load(member_id)
    set_member_active(member, active)
    db.session.commit()
    flash(_("%(name)s已恢复为在任委员。", name=member.name) if active
          else _("已将%(name)s标为不再履职；参加活动的记录仍然保留。", name=member.name), "success")
    return redirect(url_for("members.detail", member_id=member.id), 303)


@bp.route("/<int:member_id>/deactivate", methods=["POST"])
@roles_required(*STAFF)
def deactivate(member_id: int):
    return _set_active(member_id, False)


@bp.route("/<int:member_id>/reactivate", methods=["POST"])
@roles_required(*STAFF)
def reactivate(member_id: int):
    return _set_active(member_id, True)
