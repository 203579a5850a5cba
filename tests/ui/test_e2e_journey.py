"""One journey through the real UI in Chromium: plan → hold with problems → assign → resolve
→ public.

1. A coordinator on a phone plans an event, then records it held with minutes, attendance
   and two problems raised at it, all on one page.
2. A district admin at a desk finds one of the problems, assigns it to a department with a
   due date, notes something private, and resolves it with a public answer.
3. A resident on a phone finds the outcome on the public site, submits a problem of their
   own and follows it by its receipt (reference + last four phone digits: the problems
   raised at an event carry no phone), and subscribes to the platform's calendar, which
   holds the event.

Only the world (district, platform, members, people, department) is made directly; every
step after that is clicks and typing. One exception, the clock: an event can only be
recorded once it has started, and neither planning nor editing accepts a start in the past
(both refuse it on purpose), so between planning and recording the test moves the event
three days back in the database, as if those days had passed.

Screenshots of every step land in artifacts/e2e/<database>/ (ignored by git).
"""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from typing import Any

import icalendar
import pytest
import sqlalchemy as sa
from flask import Flask

from consult_hub.core.timefmt import local_zone
from consult_hub.extensions import db
from consult_hub.models import Event
from tests.support.auth import TEST_PASSWORD
from tests.support.e2e import (
    DESKTOP,
    PHONE,
    flash,
    new_page,
    on_phone,
)
from tests.support.world import JourneyWorld as World

sync_api = pytest.importorskip("playwright.sync_api",
                               reason="Playwright missing (pip install -e '.[browser]')")
expect = sync_api.expect
SHOTS = "e2e"  # artifacts/e2e/<database>/ (tests/support/browser.py)

pytestmark = [pytest.mark.slow, pytest.mark.world("journey")]

TOPIC = "百步亭花园停车难协商"
LOCATION = "百步亭花园社区党群服务中心二楼会议室"
PROBLEMS = [
    ("东门夜间停车占用消防通道", "晚上八点后东门两侧停满车辆，消防车进不来。", "群众急难愁盼问题"),
    ("3 栋楼道堆放杂物", "3 栋一至三楼楼道堆放旧家具，影响通行。", "房前屋后实事"),
]
RESOLUTION = "已在东门施划禁停标线并安装隔离桩，城管夜间巡查，消防通道已畅通。"
PRIVATE_NOTE = "已电话回访提出问题的刘阿姨，电话 13907150042"
RESIDENT = {"title": "小区路灯不亮", "description": "12 栋旁边两盏路灯坏了一个月，晚上很黑。",
            "name": "王小红", "phone": "13800138123"}


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
    expect(page.get_by_role("heading", name="工作台", level=1)).to_be_visible()


def local_input(moment: datetime) -> str:
    """A time as a ``datetime-local`` input takes it."""
    return moment.strftime("%Y-%m-%dT%H:%M")


