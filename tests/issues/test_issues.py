"""Staff pages for problems: the list with its filters and counts, raising one, its page."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from consult_hub.extensions import db
from consult_hub.issues.models import Issue, IssueStatus, IssueUpdate
from consult_hub.issues.operations import change_status
from consult_hub.models import AuditLog
from tests.support.auth import csrf_token
from tests.support.issues import Place, today, walk
from tests.support.pages import page_text


def set_fields(issue_id: int, **values: Any) -> None:
    """Change stored columns directly (to make a problem overdue without waiting)."""
    db.session.execute(sa.update(Issue).where(Issue.id == issue_id).values(**values))
    db.session.commit()


# --- The list ---------------------------------------------------------------------------------


def test_list_shows_only_problems_in_the_users_scope(app, client, auth, place, make):
    make("issue", platform_id=place.platform_id, title="百步亭停车难")
    make("issue", platform_id=place.other_platform_id, title="武昌路灯不亮")
    for username, sees_ours, sees_theirs in (("zhanghui", True, False), ("wangli", True, False),
                                             ("lisi", False, True), ("liumin", True, True)):
        auth.login(username)
        html = client.get("/manage/issues/").text
        assert ("百步亭停车难" in html) is sees_ours, username
        assert ("武昌路灯不亮" in html) is sees_theirs, username
        auth.logout()


def test_list_needs_sign_in(client):
    answer = client.get("/manage/issues/")
    assert answer.status_code == 302 and answer.headers["Location"].startswith("/login")


def test_status_chips_count_each_status_and_filter_by_it(app, client, auth, place, make):
    ids = [make("issue", platform_id=place.platform_id, title=f"问题{n}").id for n in range(4)]
    with app.app_context():
        walk(ids[0], "assign", department_id=place.department_id)
        walk(ids[1], "assign", "resolve", department_id=place.department_id)
    auth.login("wangli")
    html = client.get("/manage/issues/").text
    chips = dict(re.findall(r'<li><a href="[^"]*"(?: aria-current="true")?>(\S+) '
                            r'<span class="issue-chip-count">(\d+)</span>', html))
    assert chips["全部"] == "4" and chips["已受理"] == "2" and chips["已交办"] == "1"
    assert chips["已解决或采纳"] == "1" and chips["不予受理"] == "0"
    only_assigned = client.get("/manage/issues/?status=assigned").text
    assert "问题0" in only_assigned and "问题2" not in only_assigned
    # Counts ignore the status filter itself, so every chip stays meaningful.
    assert '<span class="issue-chip-count">4</span>' in only_assigned
    assert re.search(r'aria-current="true">已交办', only_assigned)


def test_several_statuses_are_kept_as_one_value(client, auth, place, make):
    auth.login("wangli")
    answer = client.get("/manage/issues/?status=received&status=assigned&kind=urgent")
    assert answer.status_code == 302
    assert re.search(r"status=received(,|%2C)assigned", answer.headers["Location"])
    assert "kind=urgent" in answer.headers["Location"]
    make("issue", platform_id=place.platform_id, title="待交办的问题")
    html = client.get("/manage/issues/?status=received,assigned").text
    assert "待交办的问题" in html
    assert 'value="received" id="status-received" checked' in html
    assert 'value="assigned" id="status-assigned" checked' in html


def test_filters_narrow_the_list(app, client, auth, place, make):
    lift = make("issue", platform_id=place.platform_id, title="电梯加装")
    make("issue", platform_id=place.platform_id, title="路灯不亮", source="resident")
    assigned = make("issue", platform_id=place.platform_id, title="污水外溢")
    with app.app_context():
        set_fields(lift.id, kind="urgent", category="economy", source="member")
        walk(assigned.id, "assign", department_id=place.department_id)
    auth.login("wangli")

    def titles(query: str) -> set[str]:
        html = client.get(f"/manage/issues/?{query}").text
        return set(re.findall(r'class="issue-title"[^>]*>([^<]+)<', html))

    assert titles("kind=urgent") == {"电梯加装"}
    assert titles("category=society") == {"路灯不亮", "污水外溢"}
    assert titles("source=member") == {"电梯加装"}
    assert titles(f"department={place.department_id}") == {"污水外溢"}
    assert titles(f"platform={place.platform_id}") == {"电梯加装", "路灯不亮", "污水外溢"}
    assert titles("q=路灯") == {"路灯不亮"}
    reference = db_reference(app, assigned.id)
    assert titles(f"q={reference.lower()}") == {"污水外溢"}
    assert titles("q=100%25") == set()  # LIKE wildcards are matched literally
    # A filter value that is not a choice is ignored rather than failing the page.
    assert titles("kind=nonsense") == {"电梯加装", "路灯不亮", "污水外溢"}


def db_reference(app, issue_id: int) -> str:
    with app.app_context():
        return db.session.get(Issue, issue_id).reference


def test_admin_filters_by_district_and_others_cannot(client, auth, place, make):
    make("issue", platform_id=place.platform_id, title="江岸的问题")
    make("issue", platform_id=place.other_platform_id, title="武昌的问题")
    auth.login("liumin")
    html = client.get(f"/manage/issues/?district={place.district_id}").text
    assert "江岸的问题" in html and "武昌的问题" not in html
    assert 'name="district"' in html
    auth.logout()
    auth.login("wangli")
    html = client.get("/manage/issues/").text
    assert 'name="district"' not in html


def test_overdue_rows_are_marked_and_can_be_listed_alone(app, client, auth, place, make):
    late = make("issue", platform_id=place.platform_id, title="过期未办")
    fine = make("issue", platform_id=place.platform_id, title="按期办理")
    planned = make("issue", platform_id=place.platform_id, title="计划过期")
    with app.app_context():
        walk(late.id, "assign", department_id=place.department_id)
        walk(fine.id, "assign", department_id=place.department_id)
        walk(planned.id, "assign", "plan", department_id=place.department_id)
        set_fields(late.id, due_on=today() - timedelta(days=3))
        set_fields(planned.id, planned_on=today() - timedelta(days=1))
    auth.login("wangli")
    html = client.get("/manage/issues/").text
    items = re.findall(r'<li class="issue-item( is-overdue)?">.*?class="issue-title"[^>]*>([^<]+)<',
                       html, re.S)
    marks = {title: bool(flag) for flag, title in items}
    assert marks == {"过期未办": True, "按期办理": False, "计划过期": True}
    overdue_only = client.get("/manage/issues/?overdue=y").text
    assert "过期未办" in overdue_only and "计划过期" in overdue_only
    assert "按期办理" not in overdue_only


def test_list_sorts_by_due_date_and_pages(app, client, auth, place, make):
    ids = [make("issue", platform_id=place.platform_id, title=f"编号{n:02d}").id
           for n in range(27)]
    with app.app_context():
        for n, issue_id in enumerate(ids[:3]):
            walk(issue_id, "assign", department_id=place.department_id)
            set_fields(issue_id, due_on=today() + timedelta(days=30 - n))
    auth.login("wangli")
    by_due = re.findall(r'class="issue-title"[^>]*>([^<]+)<',
                        client.get("/manage/issues/?sort=due").text)
    assert by_due[:3] == ["编号02", "编号01", "编号00"]
    first = client.get("/manage/issues/").text
    newest = re.findall(r'class="issue-title"[^>]*>([^<]+)<', first)
    assert newest[0] == "编号26" and len(newest) == 25
    assert "共 27 条，第 1 / 2 页" in first
    second = client.get("/manage/issues/?page=2").text
    assert re.findall(r'class="issue-title"[^>]*>([^<]+)<', second) == ["编号01", "编号00"]


def test_total_and_pages_follow_the_status_and_text_filters(app, client, auth, place, make):
    matching = [make("issue", platform_id=place.platform_id, title=f"路灯{n:02d}").id
                for n in range(28)]
    make("issue", platform_id=place.platform_id, title="污水外溢")
    with app.app_context():
        for issue_id in matching[:26]:
            walk(issue_id, "assign", department_id=place.department_id)
    auth.login("wangli")
    everything = client.get("/manage/issues/?q=路灯").text
    assert "共 28 条，第 1 / 2 页" in everything
    assigned = client.get("/manage/issues/?q=路灯&status=assigned").text
    assert "共 26 条，第 1 / 2 页" in assigned
    last = client.get("/manage/issues/?q=路灯&status=assigned&page=2").text
    assert "共 26 条，第 2 / 2 页" in last
    assert re.findall(r'class="issue-title"[^>]*>([^<]+)<', last) == ["路灯00"]
    two = client.get("/manage/issues/?q=路灯&status=assigned,received").text
    assert "共 28 条" in two
    received = client.get("/manage/issues/?q=路灯&status=received").text
    assert "共 2 个问题" in received and "路灯27" in received and "污水外溢" not in received


# --- Raising a problem ------------------------------------------------------------------------


def new_issue_data(place: Place, **overrides: Any) -> dict[str, Any]:
    data = {"platform_id": place.platform_id, "event_id": "", "source": "resident",
            "title": "小区停车难", "description": "晚上车位不足，车辆占用消防通道。",
            "kind": "doorstep", "category": "society", "submitter_name": "张女士",
            "submitter_phone": "138 0000 1234"}
    data.update(overrides)
    return data


def test_coordinator_raises_a_problem_at_an_event(app, client, auth, place, make):
    event = make("event", platform_id=place.platform_id, topic="加装电梯协商会",
                 category="economy")
    auth.login("zhanghui")
    path = f"/manage/issues/new?event={event.id}"
    form = client.get(path).text
    assert f'<option selected value="{event.id}">' in form
    assert "居民姓名（不公开）" in form and "联系电话（不公开）" in form
    data = new_issue_data(place, event_id=event.id, source="event",
                          csrf_token=csrf_token(client, path))
    answer = client.post(path, data=data)
    assert answer.status_code == 303
    with app.app_context():
        issue = db.session.scalars(sa.select(Issue)).one()
        assert (issue.event_id, issue.platform_id, issue.status) == (
            event.id, place.platform_id, IssueStatus.RECEIVED)
        assert issue.submitter_phone == "13800001234"  # separators dropped
        assert issue.created_by.username == "zhanghui"
        assert answer.headers["Location"] == f"/manage/issues/{issue.id}"
        audit = db.session.scalars(sa.select(AuditLog).where(
            AuditLog.action == "issue_create")).one()
        assert audit.actor.username == "zhanghui" and audit.entity_id == issue.id


@pytest.mark.parametrize(("overrides", "field", "message"), [
    ({"title": "  "}, "title", "请填写标题"),
    ({"description": ""}, "description", "请填写问题描述"),
    ({"submitter_phone": "12345"}, "submitter_phone", "请填写有效的手机号"),
    ({"submitter_phone": "023-1234"}, "submitter_phone", "请填写有效的手机号"),
    ({"kind": "made-up"}, "kind", "无效的取值"),
    ({"platform_id": ""}, "platform_id", "请选择平台"),
])
def test_bad_new_problem_names_the_field_and_stores_nothing(app, client, auth, place, overrides,
                                                           field, message):
    auth.login("zhanghui")
    path = f"/manage/issues/new?platform={place.platform_id}"
    answer = client.post(path, data=new_issue_data(place, **overrides,
                                                   csrf_token=csrf_token(client, path)))
    assert answer.status_code == 422
    error = re.search(rf'id="{field}-error">\s*<p>([^<]+)</p>', answer.text)
    assert error and message in error.group(1)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Issue.id))) == 0


def test_event_of_another_platform_is_refused(app, client, auth, place, make):
    elsewhere = make("platform", district_id=place.district_id)
    event = make("event", platform_id=elsewhere.id)
    auth.login("wangli")
    path = f"/manage/issues/new?platform={place.platform_id}"
    answer = client.post(path, data=new_issue_data(place, event_id=event.id,
                                                   csrf_token=csrf_token(client, path)))
    assert answer.status_code == 422
    assert "所选活动不属于这个平台" in answer.text
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Issue.id))) == 0


@pytest.mark.parametrize("phone, stored", [
    ("13800001234", "13800001234"), ("+86 138-0000-1234", "13800001234"),
    ("027-85612345", "027-85612345"), ("(0716)8123456", "0716-8123456"),
    ("010 8888 6666", "010-88886666"),
])
def test_phone_numbers_are_accepted_in_common_forms(app, client, auth, place, phone, stored):
    auth.login("zhanghui")
    path = f"/manage/issues/new?platform={place.platform_id}"
    answer = client.post(path, data=new_issue_data(place, submitter_phone=phone,
                                                   csrf_token=csrf_token(client, path)))
    assert answer.status_code == 303
    with app.app_context():
        assert db.session.scalars(sa.select(Issue.submitter_phone)).one() == stored


def test_raising_on_someone_elses_platform_is_forbidden(app, client, auth, place):
    auth.login("zhanghui")
    assert client.get(f"/manage/issues/new?platform={place.other_platform_id}").status_code == 403
    path = f"/manage/issues/new?platform={place.platform_id}"
    answer = client.post(path, data=new_issue_data(place, platform_id=place.other_platform_id,
                                                   csrf_token=csrf_token(client, path)))
    assert answer.status_code == 403
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Issue.id))) == 0


def test_staff_with_many_platforms_choose_the_platform_first(client, auth, place, make):
    make("platform", district_id=place.district_id, name="第二个平台")
    auth.login("wangli")
    html = client.get("/manage/issues/new").text
    assert 'method="get"' in html and "百步亭社区协商议事室" in html and "第二个平台" in html
    assert "武昌某议事室" not in html
    # Grouped by district, by name within it: the city admin sees both districts' platforms.
    group = re.search(r'<optgroup label="江岸区">(.*?)</optgroup>', html, re.S).group(1)
    assert re.findall(r'<option value="\d+">([^<]+)</option>', group) == [
        "百步亭社区协商议事室", "第二个平台"]
    auth.logout()
    auth.login("liumin")
    html = client.get("/manage/issues/new").text
    assert re.findall(r'<optgroup label="([^"]+)">', html) == ["江岸区", "武昌区"]
    html = client.get(f"/manage/issues/new?platform={place.platform_id}").text
    assert 'name="title"' in html


# --- One problem's page -----------------------------------------------------------------------


def test_detail_shows_facts_private_contact_and_timeline(app, client, auth, place, make):
    issue = make("issue", platform_id=place.platform_id, submitter_name="张女士",
                 submitter_phone="13800001234")
    with app.app_context():
        walk(issue.id, "assign", department_id=place.department_id)
        stored = db.session.get(Issue, issue.id)
        change_status(stored, "note", actor_id=None, note="已**约谈**物业", is_public=False)
        db.session.commit()
        reference = stored.reference
    auth.login("zhanghui")
    html = client.get(f"/manage/issues/{issue.id}").text
    text = page_text(html)
    assert reference in text and "市水务局" in text and "办理期限" in text
    assert "反映人联系方式 不公开" in text and "13800001234" in text and "张女士" in text
    assert "已受理 → 已交办" in text
    assert "已<strong>约谈</strong>物业" in html and "仅内部" in text
    # The coordinator records progress; assigning is the district's work.
    assert f'action="/manage/issues/{issue.id}/act/note"' in html
    assert "/act/assign" not in html and "/act/resolve" not in html


def test_district_staff_get_a_form_for_each_allowed_action(app, client, auth, place, make):
    issue = make("issue", platform_id=place.platform_id)
    auth.login("wangli")
    html = client.get(f"/manage/issues/{issue.id}").text
    actions = re.findall(r'action="/manage/issues/\d+/act/(\w+)"', html)
    assert actions == ["assign", "resolve", "reject", "note"]  # from the table, for "received"
    assign_select = html.split('id="assign-department"')[1].split("</select>")[0]
    options = re.findall(r'<option value="(\d+)">([^<]+)</option>', assign_select)
    names = [name for _, name in options]
    assert names == ["市水务局", "江岸区城管局"]  # city first; active only; this district only


def test_other_coordinator_and_other_district_cannot_open_the_problem(client, auth, place, make):
    issue = make("issue", platform_id=place.platform_id)
    auth.login("lisi")
    assert client.get(f"/manage/issues/{issue.id}").status_code == 403
    assert client.get("/manage/issues/999999").status_code == 404


def test_overdue_badge_on_the_page(app, client, auth, place, make):
    issue = make("issue", platform_id=place.platform_id)
    with app.app_context():
        walk(issue.id, "assign", department_id=place.department_id)
        set_fields(issue.id, due_on=today() - timedelta(days=4))
    auth.login("wangli")
    text = page_text(client.get(f"/manage/issues/{issue.id}").text)
    assert "逾期" in text and "已逾期 4 天" in text


def test_unknown_timeline_rows_still_render(app, client, auth, place, make):
    """A resident's submission has no actor; the page says who in words."""
    issue = make("issue", platform_id=place.platform_id)
    with app.app_context():
        first = db.session.scalars(sa.select(IssueUpdate).where(
            IssueUpdate.issue_id == issue.id)).one()
        assert first.actor_id is None
    auth.login("wangli")
    text = page_text(client.get(f"/manage/issues/{issue.id}").text)
    assert re.search(r"受理 已受理 公开 \S+ \S+ · 居民", text)


def test_list_and_page_send_the_same_number_of_queries_however_many_rows(app, client, auth,
                                                                          place, make):
    from tests.support.querycount import count_queries

    first = make("issue", platform_id=place.platform_id)
    with app.app_context():
        walk(first.id, "assign", department_id=place.department_id)
    auth.login("wangli")

    def counts() -> tuple[int, int]:
        with count_queries(app) as listing:
            assert client.get("/manage/issues/").status_code == 200
        with count_queries(app) as page:
            assert client.get(f"/manage/issues/{first.id}").status_code == 200
        return len(listing), len(page)

    before = counts()
    for n in range(6):
        other = make("platform", district_id=place.district_id)
        issue = make("issue", platform_id=other.id, title=f"更多{n}")
        with app.app_context():
            walk(issue.id, "assign", "note", department_id=place.department_id)
    with app.app_context():
        walk(first.id, "note", "note", department_id=place.department_id)
    assert counts() == before
