"""A refused form says so at the top of the page: one error summary, before the form, that
takes the focus and links each mistake to its field; what the user typed is still there.

Problem actions (交办, a department's reply…) are the reason: their forms sit far down the
problem's page, and on a phone the message by the field was a screen and a half away.
"""

from __future__ import annotations

import html as markup
import re
from collections.abc import Iterator
from datetime import timedelta
from io import BytesIO
from typing import Any

import pytest
from flask import Flask

from consult_hub.core.db import utcnow
from consult_hub.extensions import db
from consult_hub.issues.operations import change_status
from consult_hub.models import Department, EventStatus, Issue
from tests.support.auth import TEST_PASSWORD, csrf_token, signed_in
from tests.support.events import coordinator_of, plan_data
from tests.support.issues import act, form_state, today
from tests.support.pages import input_value, page_text, post
from tests.support.public import closed_issue, submit

PAST = "2020-01-01"


def summary(page: str, *, before: str, says: tuple[str, ...] = ()) -> list[str]:
    """The page's one error summary: focused on load, before ``before`` (the refused form),
    saying ``says``, each link leading to an element of the page. Returns the links' targets."""
    found = re.findall(r'<div class="error-summary"[^>]*>.*?</ul>\s*</div>', page, re.S)
    assert len(found) == 1, f"{len(found)} error summaries"
    opening = re.match(r"<div[^>]*>", found[0]).group(0)
    assert 'tabindex="-1"' in opening and " autofocus" in opening and 'role="alert"' in opening
    assert before in page and page.index(found[0]) < page.index(before), \
        "the summary comes after the form"
    text = page_text(markup.unescape(found[0]))
    for expected in says:
        assert expected in text, f"{expected!r} not in the summary: {text}"
    targets = re.findall(r'href="#([^"]+)"', found[0])
    ids = set(re.findall(r'\sid="([^"]+)"', page))
    assert set(targets) <= ids, f"links to no element: {set(targets) - ids}"
    return targets


# --- problem actions ----------------------------------------------------------------------------


@pytest.fixture()
def problem(app: Flask, make: Any) -> dict[str, Any]:
    """A received problem in 江岸区, its district admin, a department and its contact."""
    district = make("district", name="江岸区")
    platform = make("platform", district_id=district.id)
    department = make("department", name="市水务局")
    make("user", role="district_admin", district_id=district.id, username="wangli", name="王丽")
    make("department_user", department_id=department.id, username="shuiwu", name="赵强")
    issue = make("issue", platform_id=platform.id, title="东门路灯不亮")
    return {"issue": issue.id, "department": department.id, "platform": platform.id,
            "district": district.id}


def assign(app: Flask, issue_id: int, department_id: int) -> None:
    with app.app_context():
        change_status(db.session.get(Issue, issue_id), "assign", actor_id=None,
                      department=db.session.get(Department, department_id),
                      due_on=today() + timedelta(days=10))
        db.session.commit()


def test_assigning_with_a_past_due_date_is_reported_at_the_top(app, client, auth, problem):
    auth.login("wangli")
    answer = act(client, problem["issue"], "assign", department=problem["department"],
                 due_on=PAST)
    assert answer.status_code == 422
    page = answer.text
    targets = summary(page, before='id="act-assign"',
                      says=("交办没有成功：有 1 处需要修改", "办理期限不能早于今天"))
    assert targets == ["assign-due_on"]
    # The form is open, with what was chosen and typed.
    assert re.search(r'<details class="issue-action issue-action-assign" id="act-assign" open>',
                     page)
    assert f'<option selected value="{problem["department"]}">' in page
    assert input_value(page, "due_on") == PAST


def test_a_department_reply_without_text_is_reported_and_keeps_the_choice(app, problem):
    assign(app, problem["issue"], problem["department"])
    department = signed_in(app, "shuiwu")
    planned = (today() + timedelta(days=60)).isoformat()
    answer = act(department, problem["issue"], "reply", reply="  ", proposed_status="planned",
                 planned_on=planned)
    assert answer.status_code == 422
    page = answer.text
    assert summary(page, before='id="act-reply"', says=("答复没有成功",)) == ["reply-reply"]
    assert re.search(r'<input checked[^>]*id="reply-proposed_status-\d"[^>]*value="planned"',
                     page)
    assert input_value(page, "planned_on") == planned


