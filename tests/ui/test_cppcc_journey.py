"""Issue 19's journey through the real UI in Chromium: a proposal (提案) from two problems to
a satisfied proposer, an opinion report (社情民意信息) from an event to a leader's instruction,
and what the public and the year report then show.

Opinion report:
1. A liaison point's coordinator, on a phone, opens a held event and writes a report from it
   (the body starts from the event's 协商意见), tagged 民生实事, and submits it.
2. City staff (市政协工作人员), at a desk, find it in the list, adopt it (编发, with the
   bulletin's issue) and record a leader's instruction (批示) and what was done about it.
3. The coordinator sees the report's new state from the event's page; the public year report
   prints the 社情民意 sentence counting it.

Proposal:
4. A member (政协委员), signed in, starts a proposal from two problems raised at his platform,
   writes it and submits it.
5. City staff accept it (立案): field, lead department (主办) and a co-handling one (会办).
6. The co-handling department gives its opinion (会办意见); the lead department's contact signs
   for the proposal (签收) and replies with class B (列入计划正在解决); the member rates it
   不满意, which sends it back; the department replies again, class A; the member rates it 满意.
7. The public proposal page shows the proposers, departments, class A and the reply; the
   year's 提案办理回顾 and the public year report count it.

Only the world (district, platform, members, people, departments, a held event and its two
problems) is made directly; every step after that is clicks and typing. Screenshots land in
artifacts/cppcc_journey/<database>/ (ignored by git).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from flask import Flask

from consult_hub.core.db import utcnow
from consult_hub.core.timefmt import local_zone
from consult_hub.extensions import db
from consult_hub.models import Category, EventStatus, IssueSource, Role
from tests.support import factories
from tests.support.auth import TEST_PASSWORD
from tests.support.e2e import DESKTOP, PHONE, flash, new_page, on_phone

sync_api = pytest.importorskip("playwright.sync_api",
                               reason="Playwright missing (pip install -e '.[browser]')")
expect = sync_api.expect
SHOTS = "cppcc_journey"  # artifacts/cppcc_journey/<database>/ (tests/support/browser.py)

pytestmark = [pytest.mark.slow]

TOPIC = "百步亭花园老旧小区加装电梯协商"
OPINIONS = "居民普遍支持加装电梯；建议简化审批、统一补贴标准，由街道牵头协调低层住户。"
REPORT_TITLE = "关于破解老旧小区加装电梯协调难的建议"
BULLETIN = "《社情民意》2026年第12期"
LEADER = "市委主要领导"
INSTRUCTION = "请市住房和城市更新局会同各区研究办理，年内拿出补贴办法。"
FOLLOW_UP = "市住房和城市更新局已起草加装电梯补贴办法，正在征求意见。"
PROBLEMS = [
    ("12栋加装电梯低层住户不同意", "12栋想加装电梯，一二楼住户担心采光和噪音，协商多次未果。"),
    ("加装电梯审批材料多、周期长", "加装电梯要跑规划、住建、市场监管多个部门，材料重复提交。"),
]


@dataclass(frozen=True)
class Cast:
    platform: str
    event_id: int
    coordinator: tuple[str, str]  # username, name
    admin: tuple[str, str]
    member: tuple[str, str]
    co_member: str
    lead: str  # the lead department (主办) and its contact
    lead_contact: tuple[str, str]
    co: str  # the co-handling department (会办)
    co_contact: tuple[str, str]


@pytest.fixture()
def cast(app: Flask) -> Cast:
    """A district, its platform with two members serving there, a held event and the two
    problems raised at it, the people who sign in, two departments with a contact each."""
    with app.app_context():
        district = factories.district(name="江岸区")
        platform = factories.platform(district_id=district.id, name="百步亭花园协商议事室",
                                      address="百步亭花园路 18 号")
        li = factories.member(name="李明", sector="经济界", district_id=district.id)
        zhang = factories.member(name="张华", sector="教育界", district_id=district.id)
        platform.members.extend([li, zhang])
        held_at = utcnow() - timedelta(days=2)
        event = factories.event(platform.id, topic=TOPIC, status=EventStatus.HELD,
                                starts_at=held_at, ends_at=held_at + timedelta(hours=2),
                                opinions=OPINIONS, minutes="会议通报了加装电梯工作进展。")
        for title, description in PROBLEMS:
            factories.issue(platform.id, title=title, description=description,
                            category=Category.SOCIETY, source=IssueSource.EVENT,
                            event_id=event.id)
        factories.user(Role.COORDINATOR, username="liaison", name="陈丽",
                       platform_ids=[platform.id])
        factories.user(Role.ADMIN, username="shizhengxie", name="王芳")
        factories.user(Role.MEMBER, username="liming", name="李明", member_id=li.id)
        lead = factories.department(district_id=district.id, name="江岸区住房和城市更新局")
        co = factories.department(district_id=district.id, name="江岸区自然资源和规划局")
        factories.department_user(lead.id, username="zhujian", name="刘洋")
        factories.department_user(co.id, username="guihua", name="赵敏")
        db.session.commit()
        return Cast(platform=platform.name, event_id=event.id,
                    coordinator=("liaison", "陈丽"), admin=("shizhengxie", "王芳"),
                    member=("liming", "李明"), co_member="张华",
                    lead=lead.name, lead_contact=("zhujian", "刘洋"),
                    co=co.name, co_contact=("guihua", "赵敏"))


def sign_in(page: Any, base: str, username: str, name: str) -> None:
    page.goto(base + "/")
    nav = page.get_by_role("navigation", name="主导航")
    if nav.locator("summary").is_visible():  # on a phone 登录 is behind 更多
        nav.locator("summary").click()
    nav.get_by_role("link", name="登录").click()
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(TEST_PASSWORD)
    page.get_by_role("button", name="登录", exact=True).click()
    expect(flash(page)).to_contain_text(f"欢迎您，{name}")


def go(page: Any, label: str) -> None:
    """Follow the main navigation's link ``label`` (behind 更多 when it is not in the bar)."""
    nav = page.get_by_role("navigation", name="主导航")
    link = nav.get_by_role("link", name=label, exact=True)
    if not link.is_visible():
        nav.locator("summary").click()
    link.click()


