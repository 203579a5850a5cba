"""Email through a real SMTP server on loopback (aiosmtpd): sent once, retried, failures kept."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.header import decode_header, make_header

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller

from consult_hub.extensions import db
from consult_hub.notifications import email
from consult_hub.notifications.models import EmailStatus, Notification
from consult_hub.notifications.operations import Message, notify
from tests.support import factories
from tests.support.services import Inbox, free_port

NOW = datetime(2024, 11, 20, 2, 0, tzinfo=UTC)


@pytest.fixture()
def smtp(app, monkeypatch):
    port = free_port()
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setitem(app.config, "MAIL_SERVER", "127.0.0.1")
    monkeypatch.setitem(app.config, "MAIL_PORT", port)
    monkeypatch.setitem(app.config, "MAIL_TIMEOUT", 5)
    yield handler
    controller.stop()


def subject(message) -> str:
    return str(make_header(decode_header(message["Subject"])))


def queue(ctx_user_email: str | None = "li@example.org") -> Notification:
    user = factories.user("coordinator", email=ctx_user_email)
    notify([user], dedupe_key="event_upcoming:1:x:24", kind="event_upcoming", now=NOW,
           compose=lambda _u: Message("活动提醒：加装电梯协商会", "明天 19:30 在社区会议室。",
                                      "http://127.0.0.1:5000/manage/events/1"))
    db.session.commit()
    return db.session.scalars(sa.select(Notification)).one()


def test_pending_email_is_sent_once_over_smtp(ctx, smtp):
    notification = queue()
    assert notification.email_status is EmailStatus.PENDING
    assert email.send_pending(NOW) == {"sent": 1, "retry": 0, "failed": 0}
    assert email.send_pending(NOW + timedelta(minutes=5)) == {"sent": 0, "retry": 0, "failed": 0}
    assert len(smtp.messages) == 1
    received = smtp.messages[0]
    assert subject(received) == "活动提醒：加装电梯协商会"
    assert received["To"] == "li@example.org"
    body = received.get_payload(decode=True).decode("utf-8")
    assert "明天 19:30 在社区会议室。" in body and "/manage/events/1" in body
    db.session.refresh(notification)
    assert notification.email_status is EmailStatus.SENT and notification.email_attempts == 1


def test_no_email_without_address_or_server(ctx, app, monkeypatch):
    monkeypatch.setitem(app.config, "MAIL_SERVER", "")
    notification = queue()
    assert notification.email_status is EmailStatus.NONE  # inbox only
    assert email.send_pending(NOW) == {"sent": 0, "retry": 0, "failed": 0}


def test_unreachable_server_is_retried_with_back_off_then_failed(ctx, app, monkeypatch):
    monkeypatch.setitem(app.config, "MAIL_SERVER", "127.0.0.1")
    monkeypatch.setitem(app.config, "MAIL_PORT", free_port())  # nothing listens there
    monkeypatch.setitem(app.config, "MAIL_MAX_ATTEMPTS", 3)
    notification = queue()
    assert email.send_pending(NOW)["retry"] == 1
    db.session.refresh(notification)
    assert notification.email_status is EmailStatus.PENDING
    assert notification.email_next_attempt_at == NOW + timedelta(minutes=1)
    assert "ConnectionRefusedError" in notification.email_last_error
    assert email.send_pending(NOW + timedelta(seconds=30))["retry"] == 0  # not due yet
    assert email.send_pending(NOW + timedelta(minutes=1))["retry"] == 1
    assert email.send_pending(NOW + timedelta(minutes=7))["failed"] == 1
    db.session.refresh(notification)
    assert notification.email_status is EmailStatus.FAILED and notification.email_attempts == 3
    assert notification.read_at is None  # still in the inbox, unread


def test_a_claimed_email_is_not_claimed_twice(ctx, smtp):
    notification = queue()
    assert email.claim(NOW, worker="a") == [notification.id]
    assert email.claim(NOW, worker="b") == []
    # A claim abandoned by a dead process is taken over after a while.
    assert email.claim(NOW + email.STALE_CLAIM + timedelta(seconds=1),
                       worker="b") == [notification.id]