def test_a_reply_without_an_outcome_links_to_the_choices(app, problem):
    assign(app, problem["issue"], problem["department"])
    department = signed_in(app, "shuiwu")
    answer = act(department, problem["issue"], "reply", reply="已安排维修。")
    assert answer.status_code == 422
    assert summary(answer.text, before='id="act-reply"') == ["reply-proposed_status"]
    assert "已安排维修。</textarea>" in answer.text


def test_an_action_no_longer_offered_names_the_action(app, client, auth, problem):
    auth.login("wangli")
    state = form_state(client, problem["issue"], "note")
    answer = client.post(f"/manage/issues/{problem['issue']}/act/start", data=state)
    assert answer.status_code == 422
    page = answer.text
    start = page.index('<h1>')
    summary(page[start:], before='id="act-assign"',
            says=("开始办理没有成功", "“已受理”状态下不能开始办理"))


def test_a_stale_page_is_a_focused_conflict_not_a_summary(app, client, auth, problem):
    auth.login("wangli")
    state = form_state(client, problem["issue"], "note")
    assert client.post(f"/manage/issues/{problem['issue']}/act/note",
                       data={**state, "note": "已约谈物业。"}).status_code == 303
    answer = client.post(f"/manage/issues/{problem['issue']}/act/note",
                         data={**state, "note": "第二次记录"})
    assert answer.status_code == 409
    assert re.search(r'<div class="conflict" role="alert" tabindex="-1" autofocus>', answer.text)
    assert "error-summary" not in answer.text
    assert "第二次记录</textarea>" in answer.text


def test_staff_rating_without_a_choice_is_reported(app, client, auth, problem):
    with app.app_context():
        change_status(db.session.get(Issue, problem["issue"]), "resolve", actor_id=None,
                      resolution="已修复。")
        db.session.commit()
    auth.login("wangli")
    path = f"/manage/issues/{problem['issue']}"
    page = client.get(path).text
    form = page.split(f'action="{path}/satisfaction"')[1].split("</form>")[0]
    hidden = dict(re.findall(r'<input[^>]*name="(version|seen)"[^>]*value="([^"]*)"', form))
    answer = client.post(f"{path}/satisfaction", data={
        **hidden, "csrf_token": csrf_token(client, path), "note": "电话回访"})
    assert answer.status_code == 422
    assert summary(answer.text, before='id="rate"', says=("评价没有成功",)) == [
        "rate-satisfaction"]
    assert "电话回访</textarea>" in answer.text


def test_raising_a_problem_without_a_title(app, client, auth, problem, make):
    coordinator = coordinator_of(make, problem["platform"])
    auth.login(coordinator.username)
    path = f"/manage/issues/new?platform={problem['platform']}"
    answer = post(client, path, {"platform_id": problem["platform"], "title": "",
                                 "description": "晚上车位不足。", "kind": "doorstep",
                                 "category": "society", "source": "resident"})
    assert answer.status_code == 422
    assert "title" in summary(answer.text, before='class="issue-form"')
    assert "晚上车位不足。</textarea>" in answer.text


# --- staff forms --------------------------------------------------------------------------------


def test_event_plan_ending_before_it_starts(app, make):
    platform = make("platform")
    client = signed_in(app, coordinator_of(make, platform.id).username)
    start = utcnow() + timedelta(days=2)
    data = plan_data(start)
    answer = post(client, f"/manage/events/new?platform={platform.id}",
                  {**data, "ends_at": data["starts_at"]})
    assert answer.status_code == 422
    assert summary(answer.text, before='class="event-form"',
                   says=("有 1 处需要修改，尚未保存", "结束时间")) == ["ends_at"]
    assert input_value(answer.text, "topic") == "社区停车位规划"


