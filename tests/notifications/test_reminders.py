"""Reminder rules, each driven with a fixed clock; a sweep run twice never reminds twice."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from consult_hub.departments.models import Department
from consult_hub.events.models import Event, EventStatus
from consult_hub.extensions import db
from consult_hub.issues.operations import change_status
from consult_hub.notifications import reminders
from consult_hub.notifications.models import Notification
from tests.support import factories

NOW = datetime(2024, 11, 20, 2, 0, tzinfo=UTC)  # 10:00 in Wuhan
TODAY = date(2024, 11, 20)


@pytest.fixture()
def site(ctx):
    """A platform with a coordinator, its district's staff, and a stranger elsewhere."""
    district = factories.district()
    platform = factories.platform(district_id=district.id)
    coordinator = factories.user("coordinator", platform_ids=[platform.id])
    staff = factories.user("district_admin", district_id=district.id)
    factories.user("coordinator")  # not on this platform: never notified
    factories.user("district_admin")  # another district
    db.session.commit()
    return platform, coordinator, staff


def inbox(user) -> list[Notification]:
    return list(db.session.scalars(sa.select(Notification).where(
        Notification.user_id == user.id).order_by(Notification.id)))


def all_notifications() -> list[Notification]:
    return list(db.session.scalars(sa.select(Notification).order_by(Notification.id)))


def planned(platform, starts_at: datetime, hours: int = 2) -> Event:
    return factories.event(platform_id=platform.id, starts_at=starts_at,
                           ends_at=starts_at + timedelta(hours=hours), location="百步亭社区会议室",
                           topic="加装电梯协商会")


def test_event_upcoming_72_and_24_hours_once_each(site):
    platform, coordinator, _staff = site
    event = planned(platform, NOW + timedelta(hours=70))
    assert reminders.sweep_event_upcoming(NOW) == 1
    assert reminders.sweep_event_upcoming(NOW + timedelta(minutes=5)) == 0  # same window
    assert reminders.sweep_event_upcoming(NOW + timedelta(hours=47)) == 1  # now 23 h ahead
    assert reminders.sweep_event_upcoming(NOW + timedelta(hours=48)) == 0
    messages = inbox(coordinator)
    assert [m.kind for m in messages] == ["event_upcoming", "event_upcoming"]
    first = messages[0]
    # Stands alone: what, when (Wuhan time), where, and a link.
    assert "加装电梯协商会" in first.subject and "2024-11-23 08:00" in first.subject
    assert "百步亭社区会议室" in first.body and platform.name in first.body
    assert "约70小时" in first.body and "约23小时" in messages[1].body
    assert first.link and first.link.startswith("http")
    assert len(all_notifications()) == 2  # nobody else was told
    assert event.id


def test_event_planned_at_short_notice_gets_only_the_nearest_reminder(site):
    platform, coordinator, _staff = site
    planned(platform, NOW + timedelta(hours=10))
    reminders.sweep_event_upcoming(NOW)
    assert [m.dedupe_key.rsplit(":", 1)[1] for m in inbox(coordinator)] == ["24"]


def test_rescheduled_event_is_reminded_afresh_and_cancelled_not_at_all(site):
    platform, coordinator, _staff = site
    event = planned(platform, NOW + timedelta(hours=20))
    cancelled = planned(platform, NOW + timedelta(hours=20))
    cancelled.status, cancelled.cancel_reason = EventStatus.CANCELLED, "场地冲突"
    db.session.commit()
    assert reminders.sweep_event_upcoming(NOW) == 1
    event.starts_at, event.ends_at = NOW + timedelta(hours=22), NOW + timedelta(hours=24)
    db.session.commit()
    assert reminders.sweep_event_upcoming(NOW) == 1
    assert len(inbox(coordinator)) == 2


