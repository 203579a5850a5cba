"""Staff pages for user accounts."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy.orm import selectinload

from consult_hub.accounts.forms import DepartmentAccountForm, NewDepartmentAccountForm
from consult_hub.accounts.operations import create_user, set_user_active, update_user
from consult_hub.accounts.queries import department_choices, member_choices, user_filter
from consult_hub.areas.queries import district_choices
from consult_hub.auth.decorators import roles_required
from consult_hub.auth.forms import AccountForm, PasswordResetForm
from consult_hub.auth.models import OFFICE_ROLES, ApiToken, Role, User
from consult_hub.auth.operations import reset_password
from consult_hub.auth.scopes import (
    can_manage_platform,
    can_manage_user,
    grantable_roles,
    require,
)
from consult_hub.auth.tokens import active_tokens, revoke_token, token_lines
from consult_hub.core import params
from consult_hub.core.forms import select_choices
from consult_hub.core.i18n import gettext as _
from consult_hub.core.saving import save
from consult_hub.departments.models import Department
from consult_hub.extensions import db
from consult_hub.members.models import Member
from consult_hub.platforms.models import Platform, platform_coordinators
from consult_hub.platforms.scopes import platform_filter

bp = Blueprint("users", __name__, url_prefix="/manage/users")

STAFF = OFFICE_ROLES
ALIASES = {"platform": "platforms"}
SEARCH_LIMIT = 30


def _load_user(user_id: int) -> User:
    user = db.get_or_404(User, user_id, options=[selectinload(User.platforms),
                                                 selectinload(User.district),
                                                 selectinload(User.department),
                                                 selectinload(User.member)])
    require(can_manage_user(current_user, user), f"user:{user.id}")
    return user


# ---- the list ----------------------------------------------------------------------------


@bp.route("/")
@roles_required(*STAFF)
def index():
    q = params.arg_text("q")
    role = params.arg_choice("role", [r.value for r in Role])
    active = params.arg_choice("active", ("1", "0"), default="all", missing="1")
    district_id = params.arg_id("district")
    query = sa.select(User).where(user_filter(current_user))
    if q:
        query = query.where(sa.or_(User.username.icontains(q, autoescape=True),
                                   User.name.icontains(q, autoescape=True),
                                   User.email.icontains(q, autoescape=True)))
    if role in {r.value for r in Role}:
        query = query.where(User.role == Role(role))
    if active in ("1", "0"):
        query = query.where(User.is_active.is_(active == "1"))
    if district_id:
        in_district = sa.select(platform_coordinators.c.user_id).join(
            Platform, Platform.id == platform_coordinators.c.platform_id
        ).where(Platform.district_id == district_id)
        of_district = sa.select(Department.id).where(Department.district_id == district_id)
        members_of = sa.select(Member.id).where(Member.district_id == district_id)
        query = query.where(sa.or_(User.district_id == district_id, User.id.in_(in_district),
                                   User.department_id.in_(of_district),
                                   User.member_id.in_(members_of)))
    page = db.paginate(
        query.options(selectinload(User.platforms), selectinload(User.district),
                      selectinload(User.department),
                      selectinload(User.member).selectinload(Member.district))
        .order_by(User.role, User.username),
        page=params.arg_page(), per_page=30, error_out=False,
    )
    return render_template(
        "users/index.html", page=page, districts=district_choices(current_user), roles=Role,
        filters={"q": q, "role": role, "active": active, "district": district_id},
    )


# ---- create and edit ---------------------------------------------------------------------


def _prepare(form: AccountForm, user: User | None) -> None:
    """Offer only the roles and districts the signed-in user may grant."""
    roles = grantable_roles(current_user)
    if user is not None and user.role not in roles:
        roles = (user.role,)  # shown, but not changeable
    form.role.choices = select_choices((r.value, r.label) for r in roles)
    form.district.choices = select_choices(
        [("", _("—（不属于某个区）")), *district_choices(current_user)])
    keep = [user.department_id] if user is not None and user.department_id else []
    form["department"].choices = select_choices(
        [("", _("—（不是承办单位联系人）")), *department_choices(current_user, include=keep)])
    mine = [user.member_id] if user is not None and user.member_id else []
    form["member"].choices = select_choices(
        [("", _("—（不是政协委员账号）")), *member_choices(current_user, include=mine)])


def _platform_options(form: AccountForm, user: User | None) -> dict[str, Any]:
    """The platforms ticked so far, the search results, and those this user may not change."""
    if form.is_submitted():
        chosen_ids = set(form.platforms.data or [])
    else:
        chosen_ids = {p.id for p in user.platforms} if user is not None else set()
    locked = [p for p in (user.platforms if user is not None else [])
              if not can_manage_platform(current_user, p)]
    chosen_ids -= {p.id for p in locked}
    chosen = list(db.session.scalars(
        sa.select(Platform).where(Platform.id.in_(chosen_ids), platform_filter(current_user))
        .options(selectinload(Platform.district)).order_by(Platform.name)
    )) if chosen_ids else []
    results: list[Platform] = []
    term = (form.platform_q.data or "").strip()
    searched = "search_platforms" in request.form
    if searched and term:
        results = list(db.session.scalars(
            sa.select(Platform)
            .where(platform_filter(current_user), Platform.id.not_in(chosen_ids or {0}),
                   sa.or_(Platform.name.icontains(term, autoescape=True),
                          Platform.code.icontains(term, autoescape=True),
                          Platform.address.icontains(term, autoescape=True)))
            .options(selectinload(Platform.district))
            .order_by(sa.case((Platform.name.icontains(term, autoescape=True), 0), else_=1),
                      Platform.name)
            .limit(SEARCH_LIMIT + 1)
        ))
    return {"chosen": chosen, "results": results[:SEARCH_LIMIT], "locked": locked,
            "more_results": len(results) > SEARCH_LIMIT, "searched": searched, "term": term}


def _render_form(form: AccountForm, user: User | None, status: int = 200,
                 notice: list[str] | None = None):
    return render_template(
        "users/form.html", form=form, user=user, notice=notice or [],
        options=_platform_options(form, user),
        grants=len(form.role.choices) > 1,
        offers_department=any(c.value == Role.DEPARTMENT.value for c in form.role.choices),
        offers_member=any(c.value == Role.MEMBER.value for c in form.role.choices),
        live_tokens=len(active_tokens(user)) if user is not None else 0,
    ), status


def _submitted_platform_ids(form: AccountForm, user: User | None) -> list[int]:
    """Ticked platforms, plus those of other districts a district admin cannot touch."""
    locked = [p.id for p in (user.platforms if user is not None else [])
              if not can_manage_platform(current_user, p)]
    return sorted(set(form.platforms.data or []) | set(locked))


def _district_for(form: AccountForm) -> int | None:
    return form.district.data if form.role.data == Role.DISTRICT_ADMIN.value else None


def _department_for(form: AccountForm) -> int | None:
    """The department chosen, for a department's contact (other roles have none)."""
    return form["department"].data if form.role.data == Role.DEPARTMENT.value else None


