"""What a department's contact (承办单位联系人) meets outside its problems: the platform and
event pages refuse it (403, not an empty list), its API tokens work for its own problems, and
its notes through the API stay internal unless it says otherwise."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from consult_hub.extensions import db
from consult_hub.issues.models import IssueUpdate
from consult_hub.issues.operations import change_status
from tests.support import factories
from tests.support.api import bearer, token_for
from tests.support.auth import csrf_token, signed_in
from tests.support.issues import today


@pytest.fixture()
def department_world(app):
    """A platform with an event, a department with a contact, a problem assigned to it."""
    with app.app_context():
        district = factories.district()
        platform = factories.platform(district_id=district.id, name="乙社区协商议事室")
        event = factories.event(platform_id=platform.id, topic="乙社区的协商活动")
        department = factories.department(district_id=district.id, name="丙局")
        contact = factories.department_user(department.id, username="dept_c")
        staff = factories.user("district_admin", district_id=district.id, username="office")
        issue = factories.issue(platform_id=platform.id, title="丙局的问题")
        change_status(issue, "assign", actor_id=None, department=department,
                      due_on=today() + timedelta(days=7))
        tokens = {"contact": token_for(contact), "staff": token_for(staff)}
        db.session.commit()
        return {"platform": platform.id, "event": event.id, "issue": issue.id,
                "reference": issue.reference, "tokens": tokens}


def test_platform_and_event_pages_refuse_a_department(app, department_world):
    contact = signed_in(app, "dept_c")
    platform, event = department_world["platform"], department_world["event"]
    for path in ("/manage/platforms/", f"/manage/platforms/{platform}",
                 f"/manage/platforms/{platform}/people", "/manage/events/",
                 "/manage/events/new", f"/manage/events/new?platform={platform}",
                 f"/manage/events/{event}", f"/manage/events/{event}/edit",
                 f"/manage/events/{event}/cancel", f"/manage/events/{event}/conclude"):
        answer = contact.get(path)
        assert answer.status_code == 403, (path, answer.status_code)
        assert "乙社区" not in answer.text, path
    # The district's staff still have them.
    office = signed_in(app, "office")
    assert "乙社区的协商活动" in office.get("/manage/events/").text
    assert "乙社区协商议事室" in office.get("/manage/platforms/").text


def test_a_department_makes_a_token_and_answers_through_the_api(app, client,
                                                                 department_world):
    contact = signed_in(app, "dept_c")
    assert contact.get("/manage/tokens/").status_code == 200
    assert 'href="/manage/tokens/"' in contact.get("/account/").text
    created = contact.post("/manage/tokens/", data={
        "name": "丙局办件系统", "csrf_token": csrf_token(contact, "/manage/tokens/")})
    assert created.status_code == 201
    token = created.text.split('readonly autocomplete="off" spellcheck="false" '
                               'aria-describedby="token-help">')[1].split("<")[0].strip()
    answer = client.post(f"/api/v1/issues/{department_world['reference']}/actions/acknowledge",
                         json={}, headers=bearer(token))
    assert answer.status_code == 200, answer.json
    assert answer.json["status"] == "acknowledged"
    # Everything else is refused: the token carries the contact's rights and no more.
    planned = client.post("/api/v1/events", headers=bearer(token), json={
        "platform_id": department_world["platform"], "topic": "不该有的活动",
        "category": "society", "starts_at": "2030-01-01T09:00:00+08:00",
        "ends_at": "2030-01-01T11:00:00+08:00", "location": "社区", "format": "onsite"})
    assert planned.status_code == 403


def _last_note(app, issue_id: int) -> IssueUpdate:
    with app.app_context():
        return db.session.scalars(
            sa.select(IssueUpdate).where(IssueUpdate.issue_id == issue_id,
                                         IssueUpdate.action == "note")
            .order_by(IssueUpdate.id.desc())).first()


def _tracking_text(app, client, issue_id: int) -> str:
    from consult_hub.issues.models import Issue

    with app.app_context():
        token = db.session.get(Issue, issue_id).tracking_token
    return client.get(f"/track/{token}").text


def test_a_departments_api_note_is_internal_unless_it_says_public(app, client,
                                                                   department_world):
    issue, reference = department_world["issue"], department_world["reference"]
    path = f"/api/v1/issues/{reference}/actions/note"
    contact = bearer(department_world["tokens"]["contact"])

    answer = client.post(path, json={"note": "已派人到现场查看灯杆"}, headers=contact)
    assert answer.status_code == 200, answer.json
    assert _last_note(app, issue).is_public is False
    assert "已派人到现场查看灯杆" not in _tracking_text(app, client, issue)

    answer = client.post(path, json={"note": "灯具已订购，下周更换", "is_public": True},
                         headers=contact)
    assert answer.status_code == 200, answer.json
    assert _last_note(app, issue).is_public is True
    assert "灯具已订购，下周更换" in _tracking_text(app, client, issue)

    # Staff's notes keep their default: public unless said otherwise.
    answer = client.post(path, json={"note": "已督促承办单位"},
                         headers=bearer(department_world["tokens"]["staff"]))
    assert answer.status_code == 200, answer.json
    assert _last_note(app, issue).is_public is True