def test_minutes_missing_after_2_and_7_days(site):
    platform, coordinator, _staff = site
    event = planned(platform, NOW - timedelta(days=3))  # ended 3 days ago, still planned
    assert reminders.sweep_minutes_missing(NOW) == 1
    assert reminders.sweep_minutes_missing(NOW + timedelta(days=1)) == 0
    assert reminders.sweep_minutes_missing(NOW + timedelta(days=5)) == 1
    subjects = [m.subject for m in inbox(coordinator)]
    assert len(subjects) == 2 and all("加装电梯协商会" in s for s in subjects)
    event.status, event.held_at, event.minutes = EventStatus.HELD, NOW, "纪要"
    db.session.commit()
    assert reminders.sweep_minutes_missing(NOW + timedelta(days=30)) == 0


def assigned_issue(platform, due_on: date):
    issue = factories.issue(platform_id=platform.id, now=NOW - timedelta(days=30))
    issue.department = db.session.scalar(sa.select(Department).where(
        Department.name == "市水务局")) or factories.department(name="市水务局")
    issue.department_id = issue.department.id
    change_status(issue, "assign", actor_id=None, department=issue.department,
                  due_on=date(2100, 1, 1))
    issue.due_on = due_on  # as if assigned earlier
    db.session.commit()
    return issue


def test_issue_due_soon_overdue_and_escalated(site):
    platform, coordinator, staff = site
    issue = assigned_issue(platform, TODAY + timedelta(days=3))
    assert reminders.sweep_issue_deadlines(NOW - timedelta(days=1)) == 0  # 4 days ahead
    assert reminders.sweep_issue_deadlines(NOW) == 1  # 3 days ahead: due soon
    assert reminders.sweep_issue_deadlines(NOW + timedelta(days=2)) == 0  # still the same fact
    assert reminders.sweep_issue_deadlines(NOW + timedelta(days=3)) == 0  # the due day itself
    assert reminders.sweep_issue_deadlines(NOW + timedelta(days=4)) == 1  # the day after
    assert reminders.sweep_issue_deadlines(NOW + timedelta(days=10)) == 0  # 7 days: not yet
    assert reminders.sweep_issue_deadlines(NOW + timedelta(days=11)) == 1  # escalated
    assert reminders.sweep_issue_deadlines(NOW + timedelta(days=40)) == 0
    assert [m.kind for m in inbox(coordinator)] == ["issue_due_soon", "issue_overdue"]
    escalated = inbox(staff)
    assert [m.kind for m in escalated] == ["issue_escalated"]
    assert issue.reference in escalated[0].subject and "市水务局" in escalated[0].body


def test_new_due_date_is_a_new_fact(site):
    platform, coordinator, _staff = site
    issue = assigned_issue(platform, TODAY - timedelta(days=1))
    reminders.sweep_issue_deadlines(NOW)
    issue.due_on = TODAY + timedelta(days=2)
    db.session.commit()
    reminders.sweep_issue_deadlines(NOW)
    assert [m.kind for m in inbox(coordinator)] == ["issue_overdue", "issue_due_soon"]


def test_a_sweep_with_nothing_new_writes_nothing_and_a_new_coordinator_still_hears(
        app, site):
    from tests.support.querycount import count_queries

    platform, coordinator, _staff = site
    for days in range(1, 6):
        assigned_issue(platform, TODAY - timedelta(days=days))
    assert reminders.sweep_issue_deadlines(NOW) == 5
    with count_queries(app) as sql:
        assert reminders.sweep_issue_deadlines(NOW) == 0
    assert not [s for s in sql if s.lstrip().upper().startswith("INSERT")], str(sql)
    assert len(sql) <= 5, str(sql)  # candidates, recipients, what is queued: not one per problem
    newcomer = factories.user("coordinator", platform_ids=[platform.id])
    db.session.commit()
    assert reminders.sweep_issue_deadlines(NOW) == 5  # the same facts, to the one who missed them
    assert len(inbox(newcomer)) == 5 and len(inbox(coordinator)) == 5


def test_resolved_issue_is_not_reminded(site):
    platform, coordinator, _staff = site
    issue = assigned_issue(platform, TODAY - timedelta(days=20))
    change_status(issue, "resolve", actor_id=None, resolution="已修复路灯。")
    db.session.commit()
    assert reminders.sweep_issue_deadlines(NOW) == 0


