"""The report pages: writing from an event, a problem or from scratch, deciding, forwarding,
instructions; who may do what; refusals that name the field; the links both ways."""

from __future__ import annotations

import re

import sqlalchemy as sa

from consult_hub.extensions import db
from consult_hub.models import AuditLog
from consult_hub.opinions.models import ForwardLevel, OpinionReport, OpinionSource, OpinionStatus
from tests.support import factories
from tests.support.auth import signed_in
from tests.support.issues import today
from tests.support.opinions import act, report, stored
from tests.support.pages import field_errors, page_text, post

S = OpinionStatus
BASE = "/manage/opinion-reports"


def _only_report(app) -> OpinionReport:
    with app.app_context():
        found = db.session.scalars(sa.select(OpinionReport)).one()
        _ = (found.events, found.issues)
        db.session.expunge(found)
        return found


def _count(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count(OpinionReport.id)))


def _make(app, *actions, **kwargs) -> int:
    with app.app_context():
        made = report(*actions, **kwargs)
        db.session.commit()
        return made.id


def _platform(app, place, which="platform_id"):
    from consult_hub.models import Platform

    return db.session.get(Platform, getattr(place, which))


def _member(place, which="member_id"):
    from consult_hub.models import Member

    return db.session.get(Member, getattr(place, which))


def test_coordinator_writes_from_an_event_and_the_city_follows_it_through(app, place):
    coordinator = signed_in(app, place.coordinator)
    form = coordinator.get(f"{BASE}/new?event={place.event_id}")
    assert form.status_code == 200
    assert "分步推进加装电梯，设立协调小组。" in form.text  # the event's 协商意见
    assert 'value="老旧小区加装电梯协商"' in form.text  # its topic, as the title to edit
    answer = post(coordinator, f"{BASE}/new", {
        "title": "关于加快老旧小区加装电梯的建议", "body": "居民反映协调难，建议设立协调小组。",
        "category": "society", "is_livelihood": "y", "platform": place.platform_id,
        "events": place.event_id, "send": "1"})
    assert answer.status_code == 303, answer.text
    made = _only_report(app)
    assert (made.status, made.source, made.platform_id, made.district_id, made.is_livelihood) == (
        S.SUBMITTED, OpinionSource.PLATFORM, place.platform_id, place.district_id, True)
    assert [e.id for e in made.events] == [place.event_id]
    assert re.fullmatch(r"SQ\d{4}-0001", made.reference)
    page = coordinator.get(answer.headers["Location"]).text
    assert f"已报送社情民意信息 {made.reference}，等待区政协或市政协采用。" in page
    # The coordinator cannot decide.
    assert act(coordinator, made.id, "adopt", bulletin_issue="第1期").status_code == 403

    city = signed_in(app, place.admin)
    assert act(city, made.id, "adopt",
               bulletin_issue="《社情民意》2024年第12期").status_code == 303
    assert act(city, made.id, "forward", forwarded_to="province").status_code == 303
    # Next, only the national CPPCC is offered.
    offered = re.findall(r'name="forwarded_to"[^>]*value="(\w+)"',
                         city.get(f"{BASE}/{made.id}").text)
    assert offered == ["national"]
    day = today().isoformat()
    assert act(city, made.id, "instruct", instruction_leader="市委主要领导",
               instruction_text="请市住建局牵头研究。", instructed_on=day).status_code == 303
    assert act(city, made.id, "follow_up",
               follow_up="市住建局已出台加装电梯补贴办法。").status_code == 303
    after = stored(app, made.id)
    assert (after.status, after.bulletin_issue, after.forwarded_to, after.instruction_leader,
            after.instructed_on.isoformat(), after.follow_up) == (
        S.ADOPTED, "《社情民意》2024年第12期", ForwardLevel.PROVINCE, "市委主要领导", day,
        "市住建局已出台加装电梯补贴办法。")
    text = page_text(coordinator.get(f"{BASE}/{made.id}").text)
    for shown in ("已采用", "《社情民意》2024年第12期", "已报送省政协", "获批示",
                  "请市住建局牵头研究。", "市住建局已出台加装电梯补贴办法。"):
        assert shown in text
    with app.app_context():
        actions = db.session.scalars(sa.select(AuditLog.action).where(
            AuditLog.entity_type == "opinion_reports").order_by(AuditLog.id)).all()
    assert actions == ["opinion_create", "opinion_submit", "opinion_adopt", "opinion_forward",
                       "opinion_instruct", "opinion_follow_up"]


