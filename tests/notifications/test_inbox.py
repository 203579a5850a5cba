"""The in-app inbox: unread count in the navigation, open and mark read, one's own only."""

from __future__ import annotations

import sqlalchemy as sa

from consult_hub.extensions import db
from consult_hub.notifications.models import Notification
from consult_hub.notifications.operations import Message, notify
from tests.support import factories
from tests.support.auth import csrf_token


def deliver(app, user_id: int, count: int = 2) -> None:
    with app.test_request_context():
        user = db.session.get(factories.User, user_id)
        for n in range(count):
            notify([user], dedupe_key=f"k{n}", kind="event_upcoming",
                   compose=lambda _u, n=n: Message(f"活动提醒{n}", f"正文{n}", "/dashboard"))
        db.session.commit()


def test_unread_count_shows_in_navigation_and_inbox_lists_messages(app, client, auth, make):
    user = make("user", role="coordinator")
    deliver(app, user.id)
    auth.login(user.username)
    page = client.get("/dashboard").text
    assert '<span class="nav-count">2' in page
    inbox = client.get("/inbox/").text
    assert "活动提醒0" in inbox and "正文1" in inbox and "2 条未读" in inbox


def test_open_marks_read_and_follows_the_link(app, client, auth, make):
    user = make("user", role="coordinator")
    deliver(app, user.id, 1)
    auth.login(user.username)
    with app.app_context():
        note_id = db.session.scalar(sa.select(Notification.id))
    response = client.post(f"/inbox/{note_id}/open",
                           data={"csrf_token": csrf_token(client, "/inbox/")})
    assert response.status_code == 302 and response.headers["Location"] == "/dashboard"
    with app.app_context():
        assert db.session.get(Notification, note_id).read_at is not None
    assert "nav-count" not in client.get("/dashboard").text


def test_mark_all_read(app, client, auth, make):
    user = make("user", role="coordinator")
    other = make("user", role="coordinator")
    deliver(app, user.id, 3)
    deliver(app, other.id, 1)
    auth.login(user.username)
    client.post("/inbox/read", data={"csrf_token": csrf_token(client, "/inbox/")})
    with app.app_context():
        unread = db.session.scalars(sa.select(Notification.user_id).where(
            Notification.read_at.is_(None))).all()
    assert unread == [other.id]  # someone else's inbox untouched


def test_anothers_notification_is_not_found(app, client, auth, make):
    owner = make("user", role="coordinator")
    snoop = make("user", role="coordinator")
    deliver(app, owner.id, 1)
    auth.login(snoop.username)
    with app.app_context():
        note_id = db.session.scalar(sa.select(Notification.id))
    token = csrf_token(client, "/inbox/")
    assert client.post(f"/inbox/{note_id}/open", data={"csrf_token": token}).status_code == 404
    with app.app_context():
        assert db.session.get(Notification, note_id).read_at is None