def this_year(app: Flask) -> int:
    with app.app_context():
        return datetime.now(local_zone()).year


def test_opinion_report_from_event_to_instruction(
        app: Flask, browser: Any, live_server: str, cast: Cast, shots: Any) -> None:
    base = live_server
    year = this_year(app)

    # --- 1. The coordinator, on a phone, writes a report from the event ------------------------
    phone, page = new_page(browser, PHONE)
    sign_in(page, base, *cast.coordinator)
    go(page, "活动")
    page.get_by_role("link", name=TOPIC).first.click()
    expect(page.get_by_role("heading", name=TOPIC, level=1)).to_be_visible()
    linked = page.locator("section.opinion-linked")
    expect(linked).to_contain_text("还没有据此撰写的社情民意信息")
    linked.get_by_role("link", name="写社情民意信息").click()

    expect(page.get_by_role("heading", name="撰写社情民意信息", level=1)).to_be_visible()
    # Started from the event: linked, titled by its topic, the body from what it agreed.
    expect(page.get_by_role("checkbox", name=re.compile(TOPIC))).to_be_checked()
    expect(page.get_by_label(re.compile("^标题"))).to_have_value(TOPIC)
    body = page.get_by_label(re.compile("^正文"))
    expect(body).to_have_value(re.compile(re.escape(OPINIONS)))
    expect(page.get_by_label(re.compile("^类别"))).to_have_value("society")
    page.get_by_label(re.compile("^标题")).fill(REPORT_TITLE)
    body.fill(body.input_value() + "\n\n建议：市级统一出台加装电梯补贴和审批办法。")
    page.get_by_label("涉及民生实事").check()
    on_phone(page)
    shots(page, "1a-coordinator-writes-report")
    page.get_by_role("button", name="保存并报送").click()
    expect(flash(page)).to_contain_text(re.compile(
        rf"已报送社情民意信息 SQ{year}-\d{{4}}，等待区政协或市政协采用。"))
    expect(page.get_by_role("heading", name=REPORT_TITLE, level=1)).to_be_visible()
    badges = page.locator(".issue-badges")
    expect(badges).to_contain_text("已报送")
    expect(badges).to_contain_text("民生实事")
    reference = page.locator(".eyebrow .issue-ref").inner_text().strip()
    facts = page.locator(".issue-facts")
    expect(facts).to_contain_text(cast.platform)
    expect(facts).to_contain_text(cast.coordinator[1])
    expect(page.get_by_role("region", name="依据的活动和问题")).to_contain_text(TOPIC)
    # The coordinator cannot adopt their own report.
    expect(page.get_by_text("已报送，等待区政协或市政协决定是否采用。")).to_be_visible()
    expect(page.locator("#act-adopt")).to_have_count(0)
    on_phone(page)
    shots(page, "1b-report-submitted")
    phone.close()

    # --- 2. City staff adopt it and record a leader's instruction ------------------------------
    desk, page = new_page(browser, DESKTOP)
    sign_in(page, base, *cast.admin)
    go(page, "社情民意")
    expect(page.get_by_role("heading", name="社情民意信息", level=1)).to_be_visible()
    item = page.locator(".issue-item", has_text=REPORT_TITLE)
    expect(item).to_contain_text(reference)
    expect(item).to_contain_text("已报送")
    item.get_by_role("link", name=REPORT_TITLE).click()
    expect(page.get_by_role("heading", name=REPORT_TITLE, level=1)).to_be_visible()

    adopt = page.locator("details#act-adopt")
    adopt.locator("summary").click()
    adopt.get_by_label(re.compile("^编发期号")).fill(BULLETIN)
    adopt.get_by_role("button", name="确认采用").click()
    expect(flash(page)).to_contain_text(f"社情民意信息 {reference} 已采用，编发于 {BULLETIN}。")
    expect(page.locator(".issue-badges")).to_contain_text("已采用")
    expect(page.locator(".issue-facts")).to_contain_text(BULLETIN)

    instruct = page.locator("details#act-instruct")
    instruct.locator("summary").click()
    instruct.get_by_label(re.compile("^批示领导")).fill(LEADER)
    instruct.get_by_label(re.compile("^批示内容")).fill(INSTRUCTION)
    with app.app_context():
        today = datetime.now(local_zone()).date()
    instruct.get_by_label(re.compile("^批示日期")).fill(today.isoformat())
    instruct.get_by_role("button", name="确认登记批示").click()
    expect(flash(page)).to_contain_text(f"已登记社情民意信息 {reference} 获得的批示。")
    expect(page.locator(".issue-badges")).to_contain_text("获批示")
    instruction = page.get_by_role("region", name="批示")
    expect(instruction).to_contain_text(LEADER)
    expect(instruction).to_contain_text(INSTRUCTION)
    expect(instruction).to_contain_text("尚未登记落实情况")

    follow = page.locator("details#act-follow_up")
    follow.locator("summary").click()
    follow.get_by_label(re.compile("^落实情况")).fill(FOLLOW_UP)
    follow.get_by_role("button", name="确认登记批示落实情况").click()
    expect(flash(page)).to_contain_text(f"已更新社情民意信息 {reference} 的批示落实情况。")
    expect(page.get_by_role("region", name="批示")).to_contain_text(FOLLOW_UP)
    shots(page, "2a-city-adopts-and-records-instruction")
    desk.close()

    # --- 3. The coordinator sees it from the event; the public year report counts it ----------
    phone, page = new_page(browser, PHONE)
    sign_in(page, base, *cast.coordinator)
    page.goto(f"{base}/manage/events/{cast.event_id}")
    linked = page.locator("section.opinion-linked")
    expect(linked).to_contain_text(reference)
    expect(linked).to_contain_text("已采用")
    linked.get_by_role("link", name=REPORT_TITLE).click()
    expect(page.get_by_role("region", name="批示")).to_contain_text(INSTRUCTION)
    on_phone(page)
    shots(page, "3a-report-on-phone")
    phone.close()

    phone, page = new_page(browser, PHONE)
    page.goto(base + "/")
    go(page, "年度报告")
    page.get_by_role("link", name=re.compile(f"{year}")).first.click()
    expect(page.locator(".cppcc-opinions")).to_have_text(
        f"{year}年，全市报送社情民意信息1篇，全年报送涉及民生实事的社情民意信息1条，"
        "占全年报送信息总数的100%。")
    on_phone(page)
    shots(page, "3b-public-year-report")
    phone.close()


