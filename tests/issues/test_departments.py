"""Departments in the loop, through the pages: review, 交办, the department's acts, staff decide.

Everything here goes through the web forms as a browser sends them (CSRF token, the page's
version); tests/issues/test_lifecycle.py covers the transition table itself.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from consult_hub.auth.scopes import (
    DEPARTMENT_HELD_STATUSES,
    DEPARTMENT_ISSUE_ACTIONS,
    can_see_contact,
    can_take_action,
    can_view_issue,
)
from consult_hub.extensions import db
from consult_hub.issues import lifecycle
from consult_hub.issues.models import DEPARTMENT_STATUSES, Issue, IssueStatus, IssueUpdate
from consult_hub.issues.operations import change_status
from consult_hub.models import AuditLog, Department, User
from tests.support import factories
from tests.support.auth import signed_in
from tests.support.issues import act, form_state, stored, today
from tests.support.pages import field_errors, page_text

S = IssueStatus
PHONE = "13912345678"
WORDS = "我是张秀英，电话13912345678，住3栋2单元，楼下路灯坏了一个月，晚上看不见路。"


@pytest.fixture()
def desk(app, place, make):
    """Contacts of the city department the place assigns to (市水务局) and of another one."""
    with app.app_context():
        other = factories.department(district_id=place.district_id, name="江岸区园林局")
        factories.department_user(place.department_id, username="shuiwu", name="赵强")
        factories.department_user(place.department_id, username="shuiwu2", name="钱伟")
        factories.department_user(other.id, username="yuanlin", name="孙丽")
        db.session.commit()
        return other.id


def submitted(place, make, **values):
    """A resident's web submission, waiting for review."""
    return make("issue", platform_id=place.platform_id, source="resident", needs_review=True,
                title="路灯坏了 电话13912345678", description=WORDS, submitter_name="张秀英",
                submitter_phone=PHONE, **values)


def assigned(app, place, **values):
    """A published problem assigned to 市水务局, with the resident's phone."""
    with app.app_context():
        issue = factories.issue(platform_id=place.platform_id, title="东门路灯不亮",
                                submitter_phone=PHONE, **values)
        change_status(issue, "assign", actor_id=None,
                      department=db.session.get(Department, place.department_id),
                      due_on=today() + timedelta(days=10))
        db.session.commit()
        return issue.id


# --- the whole loop -----------------------------------------------------------------------------


