"""API writes: bearer tokens only, the forms' role rules and validation, audited, JSON errors."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from consult_hub.core.db import utcnow
from consult_hub.extensions import db
from consult_hub.models import Event, EventStatus, Issue, IssueStatus, User
from tests.support.api import ApiWorld, bearer
from tests.support.auth import TEST_PASSWORD
from tests.support.records import audit_rows, load

# The API world (tests/support/world.py), built once for the module and rolled back after each
# test (tests/api/conftest.py): nothing is committed, `rolled_back`.
pytestmark = [pytest.mark.world("api", freeze=False), pytest.mark.rolled_back]


def later(**delta: int) -> str:
    return (utcnow() + timedelta(**delta)).isoformat()


def plan_body(world: ApiWorld, **extra: object) -> dict[str, object]:
    return {"platform_id": world.platform_id, "topic": "加装电梯协商", "category": "society",
            "starts_at": later(days=5), "ends_at": later(days=5, hours=2), **extra}


def count(app, model, *where) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def user_id(app, world: ApiWorld, role: str) -> int:
    from consult_hub.auth.models import ApiToken
    from consult_hub.auth.tokens import hash_token

    with app.app_context():
        return db.session.scalar(sa.select(ApiToken.user_id).where(
            ApiToken.token_hash == hash_token(world.tokens[role])))


# --- Who may write --------------------------------------------------------------------------


@pytest.mark.parametrize("header", [None, "Bearer", "Basic dXNlcjpwYXNz", "Bearer ch_wrong",
                                    "Bearer nonsense-without-prefix"])
def test_writes_without_a_valid_token_are_401(app, client, world, header):
    headers = {"Authorization": header} if header else {}
    response = client.post("/api/v1/events", json=plan_body(world), headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.json["error"]["code"] == "unauthorized"
    assert count(app, Event) == 11  # nothing stored


def test_a_revoked_token_or_deactivated_user_is_401(app, client, world):
    from consult_hub.auth.models import ApiToken
    from consult_hub.auth.tokens import hash_token

    with app.app_context():
        row = db.session.scalar(sa.select(ApiToken).where(
            ApiToken.token_hash == hash_token(world.tokens["admin"])))
        row.revoked_at = utcnow()
        db.session.get(User, user_id(app, world, "coordinator")).is_active = False
        db.session.commit()
    for role in ("admin", "coordinator"):
        response = client.post("/api/v1/events", json=plan_body(world),
                               headers=bearer(world.tokens[role]))
        assert response.status_code == 401
        assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_a_signed_in_session_is_not_accepted_as_authentication(app, client, auth, world):
    with app.app_context():
        username = db.session.get(User, user_id(app, world, "admin")).username
    assert auth.login(username, TEST_PASSWORD).status_code == 302
    response = client.post("/api/v1/events", json=plan_body(world))
    assert response.status_code == 401
    assert count(app, Event) == 11


def test_a_coordinator_may_not_write_to_another_platform(app, client, world):
    token = world.tokens["other_coordinator"]
    response = client.post("/api/v1/events", json=plan_body(world), headers=bearer(token))
    assert response.status_code == 403
    assert response.json["error"]["code"] == "forbidden"
    denied = audit_rows(app, "access_denied")
    assert [row.actor_id for row in denied] == [user_id(app, world, "other_coordinator")]
    assert denied[0].changes["target"] == f"platform:{world.platform_id}"
    action = client.post(f"/api/v1/issues/{world.issue_refs['received']}/actions/note",
                         json={"note": "我来跟进"}, headers=bearer(token))
    assert action.status_code == 403
    assert count(app, Event) == 11
    assert len(audit_rows(app, "access_denied")) == 2


def test_coordinators_record_progress_but_district_staff_assign(app, client, world):
    ref = world.issue_refs["received"]
    body = {"department_id": world.department_id, "due_on": str(date.today() + timedelta(days=9))}
    refused = client.post(f"/api/v1/issues/{ref}/actions/assign", json=body,
                          headers=bearer(world.tokens["coordinator"]))
    assert refused.status_code == 403
    done = client.post(f"/api/v1/issues/{ref}/actions/assign", json=body,
                       headers=bearer(world.tokens["district_admin"]))
    assert done.status_code == 200, done.text
    assert done.json["status"] == "assigned" and done.json["department"]["name"] == "市测试局"
    row = audit_rows(app, "issue_assign")[-1]
    assert row.actor_id == user_id(app, world, "district_admin")
    assert row.changes["status"] == ["received", "assigned"]


# --- Events ---------------------------------------------------------------------------------


def test_plan_an_event(app, client, world):
    response = client.post("/api/v1/events", json=plan_body(world, location=None),
                           headers=bearer(world.tokens["coordinator"]))
    assert response.status_code == 201, response.text
    created = response.json
    assert response.headers["Location"] == created["url"]
    assert created["status"] == "planned" and created["location"].startswith("测试路")
    assert client.get(created["url"]).json["topic"] == "加装电梯协商"
    [row] = audit_rows(app, "event_create")
    assert row.entity_id == created["id"]
    assert row.actor_id == user_id(app, world, "coordinator")


def test_plan_refuses_a_suspended_platform_naming_the_field(app, client, world):
    response = client.post("/api/v1/events",
                           json=plan_body(world, platform_id=world.suspended_platform_id),
                           headers=bearer(world.tokens["admin"]))
    assert response.status_code == 422
    assert "platform_id" in response.json["error"]["fields"]


def test_record_an_event_held_with_problems_raised(app, client, world):
    event_id = world.past_planned_event_ids[0]
    body = {"minutes": "议定分摊方案", "attendee_ids": world.member_ids[:2], "resident_count": 9,
            "problems": [{"title": "楼道堆物", "description": "影响通行", "kind": "doorstep",
                          "category": "society"}]}
    response = client.post(f"/api/v1/events/{event_id}/record", json=body,
                           headers=bearer(world.tokens["coordinator"]))
    assert response.status_code == 200, response.text
    assert response.json["event"]["status"] == "held"
    assert response.json["event"]["resident_count"] == 9
    [raised] = response.json["issues"]
    assert raised["title"] == "楼道堆物"
    detail = client.get(f"/api/v1/events/{event_id}").json
    assert sorted(m["id"] for m in detail["attendees"]) == sorted(world.member_ids[:2])
    assert len(audit_rows(app, "event_record")) == 1
    # The minutes' HTML is stored with them, as from the web form (core/prose.py).
    assert load(app, Event, event_id).minutes_html == "<p>议定分摊方案</p>"
    again = client.post(f"/api/v1/events/{event_id}/record", json=body,
                        headers=bearer(world.tokens["coordinator"]))
    assert again.status_code == 409  # already held
    assert again.json["error"]["code"] == "conflict"


def test_record_names_the_problem_row_and_stores_nothing(app, client, world):
    event_id = world.past_planned_event_ids[0]
    body = {"minutes": "纪要", "attendee_ids": [999999],
            "problems": [{"title": "", "description": "x", "kind": "doorstep",
                          "category": "society"}]}
    response = client.post(f"/api/v1/events/{event_id}/record", json=body,
                           headers=bearer(world.tokens["admin"]))
    assert response.status_code == 422
    assert set(response.json["error"]["fields"]) == {"attendee_ids", "problems[0].title"}
    with app.app_context():
        assert db.session.get(Event, event_id).status is EventStatus.PLANNED


def test_conclude_and_cancel(app, client, world):
    token = bearer(world.tokens["district_admin"])
    held = world.held_event_ids[0]
    concluded = client.post(f"/api/v1/events/{held}/conclude", json={"outcome": "已落实"},
                            headers=token)
    assert concluded.status_code == 200 and concluded.json["status"] == "concluded"
    planned = world.planned_event_ids[0]
    missing = client.post(f"/api/v1/events/{planned}/cancel", json={"reason": "  "},
                          headers=token)
    assert missing.status_code == 422 and list(missing.json["error"]["fields"]) == ["reason"]
    cancelled = client.post(f"/api/v1/events/{planned}/cancel", json={"reason": "暴雨"},
                            headers=token)
    assert cancelled.status_code == 200 and cancelled.json["cancel_reason"] == "暴雨"
    assert len(audit_rows(app, "event_conclude")) == len(audit_rows(app, "event_cancel")) == 1


def test_update_with_a_stale_version_is_409_and_changes_nothing(app, client, world):
    event_id = world.planned_event_ids[0]
    token = bearer(world.tokens["admin"])
    current = client.get(f"/api/v1/events/{event_id}").json
    moved = client.patch(f"/api/v1/events/{event_id}",
                         json={"location": "新会场", "version": current["version"]}, headers=token)
    assert moved.status_code == 200 and moved.json["location"] == "新会场"
    assert moved.json["version"] == current["version"] + 1
    stale = client.patch(f"/api/v1/events/{event_id}",
                         json={"topic": "旧页面上的修改", "version": current["version"]},
                         headers=token)
    assert stale.status_code == 409 and "version" in stale.json["error"]["fields"]
    assert client.get(f"/api/v1/events/{event_id}").json["topic"] == current["topic"]
    with app.app_context():
        assert db.session.get(Event, event_id).sequence == 1  # a new place is a reschedule


# --- Problems -------------------------------------------------------------------------------


def test_raise_a_problem_keeping_the_submitter_private(app, client, world):
    body = {"platform_id": world.platform_id, "title": "井盖松动", "description": "有人绊倒",
            "kind": "urgent", "category": "society", "submitter_name": "李某某",
            "submitter_phone": "138 0000 1234"}
    response = client.post("/api/v1/issues", json=body, headers=bearer(world.tokens["coordinator"]))
    assert response.status_code == 201, response.text
    reference = response.json["reference"]
    assert response.headers["Location"].endswith(f"/api/v1/issues/{reference}")
    assert "李某某" not in response.text and "13800001234" not in response.text
    with app.app_context():
        stored = db.session.scalar(sa.select(Issue).where(Issue.reference == reference))
        assert (stored.submitter_name, stored.submitter_phone) == ("李某某", "13800001234")
        assert stored.source.value == "liaison_point"
    assert [row.entity_id for row in audit_rows(app, "issue_create")][-1] == stored.id


def test_lifecycle_rules_apply(app, client, world):
    token = bearer(world.tokens["admin"])
    resolved = world.issue_refs["resolved"]
    wrong_state = client.post(f"/api/v1/issues/{resolved}/actions/start", json={}, headers=token)
    assert wrong_state.status_code == 409 and "action" in wrong_state.json["error"]["fields"]
    received = world.issue_refs["received"]
    missing = client.post(f"/api/v1/issues/{received}/actions/resolve", json={}, headers=token)
    assert missing.status_code == 422 and list(missing.json["error"]["fields"]) == ["resolution"]
    past = client.post(f"/api/v1/issues/{received}/actions/assign",
                       json={"department_id": world.department_id, "due_on": "2020-01-01"},
                       headers=token)
    assert past.status_code == 422 and "due_on" in past.json["error"]["fields"]
    unknown = client.post(f"/api/v1/issues/{received}/actions/teleport", json={}, headers=token)
    assert unknown.status_code == 404
    duplicate = client.post(f"/api/v1/issues/{received}/actions/reject",
                            json={"reason": "重复", "duplicate_of": world.issue_refs["noted"]},
                            headers=token)
    assert duplicate.status_code == 200, duplicate.text
    assert duplicate.json["duplicate_of"] == world.issue_refs["noted"]
    with app.app_context():
        issue = db.session.scalar(sa.select(Issue).where(Issue.reference == received))
        assert issue.status is IssueStatus.REJECTED


def test_a_private_note_is_stored_but_not_published(app, client, world):
    ref = world.issue_refs["assigned"]
    notes_before = len(audit_rows(app, "issue_note"))
    response = client.post(f"/api/v1/issues/{ref}/actions/note",
                           json={"note": "电话回访：张阿姨", "is_public": False},
                           headers=bearer(world.tokens["coordinator"]))
    assert response.status_code == 200
    assert "张阿姨" not in client.get(f"/api/v1/issues/{ref}").text
    assert len(audit_rows(app, "issue_note")) == notes_before + 1


# --- Validation -----------------------------------------------------------------------------


@pytest.mark.parametrize(("change", "field"), [
    ({"colour": "red"}, "colour"),
    ({"topic": 42}, "topic"),
    ({"topic": "长" * 201}, "topic"),
    ({"topic": "a\x00b"}, "topic"),
    ({"category": "sports"}, "category"),
    ({"platform_id": "1"}, "platform_id"),
    ({"platform_id": True}, "platform_id"),
    ({"platform_id": 2**40}, "platform_id"),
    ({"starts_at": "2030-01-01T09:00:00"}, "starts_at"),
    ({"starts_at": "tomorrow"}, "starts_at"),
    ({"starts_at": "9999-12-31T23:59:59-23:59"}, "starts_at"),
    ({"is_past": "yes"}, "is_past"),
    ({"topic": None}, "topic"),
])
def test_bad_fields_are_422_naming_them(app, client, world, change, field):
    response = client.post("/api/v1/events", json={**plan_body(world), **change},
                           headers=bearer(world.tokens["admin"]))
    assert response.status_code == 422
    assert response.json["error"]["code"] == "validation_failed"
    assert field in response.json["error"]["fields"]
    assert count(app, Event) == 11


def test_missing_fields_are_named(client, world):
    response = client.post("/api/v1/issues", json={"platform_id": world.platform_id},
                           headers=bearer(world.tokens["admin"]))
    assert response.status_code == 422
    assert set(response.json["error"]["fields"]) == {"title", "description", "kind", "category"}


@pytest.mark.parametrize(("data", "content_type", "status"), [
    ("{not json", "application/json", 400),
    ("[1, 2]", "application/json", 400),
    ('{"topic": NaN}', "application/json", 400),
    ("[" * 100000 + "]" * 100000, "application/json", 400),
    ("topic=x", "application/x-www-form-urlencoded", 415),
])
def test_malformed_bodies(client, world, data, content_type, status):
    response = client.post("/api/v1/events", data=data, content_type=content_type,
                           headers=bearer(world.tokens["admin"]))
    assert response.status_code == status
    assert response.mimetype == "application/json"
    assert set(response.json["error"]) == {"code", "message", "fields"}


def test_writes_are_rate_limited_per_token(app, client, world, monkeypatch):
    monkeypatch.setitem(app.config, "API_WRITE_RATE_LIMIT", "2 per minute")
    statuses = [client.post("/api/v1/events", json={},
                            headers=bearer(world.tokens["admin"])).status_code for _ in range(3)]
    other = client.post("/api/v1/events", json={}, headers=bearer(world.tokens["coordinator"]))
    assert statuses == [422, 422, 429]
    assert other.status_code == 422  # another token has its own allowance


def test_last_use_is_noted(app, client, world):
    from consult_hub.auth.models import ApiToken
    from consult_hub.auth.tokens import hash_token

    client.post("/api/v1/events", json={}, headers=bearer(world.tokens["admin"]))
    with app.app_context():
        row = db.session.scalar(sa.select(ApiToken).where(
            ApiToken.token_hash == hash_token(world.tokens["admin"])))
        assert row.last_used_at is not None


def test_accepting_a_relayed_submission_chooses_its_platform_and_classification(
        app, client, world):
    """A hotline's submission comes with an address only: the answer before the review shows
    no platform, kind or category (nulls the document lists), and accepting sets them."""
    from consult_hub.issues.operations import create_issue

    with app.test_request_context():
        relayed = create_issue(platform=None, title="路口积水", description="下雨后路口积水很深",
                               source="resident", needs_review=True,
                               reported_address="解放大道 1 号附近")
        db.session.commit()
        reference = relayed.reference
    url = f"/api/v1/issues/{reference}/actions"
    noted = client.post(f"{url}/note", json={"note": "已核实地址", "is_public": False},
                        headers=bearer(world.tokens["admin"]))
    assert noted.status_code == 200
    assert (noted.json["platform"], noted.json["kind"], noted.json["category"]) == (None,) * 3
    body = {"title": "路口积水", "description": "雨后路口积水，影响通行。", "kind": "doorstep",
            "category": "society", "address": "解放大道"}
    unknown = client.post(f"{url}/accept", json={**body, "platform_id": 999999},
                          headers=bearer(world.tokens["admin"]))
    assert unknown.status_code == 422 and "platform_id" in unknown.json["error"]["fields"]
    missing = client.post(f"{url}/accept", json=body, headers=bearer(world.tokens["admin"]))
    assert missing.status_code == 422 and "platform_id" in missing.json["error"]["fields"]
    accepted = client.post(f"{url}/accept", json={**body, "platform_id": world.platform_id},
                           headers=bearer(world.tokens["admin"]))
    assert accepted.status_code == 200, accepted.json
    assert accepted.json["platform"]["id"] == world.platform_id
    assert (accepted.json["kind"], accepted.json["category"]) == ("doorstep", "society")
    assert client.get(f"/api/v1/issues/{reference}").json["status"] == "received"