def _member_for(form: AccountForm) -> int | None:
    """The member chosen, for a member's account (other roles have none)."""
    return form["member"].data if form.role.data == Role.MEMBER.value else None


@bp.route("/new", methods=["GET", "POST"])
@roles_required(*STAFF)
def create():
    form = (NewDepartmentAccountForm() if request.method == "POST"
            else NewDepartmentAccountForm(data={"role": Role.COORDINATOR.value}))
    _prepare(form, None)
    if not form.is_submitted():
        return _render_form(form, None)
    if "search_platforms" in request.form:
        return _render_form(form, None)
    if not form.validate():
        return _render_form(form, None, 422)
    saved = save(form, lambda: create_user(
        username=form.username.data, password=form.password.data,
        role=form.role.data, name=form.name.data, email=form.email.data,
        district_id=_district_for(form), department_id=_department_for(form),
        member_id=_member_for(form),
        platform_ids=_submitted_platform_ids(form, None), actor=current_user,
    ), aliases=ALIASES)
    if not saved:
        return _render_form(form, None, saved.status, saved.leftover)
    flash(_("已创建账号 %(username)s。", username=saved.value.username), "success")
    return redirect(url_for("users.index"), 303)


@bp.route("/<int:user_id>/edit", methods=["GET", "POST"])
@roles_required(*STAFF)
def edit(user_id: int):
    user = _load_user(user_id)
    form = (DepartmentAccountForm() if request.method == "POST"
            else DepartmentAccountForm(data=_initial(user)))
    _prepare(form, user)
    if not form.is_submitted() or "search_platforms" in request.form:
        return _render_form(form, user)
    if not form.validate():
        return _render_form(form, user, 422)
    saved = save(form, lambda: update_user(
        user, name=form.name.data, email=form.email.data, role=form.role.data,
        district_id=_district_for(form), department_id=_department_for(form),
        member_id=_member_for(form),
        platform_ids=_submitted_platform_ids(form, user), actor=current_user), aliases=ALIASES)
    if not saved:
        return _render_form(form, user, saved.status, saved.leftover)
    flash(_("账号 %(username)s 的信息已保存。", username=user.username), "success")
    return _back_to(user)


