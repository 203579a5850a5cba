"""The in-app inbox: every reminder a user has been sent."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from consult_hub.auth.decorators import staff_required
from consult_hub.core import params
from consult_hub.core.db import utcnow
from consult_hub.core.i18n import gettext as _
from consult_hub.core.security import safe_next
from consult_hub.extensions import db
from consult_hub.notifications import digests
from consult_hub.notifications.groups import (
    BY_KEY,
    GROUPS,
    OTHER,
    Group,
    group_of,
    kinds_clause,
    rank,
)
from consult_hub.notifications.models import Notification
from consult_hub.notifications.operations import unread_count

bp = Blueprint("notifications", __name__, url_prefix="/inbox")


@bp.app_context_processor
def inject_unread() -> dict[str, int]:
    if current_user and current_user.is_authenticated:
        return {"unread_notifications": unread_count(current_user.id)}
    return {"unread_notifications": 0}


@dataclass(frozen=True)
class GroupCount:
    group: Group
    unread: int
    total: int


@dataclass(frozen=True)
class Section:
    """A run of the page's messages: one group's unread ones, or the read ones (group None)."""
    group: Group | None
    items: list[Notification]


def _group_counts(user_id: int) -> list[GroupCount]:
    """Each group the user has messages in, in the inbox's order, with its counts."""
    unread: Counter[str] = Counter()
    total: Counter[str] = Counter()
    for kind, count, unread_here in db.session.execute(
            sa.select(Notification.kind, sa.func.count(),
                      sa.func.count(sa.case((Notification.read_at.is_(None), 1))))
            .where(Notification.user_id == user_id).group_by(Notification.kind)):
        key = group_of(kind).key
        total[key] += count
        unread[key] += unread_here
    return [GroupCount(group, unread[group.key], total[group.key])
            for group in (*GROUPS, OTHER) if total[group.key]]


def _sections(items: list[Notification]) -> list[Section]:
    sections: list[Section] = []
    for item in items:
        group = group_of(item.kind) if item.read_at is None else None
        if not sections or sections[-1].group != group:
            sections.append(Section(group, []))
        sections[-1].items.append(item)
    return sections


@bp.route("/")
@staff_required
def index():
    """Unread messages first, group by group with escalations and overdue problems on top;
    then the read ones, newest first. ``group`` narrows to one group, ``unread`` to unread."""
    only_unread = params.arg_flag("unread")
    chosen = BY_KEY.get(request.args.get("group", ""))
    query = sa.select(Notification).where(Notification.user_id == current_user.id)
    if chosen is not None:
        query = query.where(kinds_clause(chosen, Notification.kind))
    if only_unread:
        query = query.where(Notification.read_at.is_(None))
    unread = Notification.read_at.is_(None)
    query = query.order_by(sa.case((unread, 0), else_=1),
                           sa.case((unread, rank(Notification.kind)), else_=0),
                           Notification.created_at.desc(), Notification.id.desc())
    page = db.paginate(query, page=params.arg_page(), per_page=current_app.config["PER_PAGE"],
                       error_out=False)
    counts = _group_counts(current_user.id)
    return render_template(
        "notifications/index.html", page=page, only_unread=only_unread, chosen=chosen,
        counts=counts, unread_by_group={c.group.key: c.unread for c in counts},
        several_unread_groups=sum(1 for c in counts if c.unread) > 1,
        sections=_sections(page.items), group_of=group_of,
        digests={n.id: digest for n in page.items if (digest := digests.read(n))})


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
    """Mark one (``id``), one group's (``group``) or all of the user's notifications as read;
    back to the inbox page the form was on (``next``)."""
    query = sa.update(Notification).where(Notification.user_id == current_user.id,
                                          Notification.read_at.is_(None))
    one = request.form.get("id", type=int)
    if one is not None:
        query = query.where(Notification.id == one)
    group = BY_KEY.get(request.form.get("group", ""))
    if group is not None:
        query = query.where(kinds_clause(group, Notification.kind))
    count = db.session.execute(query.values(read_at=utcnow())).rowcount
    db.session.commit()
    flash(_("已将 %(n)s 条消息标为已读。", n=count), "success")
    back = safe_next(request.form.get("next"))
    inbox = url_for("notifications.index")
    return redirect(back if back and back.startswith(inbox) else inbox)
