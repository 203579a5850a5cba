"""Text messages (短信) to residents: one for each public step of the problem they raised,
when they left a phone number and asked for them on the submission form.

Nothing is sent from a request. The scheduler's ``sms`` job (scheduler.py) first queues a
``TextMessage`` for every public timeline entry of a consenting problem that has none yet
(the entry's id is unique in the outbox, so a step is never texted twice), then sends what is
due through the configured sender; a failed send is retried with growing delays, like emails
(notifications/email.py), and marked failed after SMS_MAX_ATTEMPTS.

The sender is pluggable. ``SMS_SENDER`` names it: ``log`` (the default: writes each message
to the application log, for development and for sites without an SMS contract), ``off`` (no
messages are queued at all), or ``package.module:ClassName`` for a provider's adapter. An
adapter is a class built with the app's config (a mapping, where it reads its own settings,
e.g. ``SMS_ACCESS_KEY``) whose ``send(phone, text)`` delivers one message or raises
``SendFailed`` (or ``OSError``) to have it retried; see ``TextSender``.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, Protocol

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale

from consult_hub.core.i18n import gettext as _
from consult_hub.core.links import external_url
from consult_hub.extensions import db
from consult_hub.issues.models import PUBLIC_STATUS, Issue, IssueStatus, IssueUpdate
from consult_hub.notifications.email import BACKOFF_MINUTES, STALE_CLAIM, worker_name
from consult_hub.notifications.models import TextMessage, TextStatus

log = logging.getLogger("consult_hub.sms")

# Steps older than this when first seen are not texted (the scheduler was down for a week):
# news that late is better read on the tracking page than received out of the blue.
QUEUE_WINDOW = timedelta(days=7)
# The resident's own rating is public, but telling them about it would be noise.
NOT_TEXTED = frozenset({"rate"})


class SendFailed(Exception):
    """The provider did not take the message; it is tried again later."""


class TextSender(Protocol):
    """What an SMS provider's adapter provides (``SMS_SENDER = "module:Class"``)."""

    def __init__(self, config: Mapping[str, Any]) -> None: ...

    def send(self, phone: str, text: str) -> None:
        """Deliver ``text`` to ``phone`` (``13800001234`` or ``027-85612345``), or raise."""


class LoggingSender:
    """The default sender: each message goes to the log (the number shortened), none is sent."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.config = config

    def send(self, phone: str, text: str) -> None:
        log.info("SMS to ****%s: %s", phone[-4:], text)


NAMED_SENDERS = {"log": LoggingSender}


def sender_name() -> str:
    return (current_app.config.get("SMS_SENDER") or "off").strip()


def enabled() -> bool:
    return sender_name() != "off"


def load_sender() -> TextSender:
    """The configured sender, built with the app's config; a bad name fails loudly."""
    name = sender_name()
    factory: Any = NAMED_SENDERS.get(name)
    if factory is None:
        module_name, _sep, attribute = name.partition(":")
        if not attribute:
            raise ValueError(f"SMS_SENDER={name!r}: use 'log', 'off' or 'module:ClassName'")
        factory = getattr(importlib.import_module(module_name), attribute)
    return factory(current_app.config)


# -- queueing ---------------------------------------------------------------------------------


def compose(issue_reference: str, token: str | None, action: str,
            to_status: IssueStatus) -> str:
    """The message for one step, in the programme's language (residents' pages are Chinese
    first), with the tracking link; short enough for one or two SMS segments."""
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        link = external_url("public.track_token", token=token) if token else ""
        if action == "receive" and to_status is IssueStatus.PENDING:
            text = _("您反映的问题已收到，受理编号 %(ref)s，工作人员受理后会再通知您。",
                     ref=issue_reference)
        elif action == "accept":
            text = _("您反映的问题 %(ref)s 已受理并公开。", ref=issue_reference)
        else:
            status = PUBLIC_STATUS.get(to_status, to_status)
            text = _("您反映的问题 %(ref)s 有新进展：%(status)s。", ref=issue_reference,
                     status=status.label)
        if link:
            text += _("查看进度：%(link)s", link=link)
        return text