def test_platform_edit_with_a_latitude_off_the_globe(app, client, auth, make):
    district = make("district")
    community = make("community", district_id=district.id)
    platform = make("platform", district_id=district.id, area_id=community.id)
    auth.login(make("user", role="admin").username)
    path = f"/manage/platforms/{platform.id}/edit"
    form = client.get(path).text
    answer = post(client, path, {
        "code": platform.code, "name": "百步亭协商议事室", "kind": "consult_room",
        "district_id": district.id, "area_id": community.id, "address": "花园路1号",
        "latitude": "200", "longitude": "114.3", "established_on": "2023-05-01",
        "version": input_value(form, "version"), "original": input_value(form, "original")})
    assert answer.status_code == 422
    assert summary(answer.text, before='class="platform-form"') == ["latitude"]
    assert input_value(answer.text, "name") == "百步亭协商议事室"


def test_creating_a_user_without_a_name_and_with_a_mistyped_password(app, client, auth, make):
    platform = make("platform")
    auth.login(make("user", role="admin").username)
    answer = post(client, "/manage/users/new", {
        "username": "zhaoqiang", "name": "", "email": "", "role": "coordinator",
        "district": "", "password": TEST_PASSWORD, "confirm": TEST_PASSWORD + "x",
        "platforms": str(platform.id), "save": "1"})
    assert answer.status_code == 422
    targets = summary(answer.text, before='class="form-card"',
                      says=("有 2 处需要修改，尚未保存",))
    assert set(targets) == {"name", "confirm"}
    assert input_value(answer.text, "username") == "zhaoqiang"
    assert f'id="platform-{platform.id}" checked' in answer.text


def test_sign_in_with_a_wrong_password(client, make):
    make("user", username="wangli")
    path = "/login"
    answer = client.post(path, data={"csrf_token": csrf_token(client, path),
                                     "username": "wangli", "password": "wrong"})
    assert summary(answer.text, before=f'action="{path}',
                   says=("登录没有成功", "用户名或密码不正确")) == ["password"]
    assert input_value(answer.text, "username") == "wangli"


# --- residents ----------------------------------------------------------------------------------


def test_public_submission_without_a_title_or_consent(app, client, make):
    platform = make("platform")
    answer = submit(client, platform.id, title="", consent="")
    assert answer.status_code == 422
    targets = summary(answer.text, before='class="pub-card-form"',
                      says=("提交没有成功：有 2 处需要修改",))
    assert targets == ["title", "consent"]
    assert "东门两盏路灯不亮已有一周，晚上出行不便。</textarea>" in answer.text


# --- every other form: its refusal summed up at the top, the links leading somewhere -------------


@pytest.fixture()
def office(app: Flask, make: Any) -> Iterator[dict[str, Any]]:
    district = make("district", name="江岸区")
    platform = make("platform", district_id=district.id)
    admin = make("user", role="admin", username="liumin")
    make("user", role="district_admin", district_id=district.id, username="wangli")
    yield {"district": district, "platform": platform, "admin": admin}


@pytest.mark.parametrize(("path", "data", "user", "before"), [
    ("/manage/areas/new", {"level": "district", "code": "", "name": ""}, "liumin", "form-card"),
    ("/manage/departments/new", {"name": "", "code": "", "district": ""}, "liumin",
     "form-card"),
    ("/manage/members/new", {"name": "", "sector": "", "level": "district"}, "liumin",
     "form-card"),
    ("/account/password", {"current": "wrong", "password": "x", "confirm": "y"}, "liumin",
     "form-card"),
    ("/manage/tokens/", {"name": ""}, "liumin", 'id="create-h"'),
    ("/manage/import", {"kind": "platforms"}, "liumin", "form-card"),
    ("/manage/platforms/{platform}/suspend", {"reason": ""}, "wangli", "platform-form"),
    ("/manage/platforms/{platform}/coordinators", {"person_id": ""}, "wangli",
     'id="coordinators"'),
])
def test_other_staff_forms_sum_up_their_refusal(app, client, auth, office, path, data, user,
                                                 before):
    auth.login(user)
    path = path.format(platform=office["platform"].id)
    page_path = path.replace("/coordinators", "/people")
    answer = client.post(path, data={"csrf_token": csrf_token(client, page_path), **data})
    assert answer.status_code == 422, answer.text[:300]
    summary(answer.text, before=before if "=" in before else f'class="{before}"')