PROPOSAL_TITLE = "关于简化老旧小区加装电梯审批、统一补贴标准的建议"
SUGGESTIONS = ("一、由市住房和城市更新局牵头实行联合审批；\n二、全市统一加装电梯补贴标准；\n"
               "三、街道设立协调专员。")
CO_OPINION = "规划审批可与住建审批并联办理，我局同意纳入联合审批。"
REPLY_B = "已将加装电梯联合审批列入明年工作计划，补贴标准正在测算。"
RATING_NOTE = "联合审批没有时间表，居民仍在跑多个部门。"
REPLY_A = "已出台《老旧小区加装电梯联合审批办法》，自下月起一窗受理，补贴标准全市统一。"


def test_proposal_from_two_problems_to_a_satisfied_proposer(
        app: Flask, browser: Any, live_server: str, cast: Cast, shots: Any) -> None:
    base = live_server
    year = this_year(app)
    member_name = cast.member[1]

    # --- 4. The member turns the event's two problems into a proposal, on a phone -------------
    phone, page = new_page(browser, PHONE)
    sign_in(page, base, *cast.member)
    go(page, "提案")
    expect(page.get_by_role("heading", name="提案", level=1)).to_be_visible()
    page.get_by_role("link", name="起草提案").click()
    start = page.get_by_role("region", name="从问题开始")
    for title, _description in PROBLEMS:
        start.get_by_role("checkbox", name=re.compile(re.escape(title))).check()
    on_phone(page)
    shots(page, "4a-member-picks-problems")
    start.get_by_role("button", name="用所选问题起草").click()

    expect(page.get_by_role("heading", name="起草提案", level=1)).to_be_visible()
    evidence = page.get_by_role("group", name="依据")
    for title, _description in PROBLEMS:
        expect(evidence.get_by_role("checkbox", name=re.compile(re.escape(title)))).to_be_checked()
    reasons = page.get_by_label(re.compile("^案由"))
    for _title, description in PROBLEMS:  # the problems' public text, ready to rewrite
        expect(reasons).to_have_value(re.compile(re.escape(description)))
    page.get_by_label(re.compile("^标题")).fill(PROPOSAL_TITLE)
    page.get_by_label(re.compile("^建议")).fill(SUGGESTIONS)
    page.get_by_label(re.compile("^类别")).select_option(label="社会建设")
    page.get_by_label(re.compile("^提案者类型")).select_option(label="委员联名")
    page.get_by_label(re.compile("^联名委员")).select_option(label=cast.co_member)
    page.get_by_label("保存后立即提交").check()
    on_phone(page)
    shots(page, "4b-member-writes-proposal")
    page.get_by_role("button", name="保存", exact=True).click()
    expect(flash(page)).to_contain_text(re.compile(r"提案已提交，编号 \S+。"))
    expect(page.get_by_role("heading", name=PROPOSAL_TITLE, level=1)).to_be_visible()
    expect(page.locator(".issue-badges")).to_contain_text("待审查")
    reference = page.locator(".eyebrow .issue-ref").inner_text().strip()
    facts = page.locator(".issue-facts")
    expect(facts).to_contain_text(f"{member_name}（领衔）、{cast.co_member}")
    for title, _description in PROBLEMS:
        expect(page.get_by_role("region", name="依据")).to_contain_text(title)
    on_phone(page)
    shots(page, "4c-proposal-submitted")

    # --- 5. City staff accept it: a lead and a co-handling department --------------------------
    desk, staff = new_page(browser, DESKTOP)
    sign_in(staff, base, *cast.admin)
    go(staff, "提案")
    staff.get_by_role("link", name=PROPOSAL_TITLE).click()
    expect(staff.get_by_role("heading", name=PROPOSAL_TITLE, level=1)).to_be_visible()
    accept = staff.locator("details#act-accept")
    expect(accept).to_have_attribute("open", "")  # what staff do with a new proposal
    accept.get_by_label(re.compile("^主办单位")).select_option(label=cast.lead)
    accept.get_by_label(re.compile("^会办单位")).select_option(label=cast.co)
    accept.get_by_role("button", name="确认立案").click()
    expect(flash(staff)).to_contain_text(re.compile(
        rf"提案 {re.escape(reference)} 已立案，案号 \S+，交{cast.lead}主办，办理期限 \S+。"))
    expect(staff.locator(".issue-badges")).to_contain_text("已立案")
    facts = staff.locator(".issue-facts")
    expect(facts).to_contain_text(cast.lead)
    expect(facts).to_contain_text(cast.co)
    shots(staff, "5a-staff-accept")

    # --- 6. The co-handling department gives its opinion; the lead department signs for it
    # and answers B; the member is not satisfied; the lead answers again, A; satisfied ---------
    co_desk, co_page = new_page(browser, DESKTOP)
    sign_in(co_page, base, *cast.co_contact)
    go(co_page, "提案")
    co_page.get_by_role("link", name=PROPOSAL_TITLE).click()
    expect(co_page.locator("details#act-reply")).to_have_count(0)  # the lead department's
    opinion = co_page.locator("details#act-co_opinion")
    opinion.locator("summary").click()
    opinion.get_by_label(re.compile("^会办意见")).fill(CO_OPINION)
    opinion.get_by_role("button", name="确认提出会办意见").click()
    expect(flash(co_page)).to_contain_text(f"已对提案 {reference} 执行“提出会办意见”。")
    expect(co_page.get_by_role("region", name="会办意见")).to_contain_text(CO_OPINION)
    co_desk.close()

    dept, lead_page = new_page(browser, DESKTOP)
    sign_in(lead_page, base, *cast.lead_contact)
    go(lead_page, "提案")
    lead_page.get_by_role("link", name=PROPOSAL_TITLE).click()
    expect(lead_page.get_by_role("region", name="会办意见")).to_contain_text(cast.co)
    expect(lead_page.get_by_role("region", name="会办意见")).to_contain_text(CO_OPINION)
    lead_page.get_by_role("button", name=re.compile("^签收")).click()
    expect(flash(lead_page)).to_contain_text(f"已对提案 {reference} 执行“签收”。")
    expect(lead_page.locator(".issue-badges")).to_contain_text("已签收")
    expect(lead_page.locator(".issue-facts")).to_contain_text(f"{cast.lead}（")  # 签收 date
    reply(lead_page, "B 列入计划正在解决", REPLY_B, reference)
    shots(lead_page, "6a-department-replies-b")

    page.reload()
    expect(page.locator(".issue-badges")).to_contain_text("已办复")
    expect(page.get_by_role("region", name="办复内容")).to_contain_text(REPLY_B)
    rate = page.locator("details#act-rate")
    rate.get_by_role("radio", name="不满意").check()
    rate.get_by_label(re.compile("^意见")).fill(RATING_NOTE)
    on_phone(page)
    shots(page, "6b-member-rates-unsatisfied")
    rate.get_by_role("button", name="确认评价办复").click()
    expect(flash(page)).to_contain_text(
        f"已记录评价：不满意。提案 {reference} 退回主办单位重新办理。")
    expect(page.locator(".issue-badges")).to_contain_text("重新办理 1 次")

    lead_page.reload()
    expect(lead_page.locator(".issue-badges")).to_contain_text("重新办理 1 次")
    expect(lead_page.locator(".issue-timeline")).to_contain_text(RATING_NOTE)
    reply(lead_page, "A 已解决或采纳", REPLY_A, reference)
    shots(lead_page, "6c-department-replies-a")
    dept.close()

    page.reload()
    expect(page.get_by_role("region", name="办复内容")).to_contain_text(REPLY_A)
    rate = page.locator("details#act-rate")
    rate.get_by_role("radio", name="满意", exact=True).check()
    rate.get_by_role("button", name="确认评价办复").click()
    expect(flash(page)).to_contain_text(f"已记录评价：满意。提案 {reference} 已办结。")
    expect(page.locator(".issue-badges")).to_contain_text("提案者评价：满意")
    go(page, "提案")  # the member's list
    mine = page.locator(".issue-item", has_text=PROPOSAL_TITLE)
    expect(mine).to_contain_text(reference)
    expect(mine).to_contain_text("已办结")
    on_phone(page)
    shots(page, "6d-member-proposal-list")
    phone.close()

    # City staff see the whole round trip on the timeline.
    staff.reload()
    timeline = staff.locator(".issue-timeline")
    for step in ("立案", "办复", "评价办复"):
        expect(timeline).to_contain_text(step)
    expect(staff.locator(".issue-badges")).to_contain_text("已办结")
    desk.close()

    # --- 7. The public proposal page, the year's review, the year report ----------------------
    phone, page = new_page(browser, PHONE)
    page.goto(base + "/")
    go(page, "提案办理")
    expect(page.get_by_text("共 1 件提案")).to_be_visible()
    page.get_by_role("link", name=PROPOSAL_TITLE).click()
    expect(page.get_by_role("heading", name=PROPOSAL_TITLE, level=1)).to_be_visible()
    facts = page.locator("main .facts")
    expect(facts).to_contain_text(f"{member_name}（领衔）、{cast.co_member}")
    expect(facts).to_contain_text("委员联名")
    expect(facts).to_contain_text(cast.lead)
    expect(facts).to_contain_text(cast.co)
    expect(facts).to_contain_text("A 已解决或采纳")
    expect(page.get_by_role("region", name="办复内容")).to_contain_text(REPLY_A)
    main = page.locator("main")
    for title, _description in PROBLEMS:
        expect(main).to_contain_text(title)
    public_text = main.inner_text()
    for private in (REPLY_B, RATING_NOTE, CO_OPINION, cast.lead_contact[1], cast.co_contact[1],
                    cast.admin[1], "不满意"):
        assert private not in public_text, f"the public proposal page shows {private!r}"
    on_phone(page)
    shots(page, "7a-public-proposal")

    page.goto(f"{base}/proposals")
    page.get_by_role("link", name=f"{year}年提案办理回顾").click()
    expect(page.get_by_role("heading", name=f"{year}年提案办理回顾", level=1)).to_be_visible()
    expect(page.locator("p.lead")).to_have_text(
        f"{year}年共提出提案1件，立案1件，其中委员个人或联名提案1件，占100.0%；集体提案0件，"
        "占0.0%。已办复1件。")
    outcomes = page.get_by_role("table", name="办复结果（占立案数）")
    expect(outcomes.get_by_role("row", name=re.compile("^A 已解决或采纳"))).to_contain_text("1")
    on_phone(page)
    shots(page, "7b-public-review")

    page.goto(f"{base}/reports")
    page.get_by_role("link", name=re.compile(f"{year}")).first.click()
    paragraph = page.locator(".cppcc-proposals")
    expect(paragraph).to_contain_text(
        f"{year}年，共提出提案1件，经审查立案1件，其中委员个人或联名提案1件，占100.0%")
    expect(paragraph).to_contain_text("已解决或采纳的1件，占100.0%")
    on_phone(page)
    shots(page, "7c-public-year-report")
    phone.close()


def reply(page: Any, outcome: str, text: str, reference: str) -> None:
    """The lead department's reply (办复) from the proposal's page."""
    form = page.locator("details#act-reply")
    expect(form).to_have_attribute("open", "")
    form.get_by_role("radio", name=outcome).check()
    form.get_by_label(re.compile("^办复内容")).fill(text)
    form.get_by_role("button", name="确认办复").click()
    expect(flash(page)).to_contain_text(f"已办复提案 {reference}，等待提案者评价。")
    expect(page.locator(".issue-badges")).to_contain_text("已办复")
    expect(page.get_by_role("region", name="办复内容")).to_contain_text(text)
