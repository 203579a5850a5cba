"""Each signed-in user's own account: what it is, and changing its password.

A password someone else chose (account created, reset by staff) is known to them, so until
the owner picks their own, every page but this one, sign-out and static files redirects here.
"""

from __future__ import annotations

import math

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_user
from werkzeug.wrappers import Response

from consult_hub.auth.decorators import staff_required
from consult_hub.auth.forms import OwnPasswordForm
from consult_hub.auth.operations import change_own_password
from consult_hub.auth.throttle import lockout, note_failure
from consult_hub.auth.tokens import active_tokens
from consult_hub.core.i18n import gettext as _
from consult_hub.core.saving import save
from consult_hub.core.security import safe_next

bp = Blueprint("account", __name__, url_prefix="/account")

# Reachable while a password change is pending: the change itself, leaving, the language.
GATE_EXEMPT = frozenset({"account.password", "auth.logout", "static", "main.set_locale"})
# Bearer-token requests carry no session; the API answers them whatever the session says.
GATE_EXEMPT_BLUEPRINTS = frozenset({"api"})


@bp.before_app_request
def require_own_password() -> Response | None:
    """Send a user whose password was set by someone else to choose their own first."""
    if (request.endpoint is None or request.endpoint in GATE_EXEMPT
            or request.blueprint in GATE_EXEMPT_BLUEPRINTS):
        return None
    if not current_user.is_authenticated or not current_user.must_change_password:
        return None
    target = request.full_path.rstrip("?") if request.method == "GET" else None
    return redirect(url_for("account.password", next=safe_next(target)),
                    302 if request.method == "GET" else 303)


@bp.route("/")
@staff_required
def index():
    return render_template("account/index.html", user=current_user,
                           live_tokens=len(active_tokens(current_user)))


@bp.route("/tools")
@staff_required
def tools():
    """What a role uses now and then, kept out of the main navigation: imports, exports, tokens.

    Each page keeps its own access check; this one only lists what the user may open.
    """
    return render_template("account/tools.html", user=current_user,
                           live_tokens=len(active_tokens(current_user)))


def _page(form: OwnPasswordForm, status: int = 200, *, locked: str | None = None):
    return render_template("account/password.html", form=form, locked=locked,
                           forced=current_user.must_change_password), status


@bp.route("/password", methods=["GET", "POST"])
@staff_required
def password():
    form = OwnPasswordForm()
    if not form.is_submitted():
        return _page(form)
    user = current_user._get_current_object()
    locked = lockout(user.username)  # the current password is a guessable secret too
    if locked is not None:
        minutes = max(1, math.ceil(locked.retry_after / 60))
        message = _("密码输入错误次数过多，请 %(n)s 分钟后再试。", n=minutes)
        page, status = _page(form, 429, locked=message)
        return page, status, {"Retry-After": str(locked.retry_after)}
    if not form.validate():
        return _page(form, 422)
    saved = save(form, lambda: change_own_password(
        user, current=form.current.data or "", new=form.password.data or ""))
    if not saved:
        if "current" in saved.errors:
            note_failure(user.username)
        return _page(form, saved.status)
    # The new session token signed every other device out; keep this one signed in.
    remembered = current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token") in request.cookies
    login_user(user, remember=remembered)
    flash(_("密码已更改。其他设备上的登录和您的 API 令牌已全部失效。"), "success")
    return redirect(safe_next(request.args.get("next")) or url_for("account.index"), 303)