def test_inactive_platform_told_to_district_staff_in_a_monthly_digest(site):
    """More in test_digests.py: the list, the city's digest, the first sweep on a new site."""
    platform, coordinator, staff = site
    held_at = NOW - timedelta(days=400)  # the default threshold is a year
    factories.event(platform_id=platform.id, starts_at=held_at,
                    ends_at=held_at + timedelta(hours=2), status=EventStatus.HELD)
    db.session.commit()
    assert reminders.sweep_inactive_platforms(NOW) == 1
    assert reminders.sweep_inactive_platforms(NOW + timedelta(days=5)) == 0  # same month
    assert reminders.sweep_inactive_platforms(NOW + timedelta(days=15)) == 1  # December
    assert [m.kind for m in inbox(staff)] == ["inactive_digest"] * 2
    assert platform.name in inbox(staff)[0].body
    assert inbox(coordinator) == []
    recent = NOW + timedelta(days=16)
    factories.event(platform_id=platform.id, starts_at=recent,
                    ends_at=recent + timedelta(hours=2), status=EventStatus.HELD)
    db.session.commit()
    assert reminders.sweep_inactive_platforms(NOW + timedelta(days=50)) == 0


def test_messages_are_composed_in_each_recipients_language(site):
    from flask_babel import get_locale

    from consult_hub.notifications.operations import Message, notify

    platform, coordinator, staff = site
    coordinator.locale = "en"
    db.session.commit()
    notify([coordinator, staff], dedupe_key="hello", kind="test",
           compose=lambda user: Message(f"locale={get_locale()}", "body"))
    assert inbox(coordinator)[0].subject == "locale=en"
    assert inbox(staff)[0].subject == "locale=zh"


def test_inactive_user_gets_nothing(site):
    platform, coordinator, _staff = site
    coordinator.is_active = False
    db.session.commit()
    planned(platform, NOW + timedelta(hours=20))
    assert reminders.sweep_event_upcoming(NOW) == 0


def test_recipients_of_many_platforms_and_districts_are_looked_up_in_parts(site, monkeypatch):
    """A nation's sweep names 117,000 platforms: more than one statement may hold."""
    from consult_hub.notifications import recipients

    monkeypatch.setattr(recipients, "CHUNK", 1)
    platform, coordinator, staff = site
    other_district = factories.district()
    other = factories.platform(district_id=other_district.id)
    other_coordinator = factories.user("coordinator", platform_ids=[other.id])
    other_staff = factories.user("district_admin", district_id=other_district.id)
    db.session.commit()
    for place in (platform, other):
        assigned_issue(place, TODAY - timedelta(days=10))  # overdue and escalated
    assert reminders.sweep_issue_deadlines(NOW) == 4
    for person in (coordinator, other_coordinator):
        assert [m.kind for m in inbox(person)] == ["issue_overdue"]
    for person in (staff, other_staff):
        assert [m.kind for m in inbox(person)] == ["issue_escalated"]


def test_a_missed_planned_date_reaches_district_staff_once_per_stage(site):
    """Staff hear of a missed planned date the day after and again at escalation; a problem
    first seen past escalation (a first sweep) reaches them as the escalation alone."""
    platform, coordinator, staff = site
    issue = assigned_issue(platform, TODAY + timedelta(days=30))
    change_status(issue, "plan", actor_id=None, planned_on=date(2100, 1, 1), now=NOW)
    issue.planned_on = TODAY - timedelta(days=1)
    old = assigned_issue(platform, TODAY + timedelta(days=30))
    change_status(old, "plan", actor_id=None, planned_on=date(2100, 1, 1), now=NOW)
    old.planned_on = TODAY - timedelta(days=30)
    db.session.commit()
    reminders.sweep_issue_deadlines(NOW)
    reminders.sweep_issue_deadlines(NOW + timedelta(days=7))  # 8 days past: escalated
    by_issue = {}
    for message in inbox(staff):
        by_issue.setdefault(int(message.dedupe_key.split(":")[1]), []).append(message.kind)
    assert by_issue == {issue.id: ["issue_overdue", "issue_escalated"],
                        old.id: ["issue_escalated"]}
    assert sorted(m.kind for m in inbox(coordinator)) == ["issue_overdue", "issue_overdue"]
