"""Lifecycle actions through the problem's page: who may act, bad input, lost updates."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from consult_hub.auth.models import User
from consult_hub.auth.scopes import can_take_action
from consult_hub.extensions import db
from consult_hub.issues import lifecycle
from consult_hub.issues.models import Issue, IssueStatus, IssueUpdate
from consult_hub.models import AuditLog
from tests.support.auth import signed_in
from tests.support.issues import act, form_state, stored, today, walk
from tests.support.pages import page_text

S = IssueStatus


def test_staff_assign_with_department_and_due_date(app, client, auth, place, make):
    issue = make("issue", platform_id=place.platform_id)
    auth.login("wangli")
    due = today() + timedelta(days=10)
    answer = act(client, issue.id, "assign", department=place.department_id,
                 due_on=due.isoformat())
    assert answer.status_code == 303
    after = stored(app, issue.id)
    assert (after.status, after.department_id, after.due_on) == (S.ASSIGNED, place.department_id,
                                                                 due)
    page = client.get(f"/manage/issues/{issue.id}").text
    assert (f"已将问题 {after.reference} 交办给市水务局，办理期限为 {due.isoformat()}。" in page
            and "已受理 → 已交办" in page_text(page))
    with app.app_context():
        audit = db.session.scalars(sa.select(AuditLog).where(
            AuditLog.action == "issue_assign")).one()
        assert audit.actor.username == "wangli"
        assert audit.changes["status"] == ["received", "assigned"]
        assert audit.changes["department_id"] == [None, place.department_id]


@pytest.mark.parametrize(("data", "field", "message"), [
    ({"department": "", "due_on": "2099-01-01"}, "assign-department", "请填写承办单位"),
    ({"due_on": "2099-01-01"}, "assign-department", "请填写承办单位"),
    ({"department": "{dept}", "due_on": ""}, "assign-due_on", "请填写办理期限"),
    ({"department": "{dept}", "due_on": "2020-01-01"}, "assign-due_on", "办理期限不能早于今天"),
    ({"department": "{other}", "due_on": "2099-01-01"}, "assign-department",
     "请从列表中选择承办单位"),
    ({"department": "abc", "due_on": "2099-01-01"}, "assign-department", "选择无效"),
    ({"department": "{dept}", "due_on": "next week"}, "assign-due_on", ""),
])
def test_bad_assignment_names_the_field_and_changes_nothing(app, client, auth, place, make, data,
                                                          field, message):
    issue = make("issue", platform_id=place.platform_id)
    auth.login("wangli")
    data = {k: v.format(dept=place.department_id, other=place.other_department_id)
            for k, v in data.items()}
    answer = act(client, issue.id, "assign", **data)
    assert answer.status_code == 422
    error = re.search(rf'id="{field}-error">\s*<p>([^<]+)</p>', answer.text)
    assert error and message in error.group(1)
    assert re.search(r'<details class="issue-action issue-action-assign" id="act-assign" open>',
                     answer.text)
    after = stored(app, issue.id)
    assert (after.status, after.department_id, after.version) == (S.RECEIVED, None, 1)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(AuditLog.id)).where(
            AuditLog.action == "issue_assign")) == 0


def test_the_users_input_is_kept_after_an_error(client, auth, place, make):
    issue = make("issue", platform_id=place.platform_id)
    auth.login("wangli")
    answer = act(client, issue.id, "assign", department=place.department_id, due_on="")
    assert answer.status_code == 422
    assert f'<option selected value="{place.department_id}">' in answer.text


def test_forbidden_transition_gets_a_clear_message(app, client, auth, place, make):
    issue = make("issue", platform_id=place.platform_id)
    auth.login("wangli")
    answer = act(client, issue.id, "note", note="x")  # a valid form to borrow the version from
    assert answer.status_code == 303
    version = str(stored(app, issue.id).version)
    state = form_state(client, issue.id, "note")
    assert state["version"] == version
    # "start" is not offered for a received problem; posting it anyway:
    answer = client.post(f"/manage/issues/{issue.id}/act/start", data=state)
    assert answer.status_code == 422
    assert "“已受理”状态下不能开始办理" in answer.text
    assert stored(app, issue.id).status is S.RECEIVED
    assert client.post(f"/manage/issues/{issue.id}/act/fly", data=state).status_code == 404


def test_resolve_plan_constrain_reject_reopen_through_the_page(app, client, auth, place, make):
    ids = [make("issue", platform_id=place.platform_id).id for _ in range(3)]
    with app.app_context():
        for issue_id in ids:
            walk(issue_id, "assign", department_id=place.department_id)
    auth.login("wangli")
    planned_on = today() + timedelta(days=90)
    assert act(client, ids[0], "plan", planned_on=planned_on.isoformat(),
               resolution="列入明年计划").status_code == 303
    assert stored(app, ids[0]).planned_on == planned_on
    assert act(client, ids[0], "resolve", resolution="已**完成**改造").status_code == 303
    assert stored(app, ids[0]).status is S.RESOLVED
    assert act(client, ids[1], "constrain", resolution="涉及规划，一时难以解决").status_code == 303
    assert stored(app, ids[1]).status is S.CONSTRAINED
    assert act(client, ids[1], "reopen", reason="居民仍有意见").status_code == 303
    assert stored(app, ids[1]).status is S.RECEIVED
    reference = stored(app, ids[0]).reference
    assert act(client, ids[2], "reject", reason="与已有诉求重复",
               duplicate_of=reference.lower()).status_code == 303
    rejected = stored(app, ids[2])
    assert (rejected.status, rejected.duplicate_of_id) == (S.REJECTED, ids[0])
    page = client.get(f"/manage/issues/{ids[0]}").text
    assert "已<strong>完成</strong>改造" in page


def test_unknown_duplicate_reference_is_named(app, client, auth, place, make):
    issue = make("issue", platform_id=place.platform_id)
    elsewhere = make("issue", platform_id=place.other_platform_id)
    auth.login("wangli")
    for reference in ("WH00-99999", stored(app, elsewhere.id).reference):  # out of scope too
        answer = act(client, issue.id, "reject", reason="重复", duplicate_of=reference)
        assert answer.status_code == 422
        assert f"找不到编号为 {reference} 的问题" in answer.text
    assert stored(app, issue.id).status is S.RECEIVED


def test_note_can_be_internal(app, client, auth, place, make):
    issue = make("issue", platform_id=place.platform_id)
    auth.login("zhanghui")
    assert act(client, issue.id, "note", note="电话联系了居民").status_code == 303  # box unticked
    assert act(client, issue.id, "note", note="已约谈物业", is_public="y").status_code == 303
    with app.app_context():
        notes = db.session.execute(sa.select(IssueUpdate.note, IssueUpdate.is_public).where(
            IssueUpdate.action == "note").order_by(IssueUpdate.id)).all()
    assert notes == [("电话联系了居民", False), ("已约谈物业", True)]
    answer = act(client, issue.id, "note", note="   ")
    assert answer.status_code == 422 and "请填写进展说明" in answer.text


def test_coordinator_records_progress_but_does_not_assign(app, client, auth, place, make):
    issue = make("issue", platform_id=place.platform_id)
    auth.login("zhanghui")
    state = form_state(client, issue.id, "note")
    answer = client.post(f"/manage/issues/{issue.id}/act/assign",
                         data={**state, "department": place.department_id,
                               "due_on": (today() + timedelta(days=5)).isoformat()})
    assert answer.status_code == 403
    assert stored(app, issue.id).status is S.RECEIVED
    with app.app_context():
        denied = db.session.scalars(sa.select(AuditLog).where(
            AuditLog.action == "access_denied")).all()
        assert any(f"issue:{issue.id}:assign" in str(row.changes) for row in denied)


def test_coordinator_settles_an_unassigned_problem_but_not_an_assigned_one(app, client, auth,
                                                                         place, make):
    quick, assigned = (make("issue", platform_id=place.platform_id).id for _ in range(2))
    with app.app_context():
        walk(assigned, "assign", department_id=place.department_id)
    auth.login("zhanghui")
    assert act(client, quick, "resolve", resolution="社区当场协调解决").status_code == 303
    assert stored(app, quick).status is S.RESOLVED
    state = form_state(client, assigned, "note")
    answer = client.post(f"/manage/issues/{assigned}/act/resolve",
                         data={**state, "resolution": "已解决"})
    assert answer.status_code == 403
    assert stored(app, assigned).status is S.ASSIGNED


def test_page_offers_exactly_the_allowed_actions_of_the_table(app, client, auth, place, make):
    issue = make("issue", platform_id=place.platform_id)
    with app.app_context():
        walk(issue.id, "assign", "start", department_id=place.department_id)
        staff = db.session.scalar(sa.select(User).where(User.username == "wangli"))
        found = db.session.get(Issue, issue.id)
        expected = [t.action for t in lifecycle.allowed_actions(found)
                    if can_take_action(staff, found, t.action)]
    # The department's own word (答复, 申请延期, 退回) is not staff's to give.
    assert {"reply", "request_extension", "return"}.isdisjoint(expected)
    auth.login("wangli")
    html = client.get(f"/manage/issues/{issue.id}").text
    assert re.findall(r'action="/manage/issues/\d+/act/(\w+)"', html) == expected


# --- Lost updates -----------------------------------------------------------------------------


def test_second_action_on_a_stale_page_is_refused_with_who_did_what(app, place, make):
    issue = make("issue", platform_id=place.platform_id)
    wang, liu = signed_in(app, "wangli"), signed_in(app, "liumin")
    wang_page = form_state(wang, issue.id, "assign")
    liu_page = form_state(liu, issue.id, "resolve")
    assert wang.post(f"/manage/issues/{issue.id}/act/assign", data={
        **wang_page, "department": place.department_id,
        "due_on": (today() + timedelta(days=7)).isoformat()}).status_code == 303
    answer = liu.post(f"/manage/issues/{issue.id}/act/resolve",
                      data={**liu_page, "resolution": "刘敏的办理结果"})
    assert answer.status_code == 409
    assert "此问题已被王丽交办给市水务局" in answer.text
    assert "刘敏的办理结果" in answer.text  # her input is still in the form
    after = stored(app, issue.id)
    assert (after.status, after.resolution) == (S.ASSIGNED, None)
    # The refreshed form carries the new version: resubmitting on purpose works.
    version = re.search(r'act/resolve".*?name="version"[^>]*value="(\d+)"', answer.text, re.S)
    assert version and version.group(1) == str(after.version)
    again = liu.post(f"/manage/issues/{issue.id}/act/resolve",
                     data={**form_state(liu, issue.id, "resolve"), "resolution": "刘敏的办理结果"})
    assert again.status_code == 303
    assert stored(app, issue.id).status is S.RESOLVED


def test_a_text_edit_also_makes_an_action_stale(app, place, make):
    issue = make("issue", platform_id=place.platform_id)
    zhang, wang = signed_in(app, "zhanghui"), signed_in(app, "wangli")
    wang_page = form_state(wang, issue.id, "reject")
    edit = zhang.get(f"/manage/issues/{issue.id}/edit").text
    fields = dict(re.findall(r'name="(version|original|csrf_token)"[^>]*value="([^"]*)"', edit))
    fields["original"] = fields["original"].replace("&#34;", '"')
    assert zhang.post(f"/manage/issues/{issue.id}/edit", data={
        **fields, "title": "改过的标题", "description": "描述", "kind": "doorstep",
        "category": "society"}).status_code == 303
    answer = wang.post(f"/manage/issues/{issue.id}/act/reject",
                       data={**wang_page, "reason": "不属于受理范围"})
    assert answer.status_code == 409
    assert "张慧修改了此问题的内容" in answer.text
    assert stored(app, issue.id).status is S.RECEIVED


def test_a_race_at_commit_is_a_conflict_not_an_error(app, client, auth, place, make,
                                                    monkeypatch):
    """Two requests pass the version check together; the later commit must not overwrite."""
    from consult_hub.issues import views

    issue = make("issue", platform_id=place.platform_id)
    auth.login("wangli")
    real = views.change_status

    def change_after_someone_else(target, action, **kwargs):
        db.session.execute(sa.text("UPDATE issues SET version = version + 1 WHERE id = :id"),
                           {"id": target.id})
        return real(target, action, **kwargs)

    monkeypatch.setattr(views, "change_status", change_after_someone_else)
    answer = act(client, issue.id, "note", note="并发写入")
    assert answer.status_code == 409
    assert "您的操作没有执行" in answer.text
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(IssueUpdate.id)).where(
            IssueUpdate.action == "note")) == 0