def test_links_both_ways_between_report_event_and_problem(app, place):
    coordinator = signed_in(app, place.coordinator)
    event_page = coordinator.get(f"/manage/events/{place.event_id}").text
    assert f'href="{BASE}/new?event={place.event_id}"' in event_page
    issue_page = coordinator.get(f"/manage/issues/{place.issue_id}").text
    assert f'href="{BASE}/new?issue={place.issue_id}"' in issue_page
    with app.app_context():
        from consult_hub.models import Event, Issue

        made = report("submit", platform=_platform(app, place),
                      events=[db.session.get(Event, place.event_id)],
                      issues=[db.session.get(Issue, place.issue_id)])
        db.session.commit()
        report_id, reference = made.id, made.reference
    shown = coordinator.get(f"{BASE}/{report_id}").text
    assert f'href="/manage/events/{place.event_id}"' in shown
    assert f'href="/manage/issues/{place.issue_id}"' in shown
    for path in (f"/manage/events/{place.event_id}", f"/manage/issues/{place.issue_id}"):
        page = coordinator.get(path).text
        assert f'href="{BASE}/{report_id}"' in page and reference in page
    # Another district's staff see neither the report nor a link to it.
    assert reference not in signed_in(app, place.other_staff).get(f"{BASE}/").text


def test_from_a_problem_only_its_public_text_is_copied(app, place):
    coordinator = signed_in(app, place.coordinator)
    form = coordinator.get(f"{BASE}/new?issue={place.issue_id}").text
    assert "电梯加装资金缺口" in form and "三栋楼居民筹资不足。" in form
    assert "赵六" not in form and "13900001111" not in form
    # A resident's submission awaiting review is private: not quoted, and refused if posted.
    pending = coordinator.get(f"{BASE}/new?issue={place.pending_issue_id}").text
    assert "13900002222" not in pending and "尚未受理公开，不能引用" in pending
    answer = post(coordinator, f"{BASE}/new", {
        "title": "标题", "body": "正文", "category": "society", "platform": place.platform_id,
        "issues": place.pending_issue_id})
    assert answer.status_code == 422
    assert "尚未受理公开的问题不能引用" in answer.text
    assert _count(app) == 0


def test_member_writes_from_scratch_and_submits(app, place):
    member = signed_in(app, place.member)
    assert member.get(f"{BASE}/new").status_code == 200
    answer = post(member, f"{BASE}/new", {
        "title": "关于社区养老服务的建议", "body": "社区日间照料中心床位不足。",
        "category": "society", "send": "0"})
    assert answer.status_code == 303, answer.text
    made = _only_report(app)
    assert (made.status, made.source, made.member_id, made.platform_id, made.district_id) == (
        S.DRAFT, OpinionSource.MEMBER, place.member_id, None, place.district_id)
    assert "已保存社情民意信息" in member.get(answer.headers["Location"]).text
    assert made.reference in member.get(f"{BASE}/").text
    assert act(member, made.id, "submit").status_code == 303
    assert stored(app, made.id).status is S.SUBMITTED
    # Sent: the member no longer edits it, and does not decide on it.
    assert member.get(f"{BASE}/{made.id}/edit").status_code == 403
    assert act(member, made.id, "adopt", bulletin_issue="第1期").status_code == 403
    # Another member sees nothing of it.
    other = signed_in(app, place.other_member)
    assert other.get(f"{BASE}/{made.id}").status_code == 403
    assert made.reference not in other.get(f"{BASE}/").text


def test_member_may_not_write_from_a_platform_they_do_not_serve(app, place):
    member = signed_in(app, place.member)
    assert member.get(f"{BASE}/new?event={place.other_event_id}").status_code == 403
    answer = post(member, f"{BASE}/new", {
        "title": "标题", "body": "正文", "category": "society",
        "platform": place.other_platform_id})
    assert answer.status_code == 422 and "请从列表中选择平台" in answer.text
    assert _count(app) == 0


