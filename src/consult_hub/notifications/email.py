"""The email outbox: claim pending notifications, send them over SMTP, retry with back-off.

A row is claimed (``sending``, with the claimer's name) in one statement before it
is sent, so two scheduler processes never send the same email; on PostgreSQL the
claim skips rows another process holds (FOR UPDATE SKIP LOCKED). A send that fails
is retried with growing delays and, after MAIL_MAX_ATTEMPTS, marked ``failed``
with its error — recorded, visible to admins, never silently dropped.
"""

from __future__ import annotations

import os
import smtplib
import socket
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

import sqlalchemy as sa
from flask import current_app

from consult_hub.auth.models import User
from consult_hub.extensions import db
from consult_hub.notifications.models import EmailStatus, Notification

BACKOFF_MINUTES = (1, 5, 15, 60, 180, 720)
# A claim older than this is taken to belong to a process that died mid-send.
STALE_CLAIM = timedelta(minutes=15)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:64]


def claim(now: datetime, limit: int = 50, worker: str | None = None) -> list[int]:
    """Mark up to ``limit`` due emails as ours; returns their ids."""
    worker = worker or worker_name()
    due = sa.or_(
        sa.and_(Notification.email_status == EmailStatus.PENDING,
                Notification.email_next_attempt_at <= now),
        sa.and_(Notification.email_status == EmailStatus.SENDING,
                Notification.email_next_attempt_at <= now - STALE_CLAIM),
    )
    pick = sa.select(Notification.id).where(due).order_by(Notification.id).limit(limit)
    if db.session.get_bind().dialect.name == "postgresql":
        pick = pick.with_for_update(skip_locked=True)
    ids = db.session.scalars(
        sa.update(Notification)
        .where(Notification.id.in_(pick.scalar_subquery()))
        .values(email_status=EmailStatus.SENDING, email_claimed_by=worker,
                email_next_attempt_at=now)
        .returning(Notification.id)
    ).all()
    db.session.commit()
    return sorted(ids)


def build_message(notification: Notification, recipient: User) -> EmailMessage:
    config = current_app.config
    message = EmailMessage()
    message["From"] = config["MAIL_FROM"]
    message["To"] = recipient.email
    message["Subject"] = notification.subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(idstring=f"n{notification.id}")
    body = notification.body
    if notification.link:
        body += f"\n\n{notification.link}"
    message.set_content(body + "\n\n— 一线协商·共同缔造 Consult Hub\n")
    return message


def _connect() -> smtplib.SMTP:
    config = current_app.config
    factory = smtplib.SMTP_SSL if config["MAIL_USE_SSL"] else smtplib.SMTP
    smtp = factory(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=config["MAIL_TIMEOUT"])
    if config["MAIL_USE_TLS"]:
        smtp.starttls()
    if config["MAIL_USERNAME"]:
        smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
    return smtp


def send_pending(now: datetime, limit: int = 50) -> dict[str, int]:
    """Send what is due; returns counts of sent, retried and failed emails."""
    counts = {"sent": 0, "retry": 0, "failed": 0}
    if not current_app.config.get("MAIL_SERVER"):
        return counts
    ids = claim(now, limit)
    if not ids:
        return counts
    rows = db.session.execute(
        sa.select(Notification, User).join(User, User.id == Notification.user_id)
        .where(Notification.id.in_(ids)).order_by(Notification.id)).all()
    smtp: smtplib.SMTP | None = None
    try:
        for notification, user in rows:
            try:
                if not user.email:
                    raise ValueError("recipient has no email address")
                smtp = smtp or _connect()
                smtp.send_message(build_message(notification, user))
            except (OSError, smtplib.SMTPException, ValueError) as exc:
                smtp = None  # reconnect for the next one
                counts[_record_failure(notification, exc, now)] += 1
            else:
                notification.email_status = EmailStatus.SENT
                notification.email_sent_at = now
                notification.email_attempts += 1
                notification.email_last_error = None
                counts["sent"] += 1
            db.session.commit()  # one row at a time: a crash loses at most the row in flight
    finally:
        if smtp is not None:
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                pass
    return counts


def _record_failure(notification: Notification, exc: Exception, now: datetime) -> str:
    notification.email_attempts += 1
    notification.email_last_error = f"{type(exc).__name__}: {exc}"[:2000]
    if notification.email_attempts >= current_app.config["MAIL_MAX_ATTEMPTS"]:
        notification.email_status = EmailStatus.FAILED
        return "failed"
    delay = BACKOFF_MINUTES[min(notification.email_attempts, len(BACKOFF_MINUTES)) - 1]
    notification.email_status = EmailStatus.PENDING
    notification.email_next_attempt_at = now + timedelta(minutes=delay)
    return "retry"