def test_plan_hold_assign_resolve_and_follow_on_the_public_site(
        app: Flask, browser: Any, live_server: str, world: World, shots: Any) -> None:
    base = live_server
    with app.app_context():
        zone = local_zone()
    today = datetime.now(zone).date()
    planned_start = datetime.combine(today + timedelta(days=2), time(19, 0), zone)
    planned_end = planned_start + timedelta(hours=2)

    # --- 1. The coordinator, on a phone -----------------------------------------------------
    phone, page = new_page(browser, PHONE)
    sign_in(page, base, *world.coordinator)
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="活动").click()
    page.get_by_role("link", name="安排活动").click()  # one platform: straight to its form
    expect(page.get_by_role("heading", name="安排协商议事活动")).to_be_visible()
    expect(page.get_by_text(world.platform)).to_be_visible()
    expect(page.get_by_label("地点")).to_have_value(world.address)  # the platform's, to change
    page.get_by_label("议题").fill(TOPIC)
    page.get_by_label("类别").select_option(label="社会建设")
    page.get_by_label(re.compile("^开始时间")).fill(local_input(planned_start))
    page.get_by_label(re.compile("^结束时间")).fill(local_input(planned_end))
    page.get_by_label("地点").fill(LOCATION)
    page.get_by_label("形式").select_option(label="现场")
    page.get_by_label("议程").fill("- 通报东门停车情况\n- 居民发言\n- 形成协商意见")
    on_phone(page)
    shots(page, "1a-coordinator-plans")
    page.get_by_role("button", name="保存").click()
    expect(flash(page)).to_contain_text("已安排。")
    expect(page.get_by_role("heading", name=TOPIC)).to_be_visible()
    expect(page.locator(".event-state")).to_contain_text("计划中")
    expect(page.get_by_text(LOCATION)).to_be_visible()
    # Not started yet: nothing to record, as the page explains.
    expect(page.get_by_role("link", name="记为已举行")).to_have_count(0)
    expect(page.get_by_text("活动开始后可以“记为已举行”")).to_be_visible()
    on_phone(page)
    shots(page, "1b-event-planned")

    # The clock moves on: the event took place yesterday evening (see the module docstring).
    shift = timedelta(days=3)
    with app.app_context():
        event = db.session.scalar(sa.select(Event).where(Event.topic == TOPIC))
        assert event is not None
        event.starts_at -= shift
        event.ends_at -= shift
        db.session.commit()
    held_start, held_end = planned_start - shift, planned_end - shift + timedelta(minutes=30)

    page.reload()
    expect(page.get_by_text("请尽快补录纪要")).to_be_visible()  # the page now asks for minutes
    page.get_by_role("link", name="记为已举行").click()
    expect(page.get_by_role("heading", name="记为已举行")).to_be_visible()
    expect(page.get_by_label("实际开始时间")).to_have_value(local_input(held_start))
    page.get_by_label("实际结束时间").fill(local_input(held_end))  # it ran half an hour over
    page.get_by_label(re.compile("^纪要")).fill(
        "会议通报了东门夜间停车情况，居民代表、城管和物业发言。\n\n议定先施划禁停标线。")
    page.get_by_label("协商意见").fill("东门两侧施划禁停标线；物业开放地下车库夜间停车。")
    for member in world.members:
        page.get_by_label(member).check()
    page.get_by_label("居民代表人数").fill("15")
    page.get_by_label("职能部门数").fill("2")
    page.get_by_label("专家人数").fill("0")
    for number, (title, description, kind) in enumerate(PROBLEMS, start=1):
        row = page.get_by_role("group", name=f"问题 {number}", exact=True)
        row.get_by_label("问题标题").fill(title)
        row.get_by_label("问题描述").fill(description)
        row.get_by_label("问题类型").select_option(label=kind)
        row.get_by_label("类别").select_option(label="社会建设")
    on_phone(page)
    shots(page, "1c-coordinator-records-held")
    page.get_by_role("button", name="保存为已举行").click()
    expect(flash(page)).to_contain_text("活动已记为已举行，纪要已保存，并登记了 2 个问题。")
    expect(page.locator(".event-state")).to_contain_text("已举行")
    raised = page.locator(".event-issues li")
    expect(raised).to_have_count(2)
    for (title, _description, _kind), item in zip(PROBLEMS, raised.all(), strict=True):
        expect(item).to_contain_text(title)
        expect(item).to_contain_text("已受理")
    references = [item.locator(".issue-ref").inner_text().strip() for item in raised.all()]
    expect(page.get_by_text("李明（")).to_be_visible()
    on_phone(page)
    shots(page, "1d-event-held")
    phone.close()

    # --- 2. The district admin, at a desk ----------------------------------------------------
    desk, page = new_page(browser, DESKTOP)
    sign_in(page, base, *world.district_admin)
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="问题").click()
    title = PROBLEMS[0][0]
    page.get_by_role("search").get_by_label("搜索").fill("东门")
    page.get_by_role("button", name="搜索", exact=True).click()
    page.get_by_role("link", name=title).click()
    expect(page.get_by_role("heading", name=title, level=1)).to_be_visible()
    expect(page.locator(".issue-badges")).to_contain_text("已受理")

    assign = page.locator("details#act-assign")
    assign.locator("summary").click()
    assign.get_by_label("承办单位").select_option(label=world.department)
    due = today + timedelta(days=14)
    assign.get_by_label("办理期限").fill(due.isoformat())
    assign.get_by_role("button", name="确认交办").click()
    expect(flash(page)).to_contain_text(
        f"已将问题 {references[0]} 交办给{world.department}，办理期限为 {due.isoformat()}。")
    expect(page.locator(".issue-badges")).to_contain_text("已交办")
    expect(page.locator(".issue-facts")).to_contain_text(world.department)
    expect(page.locator(".issue-facts")).to_contain_text(due.isoformat())
    shots(page, "2a-admin-assigned")

    note = page.locator("details#act-note")
    note.locator("summary").click()
    note.get_by_label("办理进展").fill(PRIVATE_NOTE)
    note.get_by_label("在进度查询页面公开显示").uncheck()
    note.get_by_role("button", name="确认办理进展").click()
    expect(flash(page)).to_contain_text(f"已为问题 {references[0]} 添加办理进展。")
    expect(page.locator(".issue-timeline")).to_contain_text("仅内部")

    resolve = page.locator("details#act-resolve")
    resolve.locator("summary").click()
    resolve.get_by_label("办理结果（公开）").fill(RESOLUTION)
    resolve.get_by_role("button", name="确认办结").click()
    expect(flash(page)).to_contain_text(f"问题 {references[0]} 已办结：已解决或采纳。")
    expect(page.locator(".issue-badges")).to_contain_text("已解决或采纳")
    expect(page.locator(".issue-text")).to_contain_text(RESOLUTION)
    shots(page, "2b-admin-resolved")
    desk.close()

    # --- 3. A resident, on a phone, not signed in -------------------------------------------
    phone, page = new_page(browser, PHONE)
    page.goto(base + "/")
    latest = page.locator("section", has=page.get_by_role("heading", name="最新办理成果"))
    expect(latest).to_contain_text(title)
    latest.get_by_role("link", name="全部成果").click()
    expect(page.get_by_role("heading", name="办理成果", level=1)).to_be_visible()
    expect(page.get_by_text("共 1 项办理成果")).to_be_visible()  # the other one is still open
    on_phone(page)
    page.get_by_role("link", name=title).click()

    expect(page.get_by_role("heading", name=title, level=1)).to_be_visible()
    main = page.locator("main")
    expect(main).to_contain_text(references[0])
    expect(main).to_contain_text("已解决或采纳")
    expect(page.get_by_role("region", name="办理结果")).to_contain_text(RESOLUTION)
    expect(main).to_contain_text(world.department)
    expect(main).to_contain_text(TOPIC)  # raised at the event, linked
    public_text = main.inner_text()
    for private in (PRIVATE_NOTE, "13907150042", "刘阿姨", world.coordinator[1],
                    world.district_admin[1], world.coordinator[0], world.district_admin[0]):
        assert private not in public_text, f"the public outcome page shows {private!r}"
    on_phone(page)
    shots(page, "3a-public-outcome")

    # The resident's own problem, at the same platform, reached from the outcome's page.
    page.get_by_role("link", name=world.platform).first.click()
    expect(page.get_by_role("heading", name=world.platform, level=1)).to_be_visible()
    past = page.locator("section", has=page.get_by_role("heading", name="以往活动"))
    expect(past).to_contain_text(TOPIC)
    expect(past).to_contain_text("已举行")
    on_phone(page)
    shots(page, "3b-public-platform")
    subscribe = page.get_by_role("link", name="订阅本平台活动日历").get_attribute("href")
    calendar_href = page.get_by_role("link", name="下载日历文件").get_attribute("href")
    platform_url = page.url

    page.get_by_role("link", name="向这个平台反映问题").click()
    chosen = page.get_by_role("combobox", name=re.compile("^在哪里"))
    expect(chosen.locator("option:checked")).to_contain_text(world.platform)  # from the link
    page.get_by_role("radio", name="路灯", exact=True).check()  # an everyday subject, no jargon
    page.get_by_label("标题").fill(RESIDENT["title"])
    page.get_by_label("问题描述").fill(RESIDENT["description"])
    page.get_by_label("姓名（选填）").fill(RESIDENT["name"])
    page.get_by_label("联系电话（选填）").fill(RESIDENT["phone"])
    page.get_by_label(re.compile("我已阅读并同意")).check()
    on_phone(page)
    shots(page, "3c-resident-submits")
    page.get_by_role("button", name="提交", exact=True).click()
    expect(page.get_by_role("heading", name="提交成功，感谢您的反映")).to_be_visible()
    receipt = page.locator(".pub-receipt-code").inner_text().strip()
    assert re.fullmatch(r"[A-Z0-9]+-\d+", receipt), receipt
    on_phone(page)
    shots(page, "3d-receipt")

    page.get_by_role("link", name="去进度查询").click()
    expect(page.get_by_role("heading", name="进度查询", level=1)).to_be_visible()
    page.get_by_label("受理编号").fill(receipt)
    page.get_by_label("联系电话后四位").fill(RESIDENT["phone"][-4:])
    page.get_by_role("button", name="查询", exact=True).click()
    expect(page.get_by_role("heading", name=RESIDENT["title"], level=1)).to_be_visible()
    tracking = page.locator("main")
    expect(tracking).to_contain_text(receipt)
    expect(tracking).to_contain_text("待受理")  # waiting for review: not public yet
    expect(tracking).to_contain_text(world.platform)
    for private in (RESIDENT["name"], RESIDENT["phone"]):
        expect(tracking).not_to_contain_text(private)
    on_phone(page)
    shots(page, "3e-tracking")

    # Until staff review it, the problem has no public page (tests/ui/
    # test_review_department_journey.py follows it through review).
    assert page.request.get(f"{base}/issues/{receipt}").status == 404

    # The calendar linked from the platform page holds the event, as it was held; the calendar
    # app's subscribe link is the same address under webcal://.
    assert calendar_href, f"no calendar link on {platform_url}"
    assert subscribe == "webcal://" + calendar_href.split("://", 1)[1]
    answer = page.request.get(calendar_href)
    assert answer.ok and answer.headers["content-type"].startswith("text/calendar")
    calendar = icalendar.Calendar.from_ical(answer.body())
    found = [e for e in calendar.walk("VEVENT") if str(e["SUMMARY"]) == TOPIC]
    assert len(found) == 1, [str(e["SUMMARY"]) for e in calendar.walk("VEVENT")]
    vevent = found[0]
    assert vevent.decoded("DTSTART") == held_start
    assert vevent.decoded("DTEND") == held_end
    assert str(vevent["LOCATION"]) == LOCATION
    phone.close()

