"""Inactive platforms reach staff as one digest a month: a district's to its staff, the city's to
city staff, each listing the platforms with their last held event; driven with a fixed clock."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from consult_hub.config import Config
from consult_hub.events.models import EventStatus
from consult_hub.extensions import db
from consult_hub.issues.operations import change_status
from consult_hub.notifications import email, reminders
from consult_hub.notifications.models import EmailStatus, Notification
from consult_hub.platforms.models import PlatformStatus
from tests.support import factories

NOW = datetime(2024, 11, 20, 2, 0, tzinfo=UTC)  # 10:00 in Wuhan
TODAY = date(2024, 11, 20)
LONG_AGO = date(2020, 1, 1)


def inbox(user) -> list[Notification]:
    return list(db.session.scalars(sa.select(Notification).where(
        Notification.user_id == user.id).order_by(Notification.id)))


def held(platform, days_ago: float, hour: int = 0) -> datetime:
    """A held event ``days_ago`` days before NOW; returns its start."""
    start = NOW - timedelta(days=days_ago, hours=hour)
    factories.event(platform_id=platform.id, starts_at=start, ends_at=start + timedelta(hours=2),
                    status=EventStatus.HELD)
    return start


@pytest.fixture()
def city(ctx):
    """Two districts with staff and idle platforms, a city admin, and platforms not idle."""
    jiangan = factories.district(name="江岸区")
    jianghan = factories.district(name="江汉区")
    never = factories.platform(district_id=jiangan.id, name="从没开过会的议事室",
                               established_on=LONG_AGO)
    quiet = factories.platform(district_id=jiangan.id, name="一年多没开会的联系点",
                               established_on=LONG_AGO)
    quieter = factories.platform(district_id=jiangan.id, name="两年没开会的工作室",
                                 established_on=LONG_AGO)
    busy = factories.platform(district_id=jiangan.id, name="上周刚开过会的议事室",
                              established_on=LONG_AGO)
    factories.platform(district_id=jiangan.id, name="暂停的议事室", established_on=LONG_AGO,
                       status=PlatformStatus.SUSPENDED)
    factories.platform(district_id=jiangan.id, name="刚成立的议事室",
                       established_on=TODAY - timedelta(days=100))
    elsewhere = factories.platform(district_id=jianghan.id, name="江汉区的安静议事室",
                                   established_on=LONG_AGO)
    # 17:00 UTC is 01:00 the next day in Wuhan: the last event's date is the local one.
    quiet_at = held(quiet, 400, hour=-15)
    held(quieter, 730)
    held(busy, 7)
    held(elsewhere, 500)
    staff = factories.user("district_admin", district_id=jiangan.id, email="wang@example.cn")
    english = factories.user("district_admin", district_id=jiangan.id, locale="en")
    other_staff = factories.user("district_admin", district_id=jianghan.id)
    admin = factories.user("admin")
    coordinator = factories.user("coordinator", platform_ids=[never.id, quiet.id])
    db.session.commit()
    return {"jiangan": jiangan, "jianghan": jianghan, "never": never, "quiet": quiet,
            "quieter": quieter, "quiet_at": quiet_at, "elsewhere": elsewhere, "staff": staff,
            "english": english, "other_staff": other_staff, "admin": admin,
            "coordinator": coordinator}


def test_a_districts_digest_lists_its_idle_platforms_with_their_last_event(city):
    assert reminders.sweep_inactive_platforms(NOW) == 4  # 2 + 1 district staff, 1 city admin
    [digest] = inbox(city["staff"])
    assert digest.kind == "inactive_digest"
    assert digest.subject == "2024年11月不活跃平台汇总：江岸区3个"
    body = digest.body
    assert body.startswith("截至2024-11-20，江岸区有3个运行中的平台超过365天没有举行协商议事活动")
    last_quiet = (city["quiet_at"] + timedelta(hours=8)).date()  # Wuhan's date of it
    assert last_quiet == (NOW - timedelta(days=399)).date()
    lines = [line for line in body.splitlines() if line[:1].isdigit()]
    assert lines == [  # never held first, then idle longest first
        "1. 从没开过会的议事室：从未举行活动",
        f"2. 两年没开会的工作室：最近一次活动 {(NOW - timedelta(days=730)).date()}",
        f"3. 一年多没开会的联系点：最近一次活动 {last_quiet}",
    ]
    # The email has an address for each platform; the inbox renders the same list from data.
    assert f"/manage/platforms/{city['never'].id}\n" in body
    assert [p["name"] for p in digest.data["platforms"]] == [
        "从没开过会的议事室", "两年没开会的工作室", "一年多没开会的联系点"]
    assert digest.data["platforms"][2]["last"] == last_quiet.isoformat()
    for not_idle in ("上周刚开过会", "暂停的议事室", "刚成立的议事室", "江汉区"):
        assert not_idle not in body
    assert digest.link.endswith("/dashboard#inactive-h")
    # Each reader in their language; the other district's staff get theirs alone.
    [english] = inbox(city["english"])
    assert english.subject == "Inactive platforms, Nov 2024: 3 in 江岸区"
    assert "1. 从没开过会的议事室: Never held an event" in english.body
    [theirs] = inbox(city["other_staff"])
    assert "江汉区的安静议事室" in theirs.body and "从没开过会" not in theirs.body
    assert inbox(city["coordinator"]) == []


def test_the_city_gets_one_digest_with_the_districts_side_by_side(city):
    reminders.sweep_inactive_platforms(NOW)
    [digest] = inbox(city["admin"])
    assert digest.subject == "2024年11月不活跃平台汇总：全市4个"
    assert "江岸区：3个（运行中5个）" in digest.body  # the suspended one is not running
    assert "江汉区：1个（运行中1个）" in digest.body
    districts = digest.data["districts"]
    assert [(d["name"], len(d["platforms"])) for d in districts] == [("江岸区", 3), ("江汉区", 1)]


def test_a_citys_digest_past_the_list_limit_gives_counts_only(city, monkeypatch):
    """A nation's tens of thousands of names stay in the districts' digests."""
    from consult_hub.notifications import digests

    monkeypatch.setattr(digests, "CITY_LIST_LIMIT", 3)
    reminders.sweep_inactive_platforms(NOW)
    [digest] = inbox(city["admin"])
    assert [(d["name"], d["count"], d["platforms"]) for d in digest.data["districts"]] == [
        ("江岸区", 3, []), ("江汉区", 1, [])]
    assert digest.subject == "2024年11月不活跃平台汇总：全市4个"
    assert "江岸区：3个（运行中5个）" in digest.body
    assert len(inbox(city["staff"])[0].data["platforms"]) == 3  # the district's list is whole


def test_one_digest_per_district_a_month(city):
    assert reminders.sweep_inactive_platforms(NOW) == 4
    assert reminders.sweep_inactive_platforms(NOW + timedelta(minutes=5)) == 0
    assert reminders.sweep_inactive_platforms(NOW + timedelta(days=10)) == 0  # still November
    newcomer = factories.user("district_admin", district_id=city["jiangan"].id)
    db.session.commit()
    assert reminders.sweep_inactive_platforms(NOW + timedelta(days=10)) == 1  # this month's
    assert reminders.sweep_inactive_platforms(NOW + timedelta(days=11)) == 4 + 1  # December
    assert [m.kind for m in inbox(city["staff"])] == ["inactive_digest"] * 2
    assert [m.dedupe_key for m in inbox(city["staff"])] == [
        f"platform_inactive_digest:{city['jiangan'].id}:2024-11",
        f"platform_inactive_digest:{city['jiangan'].id}:2024-12"]
    assert len(inbox(newcomer)) == 2
    # Every platform of the district held an event: nothing to say next month.
    for name in ("never", "quiet", "quieter"):
        held(city[name], -40)  # held in December, after the sweep above
    db.session.commit()
    reminders.sweep_inactive_platforms(NOW + timedelta(days=45))  # January
    assert len(inbox(city["staff"])) == 2
    assert len(inbox(city["other_staff"])) == 3  # 江汉区's platform is still idle


def test_the_threshold_is_the_configured_one(app, ctx, monkeypatch):
    district = factories.district()
    platform = factories.platform(district_id=district.id, name="半年没开会的议事室",
                                  established_on=LONG_AGO)
    held(platform, 200)
    staff = factories.user("district_admin", district_id=district.id)
    db.session.commit()
    assert app.config["INACTIVE_DAYS"] == 365
    assert reminders.sweep_inactive_platforms(NOW) == 0  # 200 days: not idle at the default
    monkeypatch.setitem(app.config, "INACTIVE_DAYS", 180)
    assert reminders.sweep_inactive_platforms(NOW) == 1
    [digest] = inbox(staff)
    assert "超过180天没有举行协商议事活动" in digest.body and "半年没开会的议事室" in digest.body
    assert digest.data["days"] == 180


def test_the_threshold_comes_from_the_environment(monkeypatch):
    monkeypatch.delenv("INACTIVE_DAYS", raising=False)
    assert Config().INACTIVE_DAYS == 365
    monkeypatch.setenv("INACTIVE_DAYS", "180")
    assert Config().INACTIVE_DAYS == 180
    monkeypatch.setenv("INACTIVE_DAYS", "0")
    with pytest.raises(ValueError, match="INACTIVE_DAYS"):
        Config()


def test_the_first_sweep_on_a_new_site_sends_digests_not_a_message_per_platform(ctx):
    """A site imported on day one: 40 platforms that never held an event, problems long
    overdue. Each district's staff get one digest and one message per escalated problem."""
    district = factories.district(name="江岸区")
    platforms = [factories.platform(district_id=district.id, established_on=LONG_AGO)
                 for _ in range(40)]
    staff = factories.user("district_admin", district_id=district.id)
    admin = factories.user("admin")
    department = factories.department(name="市水务局")
    overdue = factories.issue(platform_id=platforms[0].id, now=NOW - timedelta(days=60))
    change_status(overdue, "assign", actor_id=None, department=department,
                  due_on=date(2100, 1, 1), now=NOW - timedelta(days=60))
    overdue.due_on = TODAY - timedelta(days=20)
    planned = factories.issue(platform_id=platforms[1].id, now=NOW - timedelta(days=60))
    change_status(planned, "assign", actor_id=None, department=department,
                  due_on=date(2100, 1, 1), now=NOW - timedelta(days=60))
    change_status(planned, "plan", actor_id=None, planned_on=date(2100, 1, 1),
                  now=NOW - timedelta(days=50))
    planned.planned_on = TODAY - timedelta(days=30)  # a promised date a month gone
    db.session.commit()

    counts = reminders.sweep_reminders(NOW)
    assert counts["inactive_platforms"] == 2  # the district's staff and the city's
    messages = inbox(staff)
    assert sorted(m.kind for m in messages) == [
        "inactive_digest", "issue_escalated", "issue_escalated"]  # not also "overdue"
    [digest] = [m for m in messages if m.kind == "inactive_digest"]
    assert len(digest.data["platforms"]) == 40
    assert all(p.name in digest.body for p in platforms)
    assert [m.kind for m in inbox(admin)] == ["inactive_digest"]
    assert sum(reminders.sweep_reminders(NOW + timedelta(minutes=5)).values()) == 0


def test_a_digest_is_emailed_with_its_list(app, city, monkeypatch):
    monkeypatch.setitem(app.config, "MAIL_SERVER", "smtp.example.cn")
    reminders.sweep_inactive_platforms(NOW)
    [digest] = inbox(city["staff"])
    assert digest.email_status is EmailStatus.PENDING
    message = email.build_message(digest, city["staff"])
    assert message["Subject"] == "2024年11月不活跃平台汇总：江岸区3个"
    text = message.get_content()
    assert "1. 从没开过会的议事室：从未举行活动" in text
    assert f"/manage/platforms/{city['quiet'].id}" in text and "/dashboard#inactive-h" in text
