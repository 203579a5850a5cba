"""Editing a problem's text, with no lost updates; and who may take which action."""

from __future__ import annotations

import html as htmllib
import re

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from consult_hub.auth.scopes import can_take_action
from consult_hub.extensions import db
from consult_hub.issues import lifecycle
from consult_hub.issues.models import Issue, IssueKind
from consult_hub.models import AuditLog, User
from tests.support import factories
from tests.support.auth import signed_in
from tests.support.issues import stored, walk
from tests.support.pages import page_text


def edit_form(client: FlaskClient, issue_id: int) -> dict[str, str]:
    page = client.get(f"/manage/issues/{issue_id}/edit")
    assert page.status_code == 200
    fields = dict(re.findall(r'name="(version|original|csrf_token)"[^>]*value="([^"]*)"',
                             page.text))
    return {name: htmllib.unescape(value) for name, value in fields.items()}


def text(**overrides: str) -> dict[str, str]:
    data = {"title": "小区停车难", "description": "晚上车位不足，车辆占用消防通道。",
            "kind": "doorstep", "category": "society"}
    data.update(overrides)
    return data


def test_edit_changes_the_text_and_audits_it(app, client, auth, place, make):
    issue = make("issue", platform_id=place.platform_id)
    auth.login("zhanghui")
    answer = client.post(f"/manage/issues/{issue.id}/edit",
                         data={**edit_form(client, issue.id), **text(title="夜间停车难",
                                                                     kind="urgent")})
    assert answer.status_code == 303
    after = stored(app, issue.id)
    assert (after.title, after.kind) == ("夜间停车难", IssueKind.URGENT)
    with app.app_context():
        audit = db.session.scalars(sa.select(AuditLog).where(
            AuditLog.action == "issue_edit")).one()
        assert audit.changes == {"kind": ["doorstep", "urgent"],
                                 "title": ["小区停车难", "夜间停车难"]}
        assert audit.actor.username == "zhanghui"


@pytest.mark.parametrize(("overrides", "field", "message"), [
    ({"title": ""}, "title", "请填写标题"),
    ({"title": "长" * 201}, "title", "标题不超过 200 个字符"),
    ({"description": " "}, "description", "请填写问题描述"),
    ({"category": "sports"}, "category", "无效的取值"),
])
def test_bad_edit_names_the_field_and_stores_nothing(app, client, auth, place, make, overrides,
                                                     field, message):
    issue = make("issue", platform_id=place.platform_id)
    auth.login("wangli")
    answer = client.post(f"/manage/issues/{issue.id}/edit",
                         data={**edit_form(client, issue.id), **text(**overrides)})
    assert answer.status_code == 422
    error = re.search(rf'id="{field}-error">\s*<p>([^<]+)</p>', answer.text)
    assert error and message in error.group(1)
    after = stored(app, issue.id)
    assert (after.title, after.version) == ("小区停车难", 1)


def test_two_editors_second_gets_409_with_the_first_ones_change(app, place, make):
    issue = make("issue", platform_id=place.platform_id)
    zhang, wang = signed_in(app, "zhanghui"), signed_in(app, "wangli")
    zhang_form, wang_form = edit_form(zhang, issue.id), edit_form(wang, issue.id)
    assert zhang.post(f"/manage/issues/{issue.id}/edit",
                      data={**zhang_form, **text(title="张慧改的标题")}).status_code == 303
    answer = wang.post(f"/manage/issues/{issue.id}/edit",
                       data={**wang_form, **text(description="王丽补充的描述", kind="governance")})
    assert answer.status_code == 409
    shown = page_text(answer.text)
    assert "保存失败：这条记录已被他人修改" in shown and "张慧 于" in shown
    assert "标题 小区停车难 张慧改的标题" in shown
    assert "王丽补充的描述" in answer.text  # her input is kept
    after = stored(app, issue.id)
    assert (after.title, after.description) == ("张慧改的标题", "晚上车位不足，车辆占用消防通道。")
    # Saving again on purpose (the form now carries the new version) goes through.
    again = {name: htmllib.unescape(value) for name, value in re.findall(
        r'name="(version|original|csrf_token)"[^>]*value="([^"]*)"', answer.text)}
    assert wang.post(f"/manage/issues/{issue.id}/edit",
                     data={**again, **text(title="张慧改的标题", description="王丽补充的描述",
                                           kind="governance")}).status_code == 303
    final = stored(app, issue.id)
    assert (final.title, final.description, final.kind) == (
        "张慧改的标题", "王丽补充的描述", IssueKind.GOVERNANCE)


def test_other_coordinator_cannot_edit(client, auth, place, make):
    issue = make("issue", platform_id=place.platform_id)
    auth.login("lisi")
    assert client.get(f"/manage/issues/{issue.id}/edit").status_code == 403


# --- can_take_action --------------------------------------------------------------------------


STAFF_ONLY = {"assign", "start", "plan", "constrain", "reopen",
              # reviewing submissions and deciding on what departments did
              "accept", "confirm", "rework", "approve_extension", "refuse_extension"}
# The department's own word: nobody here speaks for it (tests/issues/test_departments.py).
DEPARTMENT_ONLY = {"acknowledge", "reply", "request_extension", "return"}


@pytest.mark.parametrize("action", [*lifecycle.TRANSITIONS, "edit", "rate"])
def test_who_may_take_each_action(ctx, action):
    district, other = factories.district(), factories.district()
    platform = factories.platform(district_id=district.id)
    issue = factories.issue(platform_id=platform.id)
    people = {
        "admin": factories.user("admin"),
        "staff": factories.user("district_admin", district_id=district.id),
        "other_staff": factories.user("district_admin", district_id=other.id),
        "coordinator": factories.user("coordinator", platform_ids=[platform.id]),
        "stranger": factories.user("coordinator",
                                   platform_ids=[factories.platform(district_id=district.id).id]),
        "inactive_staff": factories.user("district_admin", district_id=district.id,
                                         is_active=False),
    }
    db.session.commit()
    allowed = {name for name, user in people.items() if can_take_action(user, issue, action)}
    coordinator = set() if action in STAFF_ONLY | DEPARTMENT_ONLY else {"coordinator"}
    staff = set() if action in DEPARTMENT_ONLY else {"admin", "staff"}
    assert allowed == staff | coordinator


def test_coordinator_settles_only_before_assignment(ctx):
    platform = factories.platform()
    issue = factories.issue(platform_id=platform.id)
    coordinator: User = factories.user("coordinator", platform_ids=[platform.id])
    department = factories.department()
    db.session.commit()
    assert can_take_action(coordinator, issue, "resolve")
    assert can_take_action(coordinator, issue, "reject")
    walk(issue.id, "assign", department_id=department.id)
    issue = db.session.get(Issue, issue.id)
    assert not can_take_action(coordinator, issue, "resolve")
    assert not can_take_action(coordinator, issue, "reject")
    assert can_take_action(coordinator, issue, "note")