def test_editing_a_problem_to_no_title(app, client, auth, problem):
    auth.login("wangli")
    path = f"/manage/issues/{problem['issue']}/edit"
    form = client.get(path).text
    answer = post(client, path, {"title": "", "description": "路灯全坏了。", "kind": "doorstep",
                                 "category": "society", "version": input_value(form, "version"),
                                 "original": input_value(form, "original")})
    assert answer.status_code == 422
    assert summary(answer.text, before='class="issue-form"') == ["title"]
    assert "路灯全坏了。</textarea>" in answer.text


def test_cancelling_an_event_without_a_reason(app, make):
    platform = make("platform")
    event = make("event", platform_id=platform.id)
    client = signed_in(app, coordinator_of(make, platform.id).username)
    answer = post(client, f"/manage/events/{event.id}/cancel", {"cancel_reason": " "})
    assert answer.status_code == 422
    assert summary(answer.text, before='class="event-form"') == ["cancel_reason"]


def test_a_refused_photo_is_reported_at_the_top_of_the_event_page(app, make):
    platform = make("platform")
    start = utcnow() - timedelta(days=1)
    event = make("event", platform_id=platform.id, status=EventStatus.HELD, minutes="纪要",
                 starts_at=start, ends_at=start + timedelta(hours=2))
    client = signed_in(app, coordinator_of(make, platform.id).username)
    path = f"/manage/events/{event.id}"
    answer = client.post(f"{path}/photos", data={
        "csrf_token": csrf_token(client, path), "caption": "会场",
        "photo": (BytesIO(b"not a picture"), "a.jpg", "image/jpeg")},
        content_type="multipart/form-data")
    assert answer.status_code == 422
    page = answer.text
    assert summary(page, before='id="agenda-h"', says=("上传照片没有成功",)) == ["photo"]
    assert input_value(page, "caption") == "会场"


def test_a_routing_rule_without_a_department(app, client, auth, office):
    auth.login("wangli")
    path = "/manage/departments/routing/new"
    answer = post(client, path, {"district": office["district"].id, "category": "society",
                                 "keyword": "路灯", "department": "", "due_days": "15"})
    assert answer.status_code == 422
    assert "department" in summary(answer.text, before='class="form-card"')
    assert input_value(answer.text, "keyword") == "路灯"


def test_an_import_file_with_mistakes_lists_them_first(app, client, auth, office):
    auth.login("liumin")
    path = "/manage/import"
    answer = client.post(path, data={
        "csrf_token": csrf_token(client, path), "kind": "platforms",
        "file": (BytesIO("名字,地方\n甲,乙\n".encode("utf-8-sig")), "p.csv")},
        content_type="multipart/form-data")
    assert answer.status_code == 422
    summary(answer.text, before='class="form-card"',
            says=("没有导入任何数据", "不认识这个列名"))


def test_a_resident_rating_without_a_choice(app, client, make):
    issue = closed_issue(app, make("platform").id)
    path = f"/track/{issue.tracking_token}"
    answer = client.post(path, data={"csrf_token": csrf_token(client, path), "satisfaction": "",
                                     "comment": "修得很快"})
    assert answer.status_code == 422
    assert summary(answer.text, before='class="pub-rating"',
                   says=("评价没有成功",)) == ["satisfaction"]
    assert "修得很快</textarea>" in answer.text


def test_tracking_without_a_reference(client):
    path = "/track"
    answer = client.post(path, data={"csrf_token": csrf_token(client, path), "reference": "",
                                     "digits": "12"})
    assert answer.status_code == 422
    assert set(summary(answer.text, before='class="pub-card-form')) == {"reference", "digits"}
