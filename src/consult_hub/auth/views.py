from __future__ import annotations

import math

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_user, logout_user

from consult_hub.audit.operations import record
from consult_hub.auth.decorators import public, staff_required
from consult_hub.auth.forms import LoginForm
from consult_hub.auth.models import Role, User
from consult_hub.auth.operations import authenticate, sign_out_everywhere
from consult_hub.auth.throttle import Lockout, lockout, note_failure
from consult_hub.core.i18n import gettext as _
from consult_hub.core.security import safe_next
from consult_hub.extensions import db

bp = Blueprint("auth", __name__)


def _locked(form: LoginForm, next_url: str | None, locked: Lockout):
    """429 with the wait in words and in Retry-After; the password is never checked."""
    minutes = max(1, math.ceil(locked.retry_after / 60))
    if locked.scope == "account":
        message = _("这个账号登录失败次数过多，已暂时锁定。请 %(n)s 分钟后再试；"
                    "如忘记密码，请联系所在区政协或市政协的工作人员重设。", n=minutes)
    else:
        message = _("从您所在的网络登录失败次数过多，已暂时停止接受登录。请 %(n)s 分钟后再试。",
                    n=minutes)
    page = render_template("auth/login.html", form=form, next_url=next_url, locked=message)
    return page, 429, {"Retry-After": str(locked.retry_after)}


def landing_url(user: User) -> str:
    """Where a user lands after signing in: the dashboard; a member (政协委员) their proposals
    (or, before the proposals pages exist, their opinion reports)."""
    if user.role is Role.MEMBER:
        for endpoint in ("proposals.index", "opinions.index"):
            if endpoint in current_app.view_functions:
                return url_for(endpoint)
    return url_for("main.dashboard")


def _username(form: LoginForm) -> str:
    return (form.username.data or "").strip()[:64]


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    next_url = safe_next(request.args.get("next"))
    if current_user.is_authenticated:
        return redirect(next_url or landing_url(current_user))
    form = LoginForm()
    if form.validate_on_submit():
        username = _username(form)
        locked = lockout(username)  # before any argon2 work
        if locked is not None:
            return _locked(form, next_url, locked)
        user = authenticate(username, form.password.data or "")
        if user is None:
            record("login_failed", changes={"username": username})
            started = note_failure(username)
            if started is not None:
                record("login_locked", changes={"username": username, "scope": started.scope,
                                                "retry_after": started.retry_after})
            db.session.commit()
            if started is not None:
                return _locked(form, next_url, started)
            form.password.errors.append(_("用户名或密码不正确，或账号已停用"))
        else:
            login_user(user, remember=form.remember.data)
            record("login", user, actor_id=user.id)
            db.session.commit()
            flash(_("欢迎您，%(name)s。", name=user.name), "success")
            if user.must_change_password:
                return redirect(url_for("account.password", next=next_url or (
                    landing_url(user) if user.role is Role.MEMBER else None)))
            return redirect(next_url or landing_url(user))
    return render_template("auth/login.html", form=form, next_url=next_url)


@bp.route("/logout", methods=["POST"])
@staff_required
def logout():
    """Sign out on every device: a copied session or "remember me" cookie stops working too."""
    user = current_user._get_current_object()
    sign_out_everywhere(user)
    record("logout", user, actor_id=user.id)
    db.session.commit()
    logout_user()
    flash(_("您已退出登录。"), "info")
    return redirect(url_for("main.index"))