def test_review_assign_acknowledge_reply_rework_reply_confirm(app, place, make, desk):
    issue = submitted(place, make)
    staff, department = signed_in(app, "wangli"), signed_in(app, "shuiwu")

    # Review: the resident's words with the personal data marked, beside the public text.
    page = staff.get(f"/manage/issues/{issue.id}").text
    assert "待受理：居民提交的内容尚未公开" in page
    assert re.search(r'<mark class="issue-pii issue-pii-phone">13912345678'
                     r'<span class="issue-pii-label">（电话号码）</span></mark>', page)
    assert '<mark class="issue-pii issue-pii-name">张秀英' in page
    assert '<mark class="issue-pii issue-pii-door">3栋' in page
    # The accept form starts from the resident's words, for staff to edit.
    accept = page.split(f'action="/manage/issues/{issue.id}/act/accept"')[1].split("</form>")[0]
    assert "路灯坏了 电话13912345678" in accept and "晚上看不见路" in accept

    # A phone number left in the public text: refused on the field, nothing published.
    answer = act(staff, issue.id, "accept", title="东门路灯不亮",
                 description="居民反映路灯坏了，联系电话 139 1234 5678。")
    assert answer.status_code == 422
    assert "公开内容中含有电话号码" in field_errors(answer.text, "accept-description")
    assert not field_errors(answer.text, "accept-title")
    kept = stored(app, issue.id)
    assert (kept.status, kept.published_at) == (S.PENDING, None)

    answer = act(staff, issue.id, "accept", title="东门路灯不亮",
                 description="小区东门的路灯坏了一个月，夜间出行不便。")
    assert answer.status_code == 303
    flashed = staff.get(answer.headers["Location"]).text
    assert f"已受理问题 {kept.reference}，公开标题和摘要已发布。" in flashed
    published = stored(app, issue.id)
    assert published.status is S.RECEIVED and published.published_at is not None
    assert published.submitted_text == WORDS  # the resident's own words are kept, privately

    assert act(staff, issue.id, "assign", department=place.department_id,
               due_on=(today() + timedelta(days=10)).isoformat()).status_code == 303

    # The department: acknowledges (one press), then answers with an outcome.
    assert act(department, issue.id, "acknowledge").status_code == 303
    assert stored(app, issue.id).acknowledged_at is not None
    answer = act(department, issue.id, "reply", reply="已更换灯泡。",
                 proposed_status="resolved")
    assert answer.status_code == 303
    assert stored(app, issue.id).status is S.REPLIED

    # Staff read the reply beside the confirm and rework forms; it is not public yet.
    page = staff.get(f"/manage/issues/{issue.id}").text
    assert "承办单位的答复" in page and "已更换灯泡。" in page and "确认前不公开" in page
    assert stored(app, issue.id).resolution is None
    answer = act(staff, issue.id, "rework", reason="请说明其他两盏灯的情况")
    assert answer.status_code == 303
    back = stored(app, issue.id)
    assert (back.status, back.rework_reason) == (S.IN_PROGRESS, "请说明其他两盏灯的情况")

    # The department sees why, on its dashboard and on the page; its reply starts from the last.
    assert "请说明其他两盏灯的情况" in department.get("/dashboard").text
    page = department.get(f"/manage/issues/{issue.id}").text
    assert "区政协退回重办" in page
    reply_form = page.split(f'action="/manage/issues/{issue.id}/act/reply"')[1]
    assert "已更换灯泡。" in reply_form.split("</form>")[0]
    assert act(department, issue.id, "reply", reply="三盏路灯均已修复，已试亮。",
               proposed_status="resolved").status_code == 303

    answer = act(staff, issue.id, "confirm", resolution="三盏路灯均已修复。")
    assert answer.status_code == 303
    done = stored(app, issue.id)
    assert (done.status, done.resolution) == (S.RESOLVED, "三盏路灯均已修复。")
    assert done.rework_reason is None and done.proposed_status is None
    confirmed = staff.get(answer.headers["Location"]).text
    assert f"已确认问题 {done.reference} 的答复：已解决或采纳。" in confirmed
    with app.app_context():
        actions = list(db.session.scalars(sa.select(AuditLog.action).where(
            AuditLog.entity_id == issue.id, AuditLog.entity_type == "issues")
            .order_by(AuditLog.id)))
    assert actions == ["issue_create", "issue_accept", "issue_assign", "issue_acknowledge",
                       "issue_reply", "issue_rework", "issue_reply", "issue_confirm"]


def test_confirm_without_an_edit_publishes_the_reply_and_takes_the_planned_date(app, place,
                                                                                  desk):
    issue_id = assigned(app, place)
    department, staff = signed_in(app, "shuiwu"), signed_in(app, "wangli")
    planned = today() + timedelta(days=120)
    answer = act(department, issue_id, "reply", reply="列入明年道路改造计划。",
                 proposed_status="planned", planned_on=planned.isoformat())
    assert answer.status_code == 303
    assert act(staff, issue_id, "confirm", resolution="").status_code == 303
    done = stored(app, issue_id)
    assert (done.status, done.planned_on, done.resolution) == (
        S.PLANNED, planned, "列入明年道路改造计划。")


# --- what a department may and may not do -----------------------------------------------------


