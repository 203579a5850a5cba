"""The in-app inbox: every reminder a user has been sent."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from consult_hub.auth.decorators import staff_required
from consult_hub.core import params
from consult_hub.core.db import utcnow
from consult_hub.core.security import safe_next
from consult_hub.extensions import db
from consult_hub.notifications.models import Notification
from consult_hub.notifications.operations import unread_count

bp = Blueprint("notifications", __name__, url_prefix="/inbox")


@bp.app_context_processor
def inject_unread() -> dict[str, int]:
    if current_user and current_user.is_authenticated:
        return {"unread_notifications": unread_count(current_user.id)}
    return {"unread_notifications": 0}


@bp.route("/")
@staff_required
def index():
    only_unread = params.arg_flag("unread")
    query = sa.select(Notification).where(Notification.user_id == current_user.id)
    if only_unread:
        query = query.where(Notification.read_at.is_(None))
    page = db.paginate(query.order_by(Notification.created_at.desc(), Notification.id.desc()),
                       page=params.arg_page(), per_page=current_app.config["PER_PAGE"],
                       error_out=False)
    return render_template("notifications/index.html", page=page, only_unread=only_unread)


def _own(notification_id: int) -> Notification:
    notification = db.session.get(Notification, notification_id)
    if notification is None or notification.user_id != current_user.id:
        abort(404)  # someone else's inbox does not exist for you
    return notification


@bp.route("/<int:notification_id>/open", methods=["POST"])
@staff_required
def open_one(notification_id: int):
    notification = _own(notification_id)
    notification.read_at = notification.read_at or utcnow()
    db.session.commit()
    target = notification.link or ""
    site = current_app.config["SITE_URL"]
    if target.startswith(site):
        target = target[len(site):] or "/"
    return redirect(safe_next(target) or url_for("notifications.index"))


@bp.route("/read", methods=["POST"])
@staff_required
def mark_read():
    """Mark one (``id``) or all of the user's notifications as read."""
    query = sa.update(Notification).where(Notification.user_id == current_user.id,
                                          Notification.read_at.is_(None))
    one = request.form.get("id", type=int)
    if one is not None:
        query = query.where(Notification.id == one)
    count = db.session.execute(query.values(read_at=utcnow())).rowcount
    db.session.commit()
    flash(_("已标记 %(n)s 条为已读", n=count), "success")
    return redirect(url_for("notifications.index"))