def test_coordinator_cannot_touch_another_platforms_report(app, place):
    with app.app_context():
        report_id = report(platform=_platform(app, place)).id
        db.session.commit()
    other = signed_in(app, place.other_coordinator)
    assert other.get(f"{BASE}/{report_id}").status_code == 403
    assert other.get(f"{BASE}/{report_id}/edit").status_code == 403
    assert act(other, report_id, "submit").status_code == 403
    assert other.get(f"{BASE}/new?event={place.event_id}").status_code == 403
    answer = post(other, f"{BASE}/new", {
        "title": "标题", "body": "正文", "category": "society",
        "platform": place.other_platform_id, "events": place.event_id})
    assert answer.status_code == 422 and "请只选择您所在平台的活动" in answer.text
    assert "老旧小区加装电梯协商" not in answer.text  # the other platform's event stays unnamed
    assert stored(app, report_id).status is S.DRAFT and _count(app) == 1


def test_district_staff_only_within_their_district(app, place):
    with app.app_context():
        report_id = report("submit", platform=_platform(app, place)).id
        db.session.commit()
    other = signed_in(app, place.other_staff)
    assert other.get(f"{BASE}/{report_id}").status_code == 403
    assert act(other, report_id, "adopt", bulletin_issue="第1期").status_code == 403
    staff = signed_in(app, place.staff)
    # District staff correct a submitted report before deciding, then adopt it.
    edit = staff.get(f"{BASE}/{report_id}/edit")
    assert edit.status_code == 200
    version = re.search(r'name="version"[^>]*value="(\d+)"', edit.text).group(1)
    original = re.search(r'name="original"[^>]*value="([^"]*)"', edit.text).group(1)
    import html

    answer = post(staff, f"{BASE}/{report_id}/edit", {
        "title": "关于加装电梯的建议（修改稿）", "body": "改写后的正文。", "category": "society",
        "is_livelihood": "y", "version": version, "original": html.unescape(original)})
    assert answer.status_code == 303, answer.text
    assert stored(app, report_id).title == "关于加装电梯的建议（修改稿）"
    assert act(staff, report_id, "adopt", bulletin_issue="《社情民意》第3期").status_code == 303
    # Forwarding to the province is city staff's.
    assert act(staff, report_id, "forward", forwarded_to="province").status_code == 403
    # Decided: no more edits.
    assert staff.get(f"{BASE}/{report_id}/edit").status_code == 403


def test_refused_action_names_the_field_and_changes_nothing(app, place):
    with app.app_context():
        report_id = report("submit", platform=_platform(app, place)).id
        db.session.commit()
    staff = signed_in(app, place.staff)
    before = stored(app, report_id)
    answer = act(staff, report_id, "adopt", bulletin_issue="  ")
    assert answer.status_code == 422
    assert "请填写编发期号" in field_errors(answer.text, "adopt-bulletin_issue")
    assert "采用没有成功" in answer.text
    answer = act(staff, report_id, "not_adopt", reason="")
    assert answer.status_code == 422
    assert "请填写理由" in field_errors(answer.text, "not_adopt-reason")
    after = stored(app, report_id)
    assert (after.status, after.version, after.bulletin_issue, after.decision_note) == (
        before.status, before.version, None, None)


def test_refused_new_report_names_the_fields(app, place):
    coordinator = signed_in(app, place.coordinator)
    answer = post(coordinator, f"{BASE}/new", {"title": "", "body": "", "category": ""})
    assert answer.status_code == 422
    for field_id, message in (("title", "请填写标题"), ("body", "请填写正文"),
                              ("category", "请选择类别"), ("platform", "请选择平台")):
        assert message in field_errors(answer.text, field_id), field_id
    assert _count(app) == 0


def test_stale_page_is_a_conflict(app, place):
    with app.app_context():
        report_id = report("submit", platform=_platform(app, place)).id
        db.session.commit()
    staff = signed_in(app, place.staff)
    answer = act(staff, report_id, "adopt", bulletin_issue="第1期", version="0")
    assert answer.status_code == 409 and "已被他人修改" in answer.text
    assert stored(app, report_id).status is S.SUBMITTED