def test_department_cannot_confirm_its_own_reply_nor_take_staff_actions(app, place, desk):
    issue_id = assigned(app, place)
    department = signed_in(app, "shuiwu")
    assert act(department, issue_id, "reply", reply="已修复。",
               proposed_status="resolved").status_code == 303
    page = department.get(f"/manage/issues/{issue_id}").text
    assert "/act/confirm" not in page and "/act/rework" not in page
    assert "区政协确认后，答复作为办理结果向居民公开" in page
    state = form_state(department, issue_id, "note")
    for action, data in (("confirm", {}), ("rework", {"reason": "x"}),
                         ("assign", {"department": place.department_id,
                                     "due_on": (today() + timedelta(days=9)).isoformat()}),
                         ("resolve", {"resolution": "x"}), ("reject", {"reason": "x"})):
        answer = department.post(f"/manage/issues/{issue_id}/act/{action}",
                                 data={**state, **data})
        assert answer.status_code == 403, action
    assert stored(app, issue_id).status is S.REPLIED
    for path in (f"/manage/issues/{issue_id}/edit", "/manage/issues/new"):
        assert department.get(path).status_code == 403


def test_the_page_offers_a_department_exactly_its_actions(app, place, desk):
    issue_id = assigned(app, place)
    department = signed_in(app, "shuiwu")
    html = department.get(f"/manage/issues/{issue_id}").text
    offered = set(re.findall(r'action="/manage/issues/\d+/act/(\w+)"', html))
    assert offered == {"acknowledge", "start", "reply", "request_extension", "return", "note"}
    assert offered == DEPARTMENT_ISSUE_ACTIONS == lifecycle.DEPARTMENT_ACTIONS
    assert "请先签收" in html


def test_refused_department_actions_name_the_field_and_change_nothing(app, place, desk):
    issue_id = assigned(app, place)
    department = signed_in(app, "shuiwu")
    due = stored(app, issue_id).due_on
    cases = [
        ("reply", {"reply": "已处理。"}, "reply-proposed_status", "请填写建议办理结果"),
        ("reply", {"reply": "", "proposed_status": "resolved"}, "reply-reply", "请填写答复内容"),
        ("reply", {"reply": "列入计划。", "proposed_status": "planned"}, "reply-planned_on",
         "列入计划的，请填写计划完成日期"),
        ("request_extension", {"requested_due_on": due.isoformat(), "reason": "忙"},
         "request_extension-requested_due_on", "申请的期限须晚于现在的办理期限"),
        ("request_extension", {"requested_due_on": (due + timedelta(days=9)).isoformat()},
         "request_extension-reason", "请填写理由"),
        ("return", {"reason": " "}, "return-reason", "请填写理由"),
    ]
    for action, data, field, message in cases:
        answer = act(department, issue_id, action, **data)
        assert answer.status_code == 422, (action, data)
        assert message in field_errors(answer.text, field), (action, field)
    after = stored(app, issue_id)
    assert (after.status, after.version, after.requested_due_on) == (S.ASSIGNED, 2, None)


def test_a_stale_department_page_gets_409_and_keeps_the_input(app, place, desk):
    issue_id = assigned(app, place)
    zhao, qian = signed_in(app, "shuiwu"), signed_in(app, "shuiwu2")
    zhao_page = form_state(zhao, issue_id, "reply")
    assert act(qian, issue_id, "acknowledge").status_code == 303
    answer = zhao.post(f"/manage/issues/{issue_id}/act/reply",
                       data={**zhao_page, "reply": "赵强写的答复", "proposed_status": "resolved"})
    assert answer.status_code == 409
    assert "此问题已被钱伟签收" in page_text(answer.text)
    assert "赵强写的答复" in answer.text
    after = stored(app, issue_id)
    assert (after.status, after.reply) == (S.ACKNOWLEDGED, None)


def test_department_notes_are_internal_unless_ticked(app, place, desk):
    issue_id = assigned(app, place)
    department = signed_in(app, "shuiwu")
    note_form = department.get(f"/manage/issues/{issue_id}").text.split(
        f'action="/manage/issues/{issue_id}/act/note"')[1].split("</form>")[0]
    assert re.search(r'<input[^>]*name="is_public"[^>]*>', note_form)
    assert "checked" not in re.search(r'<input[^>]*name="is_public"[^>]*>', note_form).group(0)
    assert act(department, issue_id, "note", note="已派人勘察").status_code == 303
    with app.app_context():
        note = db.session.scalars(sa.select(IssueUpdate).where(
            IssueUpdate.issue_id == issue_id, IssueUpdate.action == "note")).one()
        assert (note.is_public, note.actor.username) == (False, "shuiwu")