def queue_steps(now: datetime) -> int:
    """Queue a message for each public step of a consenting problem not texted yet."""
    if not enabled():
        return 0
    texted = sa.select(TextMessage.id).where(TextMessage.update_id == IssueUpdate.id)
    rows = db.session.execute(
        sa.select(IssueUpdate.id, IssueUpdate.action, IssueUpdate.to_status, Issue.id,
                  Issue.reference, Issue.tracking_token)
        .join(Issue, Issue.id == IssueUpdate.issue_id)
        .where(Issue.sms_consent_at.is_not(None), Issue.submitter_phone.is_not(None),
               IssueUpdate.is_public, IssueUpdate.action.not_in(NOT_TEXTED),
               IssueUpdate.created_at >= Issue.sms_consent_at,
               IssueUpdate.created_at >= now - QUEUE_WINDOW, ~sa.exists(texted))
        .order_by(IssueUpdate.id)).all()
    for update_id, action, to_status, issue_id, reference, token in rows:
        db.session.add(TextMessage(
            issue_id=issue_id, update_id=update_id, status=TextStatus.PENDING,
            body=compose(reference, token, action, IssueStatus(to_status)),
            next_attempt_at=now, created_at=now))
    db.session.commit()
    return len(rows)


# -- sending ----------------------------------------------------------------------------------


def claim(now: datetime, limit: int = 50) -> list[int]:
    """Mark up to ``limit`` due messages as ours (as notifications/email.py claims emails)."""
    due = sa.or_(
        sa.and_(TextMessage.status == TextStatus.PENDING, TextMessage.next_attempt_at <= now),
        sa.and_(TextMessage.status == TextStatus.SENDING,
                TextMessage.next_attempt_at <= now - STALE_CLAIM),
    )
    pick = sa.select(TextMessage.id).where(due).order_by(TextMessage.id).limit(limit)
    if db.session.get_bind().dialect.name == "postgresql":
        pick = pick.with_for_update(skip_locked=True)
    ids = db.session.scalars(
        sa.update(TextMessage).where(TextMessage.id.in_(pick.scalar_subquery()))
        .values(status=TextStatus.SENDING, claimed_by=worker_name(), next_attempt_at=now)
        .returning(TextMessage.id)).all()
    db.session.commit()
    return sorted(ids)


def send_pending(now: datetime, limit: int = 50) -> dict[str, int]:
    """Send what is due; returns counts of sent, retried and failed messages."""
    counts = {"sent": 0, "retry": 0, "failed": 0}
    if not enabled():
        return counts
    ids = claim(now, limit)
    if not ids:
        return counts
    sender = load_sender()
    rows = db.session.execute(
        sa.select(TextMessage, Issue.submitter_phone).join(Issue, Issue.id == TextMessage.issue_id)
        .where(TextMessage.id.in_(ids)).order_by(TextMessage.id)).all()
    for message, phone in rows:
        message.attempts += 1
        try:
            if not phone:
                # Erased by the retention sweep (or by staff) since it was queued: never sent.
                message.status = TextStatus.FAILED
                message.last_error = "no phone number any more"
                counts["failed"] += 1
            else:
                sender.send(phone, message.body)
                message.status = TextStatus.SENT
                message.sent_at = now
                message.last_error = None
                counts["sent"] += 1
        except (SendFailed, OSError) as exc:
            message.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            if message.attempts >= current_app.config["SMS_MAX_ATTEMPTS"]:
                message.status = TextStatus.FAILED
                counts["failed"] += 1
            else:
                delay = BACKOFF_MINUTES[min(message.attempts, len(BACKOFF_MINUTES)) - 1]
                message.status = TextStatus.PENDING
                message.next_attempt_at = now + timedelta(minutes=delay)
                counts["retry"] += 1
        db.session.commit()  # one at a time: a crash loses at most the message in flight
    return counts


def run(now: datetime) -> dict[str, int]:
    """The scheduler's job: queue new steps, then send until nothing is due."""
    total = {"queued": queue_steps(now), "sent": 0, "retry": 0, "failed": 0}
    while True:
        batch = send_pending(now)
        if not any(batch.values()):
            return total
        for key, value in batch.items():
            total[key] += value
