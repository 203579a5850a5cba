"""Due-soon and overdue reminders reach the contacts of the department a problem is assigned to,
in the inbox and by email, once per fact; driven with a fixed clock."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from consult_hub.extensions import db
from consult_hub.issues.models import IssueStatus
from consult_hub.issues.operations import change_status
from consult_hub.notifications import reminders
from consult_hub.notifications.models import EmailStatus, Notification
from tests.support import factories

NOW = datetime(2024, 11, 20, 2, 0, tzinfo=UTC)  # 10:00 in Wuhan
TODAY = date(2024, 11, 20)


@pytest.fixture()
def desk(ctx):
    """A platform with its coordinator; two departments with contacts (one inactive)."""
    district = factories.district()
    platform = factories.platform(district_id=district.id)
    coordinator = factories.user("coordinator", platform_ids=[platform.id])
    water = factories.department(name="市水务局")
    parks = factories.department(district_id=district.id, name="区园林局")
    contact = factories.department_user(water.id, email="zhao@example.cn")
    factories.department_user(water.id, is_active=False)  # never told
    other = factories.department_user(parks.id)
    db.session.commit()
    return platform, coordinator, water, parks, contact, other


def inbox(user) -> list[Notification]:
    return list(db.session.scalars(sa.select(Notification).where(
        Notification.user_id == user.id).order_by(Notification.id)))


def assigned(platform, department, due_on: date, *then: str):
    """A problem assigned to ``department`` a month ago, due on ``due_on``."""
    issue = factories.issue(platform_id=platform.id, now=NOW - timedelta(days=30))
    change_status(issue, "assign", actor_id=None, department=department, due_on=date(2100, 1, 1),
                  now=NOW - timedelta(days=30))
    for action in then:
        change_status(issue, action, actor_id=None, now=NOW - timedelta(days=29))
    issue.due_on = due_on  # as if assigned earlier
    db.session.commit()
    return issue


def test_department_hears_due_soon_then_overdue_once_each(app, desk, monkeypatch):
    monkeypatch.setitem(app.config, "MAIL_SERVER", "smtp.example.cn")
    platform, coordinator, water, _parks, contact, other = desk
    issue = assigned(platform, water, TODAY + timedelta(days=3), "acknowledge")
    assert issue.status is IssueStatus.ACKNOWLEDGED  # acknowledged still counts as due
    assert reminders.sweep_issue_deadlines(NOW - timedelta(days=1)) == 0
    assert reminders.sweep_issue_deadlines(NOW) == 2  # the coordinator and the contact
    assert reminders.sweep_issue_deadlines(NOW + timedelta(hours=5)) == 0
    assert reminders.sweep_issue_deadlines(NOW + timedelta(days=4)) == 2  # overdue
    assert reminders.sweep_issue_deadlines(NOW + timedelta(days=4, hours=1)) == 0
    messages = inbox(contact)
    assert [m.kind for m in messages] == ["issue_due_soon", "issue_overdue"]
    assert [m.dedupe_key for m in messages] == [
        f"department_due_soon:{issue.id}:{water.id}:due:{TODAY + timedelta(days=3)}",
        f"department_overdue:{issue.id}:{water.id}:due:{TODAY + timedelta(days=3)}"]
    assert issue.reference in messages[0].subject and "市水务局" in messages[0].body
    assert messages[0].link and messages[0].link.endswith(f"/manage/issues/{issue.id}")
    assert all(m.email_status is EmailStatus.PENDING for m in messages)  # by email too
    # The coordinator's own reminders are unchanged; other departments hear nothing.
    assert [m.dedupe_key.split(":")[0] for m in inbox(coordinator)] == [
        "issue_due_soon", "issue_overdue"]
    assert inbox(other) == []


def test_a_problem_reassigned_is_news_to_the_new_department(desk):
    platform, _coordinator, water, parks, contact, other = desk
    issue = assigned(platform, water, TODAY - timedelta(days=2))
    reminders.sweep_issue_deadlines(NOW)
    assert [m.kind for m in inbox(contact)] == ["issue_overdue"]
    change_status(issue, "assign", actor_id=None, department=parks,
                  due_on=date(2100, 1, 1), now=NOW - timedelta(days=3))
    issue.due_on = TODAY - timedelta(days=2)  # the same date, another department
    db.session.commit()
    reminders.sweep_issue_deadlines(NOW + timedelta(hours=1))
    assert [m.kind for m in inbox(other)] == ["issue_overdue"]
    assert len(inbox(contact)) == 1


def test_replied_and_returned_problems_are_not_the_departments_to_chase(desk):
    platform, _coordinator, water, _parks, contact, _other = desk
    replied = assigned(platform, water, TODAY - timedelta(days=1))
    change_status(replied, "reply", actor_id=None, reply="已修复。", proposed_status="resolved",
                  now=NOW - timedelta(days=1))
    returned = assigned(platform, water, TODAY - timedelta(days=1))
    change_status(returned, "return", actor_id=None, reason="不是本单位的", now=NOW)
    db.session.commit()
    reminders.sweep_issue_deadlines(NOW)
    assert inbox(contact) == []


def test_a_planned_date_passed_reaches_the_department_too(desk):
    platform, coordinator, water, _parks, contact, _other = desk
    issue = assigned(platform, water, TODAY + timedelta(days=30))
    change_status(issue, "plan", actor_id=None, planned_on=date(2100, 1, 1), now=NOW)
    issue.planned_on = TODAY - timedelta(days=1)
    db.session.commit()
    reminders.sweep_issue_deadlines(NOW)
    assert [m.dedupe_key for m in inbox(contact)] == [
        f"department_overdue:{issue.id}:{water.id}:planned:{TODAY - timedelta(days=1)}"]
