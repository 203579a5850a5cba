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


def deliver_kinds(app, user_id: int, kinds: list[tuple[str, str]]) -> None:
    """One message per (kind, subject), the first the newest."""
    from datetime import timedelta

    from consult_hub.core.db import utcnow

    with app.test_request_context():
        user = db.session.get(factories.User, user_id)
        now = utcnow()
        for age, (kind, subject) in enumerate(kinds):
            notify([user], dedupe_key=f"{kind}:{subject}", kind=kind,
                   now=now - timedelta(hours=age),
                   compose=lambda _u, s=subject: Message(s, f"{s}的正文", "/dashboard"))
        db.session.commit()


def main_text(html: str) -> str:
    import re

    main = html[html.index("<main"):html.index("</main>")]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", main))


def test_escalations_and_overdue_are_pinned_above_newer_messages(app, client, auth, make):
    user = make("user", role="district_admin")
    deliver_kinds(app, user.id, [  # newest first
        ("event_upcoming", "活动提醒：加装电梯协商会"),
        ("inactive_digest", "2024年11月不活跃平台汇总：江岸区3个"),
        ("issue_due_soon", "问题即将到期：WH24-00003"),
        ("issue_overdue", "问题已逾期：WH24-00002"),
        ("issue_escalated", "逾期超过7天，请督办：WH24-00001"),
        ("issue_overdue", "问题已逾期：WH24-00009"),
    ])
    with app.app_context():  # one already read: below every unread one
        db.session.execute(sa.update(Notification).where(
            Notification.subject == "问题已逾期：WH24-00009").values(read_at=sa.func.now()))
        db.session.commit()
    auth.login(user.username)
    text = main_text(client.get("/inbox/").text)
    order = ["逾期超过7天，请督办：WH24-00001", "问题已逾期：WH24-00002",
             "问题即将到期：WH24-00003", "活动提醒：加装电梯协商会",
             "2024年11月不活跃平台汇总：江岸区3个", "问题已逾期：WH24-00009"]
    assert [text.index(subject) for subject in order] == sorted(text.index(s) for s in order)
    # The groups with their unread counts, in the same order; the read one counts no more.
    assert ("全部 5 督办 1 逾期 1 即将到期 1 活动提醒 1 月度汇总 1 " in text), text
    # The read ones come last, under their heading, each with its kind.
    assert text.index(" 已读 逾期 · ") > text.index("月度汇总 1 条未读")


def test_a_group_is_listed_and_marked_read_on_its_own(app, client, auth, make):
    user = make("user", role="district_admin")
    deliver_kinds(app, user.id, [("event_upcoming", "活动提醒一"), ("issue_overdue", "逾期一"),
                                 ("issue_overdue", "逾期二"), ("minutes_missing", "请补录纪要")])
    auth.login(user.username)
    text = main_text(client.get("/inbox/?group=overdue").text)
    assert "逾期一" in text and "逾期二" in text and "活动提醒一" not in text
    token = csrf_token(client, "/inbox/")
    answer = client.post("/inbox/read", data={"csrf_token": token, "group": "overdue",
                                              "next": "/inbox/?group=overdue"})
    assert answer.status_code == 302 and answer.headers["Location"] == "/inbox/?group=overdue"
    with app.app_context():
        unread = set(db.session.scalars(sa.select(Notification.subject).where(
            Notification.read_at.is_(None))))
    assert unread == {"活动提醒一", "请补录纪要"}  # the events group, untouched
    text = main_text(client.get("/inbox/").text)
    assert "全部 2 逾期 活动提醒 2 " in text  # overdue: nothing unread left
    # A "next" off the inbox is not followed.
    answer = client.post("/inbox/read", data={"csrf_token": token, "next": "//evil.example/"})
    assert answer.headers["Location"] == "/inbox/"


def test_a_digest_lists_its_platforms_linked_in_the_readers_language(app, client, auth, make):
    from datetime import UTC, datetime, timedelta

    from consult_hub.events.models import EventStatus
    from consult_hub.notifications import reminders

    now = datetime(2024, 11, 20, 2, 0, tzinfo=UTC)
    with app.test_request_context():
        district = factories.district(name="江岸区")
        idle = factories.platform(district_id=district.id, name="两年没开会的工作室")
        never = factories.platform(district_id=district.id, name="从没开过会的议事室")
        start = now - timedelta(days=730)
        factories.event(platform_id=idle.id, starts_at=start, ends_at=start + timedelta(hours=2),
                        status=EventStatus.HELD)
        staff = factories.user("district_admin", district_id=district.id)
        db.session.commit()
        reminders.sweep_inactive_platforms(now)
        db.session.commit()
        ids, username = (idle.id, never.id), staff.username
    auth.login(username)
    html = client.get("/inbox/").text
    assert f'<a href="/manage/platforms/{ids[1]}">从没开过会的议事室</a>' in html
    assert f'<a href="/manage/platforms/{ids[0]}">两年没开会的工作室</a>' in html
    text = main_text(html)
    assert "月度汇总 1 条未读" in text and "平台名单（2个）" in text
    assert f"最近一次活动 {(now - timedelta(days=730)).date()}" in text
    assert "从未举行活动" in text
    with app.app_context():  # the reader switches to English: the list follows
        db.session.execute(sa.update(factories.User).where(factories.User.username == username)
                           .values(locale="en"))
        db.session.commit()
    text = main_text(client.get("/inbox/").text)
    assert "running platforms in 江岸区 have held no consultation for more than 365 days" in text
    assert "List: 2 platforms" in text and "Never held an event" in text


def test_the_citys_digest_shows_the_districts_side_by_side(app, client, auth, make,
                                                             monkeypatch):
    from datetime import UTC, datetime

    from consult_hub.notifications import digests, reminders

    now = datetime(2024, 11, 20, 2, 0, tzinfo=UTC)
    with app.test_request_context():
        for name, idle in (("江岸区", 2), ("江汉区", 1)):
            district = factories.district(name=name)
            for n in range(idle):
                factories.platform(district_id=district.id, name=f"{name}安静的议事室{n}")
        admin = factories.user("admin")
        db.session.commit()
        reminders.sweep_inactive_platforms(now)
        monkeypatch.setattr(digests, "CITY_LIST_LIMIT", 2)  # next month: counts only
        reminders.sweep_inactive_platforms(now.replace(month=12))
        db.session.commit()
        username = admin.username
    auth.login(username)
    html = client.get("/inbox/").text
    december, november = html.split("2024年11月不活跃平台汇总")
    assert "2024年12月不活跃平台汇总：全市3个" in december
    assert "江岸区：2个（运行中2个）" in december and "江汉区：1个（运行中1个）" in december
    assert "安静的议事室" not in december  # past the limit: counts only
    assert "<summary>江岸区：2个（运行中2个）</summary>" in november
    assert november.count('<a href="/manage/platforms/') == 3
