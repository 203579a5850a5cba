"""Create notifications: once per (dedupe key, recipient), whoever asks and however often."""

from __future__ import annotations

from collections.abc import Callable, Container, Iterable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale

from consult_hub.auth.models import User
from consult_hub.core.db import utcnow
from consult_hub.extensions import db
from consult_hub.notifications.models import EmailStatus, Notification


@dataclass(frozen=True)
class Message:
    subject: str
    body: str
    link: str | None = None
    data: dict | None = None  # what a digest lists, for the inbox to render (models.py)


def email_enabled() -> bool:
    return bool(current_app.config.get("MAIL_SERVER"))


def insert_ignoring_duplicates(rows: list[dict]) -> int:
    """INSERT … ON CONFLICT DO NOTHING on (dedupe_key, user_id); returns rows written.

    A Core statement run over the rows a thousand at a time: a sweep gathers its rows and
    writes them here together (one ORM insert per reminder was most of a sweep's time)."""
    if not rows:
        return 0
    if db.session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    table = Notification.__table__
    stmt = insert(table).on_conflict_do_nothing(
        index_elements=["dedupe_key", "user_id"]).returning(table.c.id)
    written = 0
    for start in range(0, len(rows), 1000):
        written += len(db.session.execute(stmt, rows[start:start + 1000]).all())
    return written


def delivered(keys: Iterable[str]) -> set[tuple[str, int]]:
    """The (dedupe key, user id) pairs among ``keys`` that are queued already.

    A sweep asks this once for all its candidates, so that a sweep with nothing new to say
    neither composes nor inserts anything (at national scale: 500,000 open problems)."""
    wanted = list(dict.fromkeys(key[:200] for key in keys))
    found: set[tuple[str, int]] = set()
    for start in range(0, len(wanted), 1000):
        found.update((key, user_id) for key, user_id in db.session.execute(
            sa.select(Notification.dedupe_key, Notification.user_id)
            .where(Notification.dedupe_key.in_(wanted[start:start + 1000]))))
    return found


def notification_rows(
    recipients: Iterable[User],
    *,
    dedupe_key: str,
    kind: str,
    compose: Callable[[User], Message],
    now: datetime | None = None,
    skip: Container[tuple[str, int]] = frozenset(),
) -> list[dict]:
    """One notification row per active recipient, in the recipient's language, to be written
    by ``insert_ignoring_duplicates``.

    ``compose`` is called inside ``force_locale(user.locale)``, so messages built
    with ``gettext`` come out in each recipient's language. Pairs in ``skip`` (known to be
    delivered) are left out without being composed.
    """
    now = now or utcnow()
    mail = email_enabled()
    rows = []
    for user in recipients:
        if not user.is_active or (dedupe_key[:200], user.id) in skip:
            continue
        with force_locale(user.locale or "zh"):
            message = compose(user)
            subject, body = str(message.subject), str(message.body)
        rows.append({
            "user_id": user.id, "dedupe_key": dedupe_key[:200], "kind": kind,
            "subject": subject[:200], "body": body, "link": message.link, "data": message.data,
            "created_at": now,
            "read_at": None,
            "email_status": EmailStatus.PENDING if mail and user.email else EmailStatus.NONE,
            "email_attempts": 0,
            "email_next_attempt_at": now if mail and user.email else None,
        })
    return rows


def notify(
    recipients: Iterable[User],
    *,
    dedupe_key: str,
    kind: str,
    compose: Callable[[User], Message],
    now: datetime | None = None,
    skip: Container[tuple[str, int]] = frozenset(),
) -> int:
    """Queue one notification per active recipient (see ``notification_rows``). Returns how
    many rows were new; a key already delivered to a user is silently skipped."""
    return insert_ignoring_duplicates(notification_rows(
        recipients, dedupe_key=dedupe_key, kind=kind, compose=compose, now=now, skip=skip))


def unread_count(user_id: int) -> int:
    return db.session.scalar(sa.select(sa.func.count(Notification.id)).where(
        Notification.user_id == user_id, Notification.read_at.is_(None))) or 0