def test_return_for_revision_then_the_writer_edits_and_sends_again(app, place):
    with app.app_context():
        report_id = report("submit", platform=_platform(app, place)).id
        db.session.commit()
    staff = signed_in(app, place.staff)
    assert act(staff, report_id, "return", reason="请补充具体数据").status_code == 303
    coordinator = signed_in(app, place.coordinator)
    page = coordinator.get(f"{BASE}/{report_id}").text
    assert "退回修改的理由" in page and "请补充具体数据" in page
    assert coordinator.get(f"{BASE}/{report_id}/edit").status_code == 200
    assert act(coordinator, report_id, "submit").status_code == 303
    assert stored(app, report_id).status is S.SUBMITTED


def test_department_contacts_have_no_report_pages(app, place):
    with app.app_context():
        factories.department_user(username="dept_contact")
        db.session.commit()
    contact = signed_in(app, "dept_contact")
    assert contact.get(f"{BASE}/").status_code == 403
    assert contact.get(f"{BASE}/new").status_code == 403


def test_list_filters_and_counts(app, place):
    with app.app_context():
        platform, member = _platform(app, place), _member(place)
        report("submit", "adopt", platform=platform, title="甲信息", is_livelihood=True)
        report("submit", platform=platform, title="乙信息", is_livelihood=False,
               category="economy")
        report(member=member, title="丙信息", is_livelihood=True)
        db.session.commit()
    city = signed_in(app, place.admin)
    text = page_text(city.get(f"{BASE}/").text)
    assert "甲信息" in text and "乙信息" in text and "丙信息" in text
    assert "已报送 2 篇（含已采用和未采用）" in text
    livelihood = page_text(city.get(f"{BASE}/?livelihood=1").text)
    assert "甲信息" in livelihood and "丙信息" in livelihood and "乙信息" not in livelihood
    adopted = page_text(city.get(f"{BASE}/?status=adopted").text)
    assert "甲信息" in adopted and "乙信息" not in adopted
    by_source = page_text(city.get(f"{BASE}/?source=member").text)
    assert "丙信息" in by_source and "甲信息" not in by_source
    year = today().year
    assert "乙信息" in page_text(city.get(f"{BASE}/?year={year}&category=economy").text)
    assert "乙信息" not in page_text(city.get(f"{BASE}/?year={year - 3}").text)
    other_district = page_text(city.get(f"{BASE}/?district={place.other_district_id}").text)
    assert "甲信息" not in other_district


def test_proposal_link_when_proposals_exist(app, place):
    with app.app_context():
        report_id = report("submit", member=_member(place)).id
        db.session.commit()
    page = signed_in(app, place.member).get(f"{BASE}/{report_id}").text
    has_proposals = "proposals.new" in app.view_functions
    assert (f"/manage/proposals/new?report={report_id}" in page) is has_proposals


def test_bad_list_filters_are_ignored(app, place):
    with app.app_context():
        report("submit", platform=_platform(app, place), title="甲信息")
        db.session.commit()
    city = signed_in(app, place.admin)
    for query in ("year=1", "year=1&month=13", "year=abc&month=x", "month=2",
                  f"year={today().year}&month=0", "status=nope&category=x&livelihood=2",
                  "district=99999999999&source=x", "page=-1"):
        answer = city.get(f"{BASE}/?{query}")
        assert answer.status_code == 200, query
        assert "甲信息" in answer.text, query
    this_month = f"year={today().year}&month={today().month}"
    assert "甲信息" in city.get(f"{BASE}/?{this_month}").text


def test_edit_after_someone_else_saved_is_a_conflict(app, place):
    with app.app_context():
        report_id = report(platform=_platform(app, place)).id
        db.session.commit()
    coordinator, staff = signed_in(app, place.coordinator), signed_in(app, place.staff)
    opened = coordinator.get(f"{BASE}/{report_id}/edit").text
    version = re.search(r'name="version"[^>]*value="(\d+)"', opened).group(1)
    original = re.search(r'name="original"[^>]*value="([^"]*)"', opened).group(1)
    import html

    data = {"body": "正文。", "category": "society", "version": version,
            "original": html.unescape(original)}
    assert post(staff, f"{BASE}/{report_id}/edit",
                {**data, "title": "王丽改的标题"}).status_code == 303
    answer = post(coordinator, f"{BASE}/{report_id}/edit", {**data, "title": "张慧改的标题"})
    assert answer.status_code == 409
    assert "保存失败：这条记录已被他人修改" in answer.text and "王丽改的标题" in answer.text
    assert stored(app, report_id).title == "王丽改的标题"