def test_returning_a_problem_sends_it_back_to_staff_with_who_and_why(app, place, desk):
    issue_id = assigned(app, place)
    department, staff = signed_in(app, "shuiwu"), signed_in(app, "wangli")
    answer = act(department, issue_id, "return", reason="路灯归区园林局管理")
    assert answer.status_code == 303 and answer.headers["Location"] == "/dashboard"
    assert "由区政协重新交办" in department.get("/dashboard").text
    # Not theirs any more: the page and the phone are gone for them.
    assert department.get(f"/manage/issues/{issue_id}").status_code == 403
    back = stored(app, issue_id)
    assert (back.status, back.department_id, back.due_on) == (S.RECEIVED, None, None)
    assert back.returned_at is not None
    page = page_text(staff.get(f"/manage/issues/{issue_id}").text)
    assert "承办单位退回 · 赵强" in page and "理由：路灯归区园林局管理" in page
    listed = staff.get("/manage/issues/?waiting=returned").text
    assert "东门路灯不亮" in listed and "只看承办单位退回、等待重新交办的问题" in listed
    # Assigned again, the callout goes.
    assert act(staff, issue_id, "assign", department=place.department_id,
               due_on=(today() + timedelta(days=5)).isoformat()).status_code == 303
    assert stored(app, issue_id).returned_at is None


def test_extension_request_approved_and_refused(app, place, desk):
    first, second = assigned(app, place), assigned(app, place)
    department, staff = signed_in(app, "shuiwu"), signed_in(app, "wangli")
    later = today() + timedelta(days=45)
    for issue_id in (first, second):
        answer = act(department, issue_id, "request_extension",
                     requested_due_on=later.isoformat(), reason="需要采购灯具")
        assert answer.status_code == 303
    assert "等待区政协决定" in department.get(f"/manage/issues/{first}").text
    assert "/act/request_extension" not in department.get(f"/manage/issues/{first}").text
    page = page_text(staff.get(f"/manage/issues/{first}").text)
    assert "延期申请" in page and "需要采购灯具" in page
    listed = staff.get("/manage/issues/?waiting=extension").text
    assert listed.count('class="issue-title"') == 2
    assert act(staff, first, "approve_extension").status_code == 303
    assert (stored(app, first).due_on, stored(app, first).requested_due_on) == (later, None)
    old_due = stored(app, second).due_on
    answer = act(staff, second, "refuse_extension", reason="")
    assert answer.status_code == 422
    assert "请填写理由" in field_errors(answer.text, "refuse_extension-reason")
    assert act(staff, second, "refuse_extension", reason="期限内可以办结").status_code == 303
    assert (stored(app, second).due_on, stored(app, second).requested_due_on) == (old_due, None)


def test_assign_form_arrives_prefilled_from_the_routing_rules(app, client, auth, place, make):
    from consult_hub.departments import routing

    with app.app_context():
        routing.create_rule(district_id=place.district_id, keyword="路灯",
                            department_id=place.department_id, due_days=12)
        db.session.commit()
    issue = make("issue", platform_id=place.platform_id, title="东门路灯不亮")
    auth.login("wangli")
    page = client.get(f"/manage/issues/{issue.id}").text
    form = page.split(f'action="/manage/issues/{issue.id}/act/assign"')[1].split("</form>")[0]
    assert f'<option selected value="{place.department_id}">' in form
    assert (today() + timedelta(days=12)).isoformat() in form
    assert "已按交办规则预填承办单位和办理期限（12 天）" in form


# --- reviewing is staff's -----------------------------------------------------------------------


def test_a_coordinator_sees_a_submission_but_does_not_review_it(app, client, auth, place, make):
    issue = submitted(place, make)
    auth.login("zhanghui")
    page = client.get(f"/manage/issues/{issue.id}").text
    assert "待受理" in page and "受理和公开由区政协工作人员负责" in page
    assert "/act/accept" not in page and "/act/reject" not in page
    state = form_state(client, issue.id, "note")
    answer = client.post(f"/manage/issues/{issue.id}/act/accept",
                         data={**state, "title": "路灯", "description": "路灯坏了"})
    assert answer.status_code == 403
    assert stored(app, issue.id).status is S.PENDING