def _initial(user: User) -> dict[str, Any]:
    """The account's stored values, in the form's field names."""
    return {"name": user.name, "email": user.email, "role": user.role.value,
            "district": user.district_id, "department": user.department_id,
            "member": user.member_id,
            "platforms": [p.id for p in user.platforms]}


def _back_to(user: User):
    """The account page, unless the change took the user's own rights away."""
    if can_manage_user(current_user, user):
        return redirect(url_for("users.edit", user_id=user.id), 303)
    return redirect(url_for("main.dashboard"), 303)


# ---- status and password -----------------------------------------------------------------


def _set_active(user_id: int, active: bool):
    user = _load_user(user_id)
    saved = save(None, lambda: set_user_active(user, active, actor=current_user))
    if not saved:
        form = DepartmentAccountForm(formdata=None, data=_initial(user))
        _prepare(form, user)
        return _render_form(form, user, saved.status, saved.leftover)
    if active:
        flash(_("账号 %(username)s 已恢复使用。", username=user.username), "success")
    else:
        flash(_("账号 %(username)s 已停用，并已在所有设备上退出登录。", username=user.username),
              "success")
    return redirect(url_for("users.edit", user_id=user.id), 303)


@bp.route("/<int:user_id>/deactivate", methods=["POST"])
@roles_required(*STAFF)
def deactivate(user_id: int):
    return _set_active(user_id, False)


@bp.route("/<int:user_id>/reactivate", methods=["POST"])
@roles_required(*STAFF)
def reactivate(user_id: int):
    return _set_active(user_id, True)


@bp.route("/<int:user_id>/password", methods=["GET", "POST"])
@roles_required(*STAFF)
def password(user_id: int):
    user = _load_user(user_id)
    if user.id == current_user.id:
        # One's own password is changed with the current one (and the sign-in throttle):
        # a session left open must not become the account itself.
        return redirect(url_for("account.password"), 303)
    form = PasswordResetForm()
    if form.validate_on_submit() and save(
            form, lambda: reset_password(user, form.password.data, actor=current_user)):
        flash(_("已为 %(username)s 设置新密码；该账号已在所有设备上退出登录，API 令牌已全部吊销。",
                username=user.username), "success")
        return redirect(url_for("users.edit", user_id=user.id), 303)
    status = 422 if form.is_submitted() else 200
    return render_template("users/password.html", form=form, user=user), status


# ---- API tokens --------------------------------------------------------------------------


@bp.route("/<int:user_id>/tokens")
@roles_required(*STAFF)
def tokens(user_id: int):
    """An account's API tokens, for the staff who manage it: see their use, revoke any."""
    user = _load_user(user_id)
    return render_template("users/tokens.html", user=user, lines=token_lines(user))


@bp.route("/<int:user_id>/tokens/<int:token_id>/revoke", methods=["POST"])
@roles_required(*STAFF)
def revoke_token_of(user_id: int, token_id: int):
    user = _load_user(user_id)
    row = db.session.get(ApiToken, token_id)
    if row is None or row.user_id != user.id:
        abort(404)
    revoke_token(row, actor_id=current_user.id)
    db.session.commit()
    flash(_("已吊销 %(username)s 的令牌“%(name)s”。", username=user.username, name=row.name),
          "success")
    return redirect(url_for("users.tokens", user_id=user.id), 303)
