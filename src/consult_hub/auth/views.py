from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from consult_hub.audit.operations import record
from consult_hub.auth.decorators import public, staff_required
from consult_hub.auth.forms import LoginForm
from consult_hub.auth.operations import authenticate
from consult_hub.core.security import safe_next
from consult_hub.extensions import db

bp = Blueprint("auth", __name__)


@bp.route("/login", methods=["GET", "POST"])
@public
def login():  # type: ignore[no-untyped-def]
    next_url = safe_next(request.args.get("next"))
    if current_user.is_authenticated:
        return redirect(next_url or url_for("main.dashboard"))
    form = LoginForm()
    if form.validate_on_submit():
        user = authenticate(form.username.data or "", form.password.data or "")
        if user is None:
            record("login_failed", changes={"username": (form.username.data or "")[:64]})
            db.session.commit()
            form.password.errors.append(_("用户名或密码不正确,或账号已停用"))
        else:
            login_user(user, remember=form.remember.data)
            record("login", user, actor_id=user.id)
            db.session.commit()
            flash(_("欢迎,%(name)s", name=user.name), "success")
            return redirect(next_url or url_for("main.dashboard"))
    return render_template("auth/login.html", form=form, next_url=next_url)


@bp.route("/logout", methods=["POST"])
@staff_required
def logout():  # type: ignore[no-untyped-def]
    logout_user()
    flash(_("已退出登录"), "info")
    return redirect(url_for("main.index"))