def test_a_rejected_submission_is_never_published(app, place, make):
    issue = submitted(place, make)
    staff = signed_in(app, "wangli")
    assert act(staff, issue.id, "reject", reason="不属于受理范围").status_code == 303
    after = stored(app, issue.id)
    assert (after.status, after.published_at) == (S.REJECTED, None)


def test_an_edit_may_not_put_a_phone_number_into_published_text(app, client, auth, place, make):
    issue = make("issue", platform_id=place.platform_id)
    auth.login("wangli")
    edit = client.get(f"/manage/issues/{issue.id}/edit").text
    fields = dict(re.findall(r'name="(version|original|csrf_token)"[^>]*value="([^"]*)"', edit))
    fields["original"] = fields["original"].replace("&#34;", '"')
    answer = client.post(f"/manage/issues/{issue.id}/edit", data={
        **fields, "title": "停车难", "description": "请联系 13912345678", "kind": "doorstep",
        "category": "society"})
    assert answer.status_code == 422
    assert "公开内容中含有电话号码" in answer.text
    assert stored(app, issue.id).description == "晚上车位不足，车辆占用消防通道。"


# --- who sees what --------------------------------------------------------------------------------


def test_department_sees_the_phone_only_while_it_holds_the_problem(app, place, desk):
    issue_id = assigned(app, place)
    department = signed_in(app, "shuiwu")
    assert PHONE in department.get(f"/manage/issues/{issue_id}").text
    with app.app_context():
        change_status(db.session.get(Issue, issue_id), "resolve", actor_id=None,
                      resolution="已修复。")
        db.session.commit()
    page = department.get(f"/manage/issues/{issue_id}").text
    assert "东门路灯不亮" in page and PHONE not in page  # its history, without the phone


def test_department_list_holds_its_problems_only(app, place, make, desk):
    ours = assigned(app, place)
    make("issue", platform_id=place.platform_id, title="没有交办的问题")
    submitted(place, make)
    department = signed_in(app, "shuiwu")
    html = department.get("/manage/issues/").text
    assert "东门路灯不亮" in html
    assert "没有交办的问题" not in html and "路灯坏了" not in html
    chips = dict(re.findall(r'>(\S+) <span class="issue-chip-count">(\d+)</span>', html))
    assert chips["全部"] == "1" and "待受理" not in chips
    other = signed_in(app, "yuanlin")
    assert "东门路灯不亮" not in other.get("/manage/issues/").text
    assert other.get(f"/manage/issues/{ours}").status_code == 403


def test_scope_rules_for_departments(ctx):
    district = factories.district()
    platform = factories.platform(district_id=district.id)
    mine, theirs = factories.department(district_id=district.id), factories.department()
    contact = factories.department_user(mine.id)
    stranger = factories.department_user(theirs.id)
    gone = factories.department_user(mine.id, is_active=False)
    issue = factories.issue(platform_id=platform.id)
    change_status(issue, "assign", actor_id=None, department=mine,
                  due_on=today() + timedelta(days=3))
    db.session.commit()
    assert {s.value for s in DEPARTMENT_STATUSES} == DEPARTMENT_HELD_STATUSES
    assert can_view_issue(contact, issue) and can_see_contact(contact, issue)
    assert not can_view_issue(stranger, issue) and not can_view_issue(gone, issue)
    allowed = {a for a in (*lifecycle.TRANSITIONS, "edit", "rate")
               if can_take_action(contact, issue, a)}
    assert allowed == {"acknowledge", "start", "reply", "request_extension", "return", "note"}
    assert not any(can_take_action(stranger, issue, a) for a in lifecycle.TRANSITIONS)
    assert not any(can_take_action(gone, issue, a) for a in lifecycle.TRANSITIONS)
    user = db.session.get(User, contact.id)
    assert user.department.id == mine.id
