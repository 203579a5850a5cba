"""Issue 14's journey through the real UI in Chromium: review before public, and a department
in the loop.

1. A resident on a phone submits a problem in their own words, with their name and phone in
   the text; nothing of it is public.
2. The district admin at a desk finds it waiting for review, sees the personal data marked,
   is refused when the public text still holds the phone number, publishes an edited text and
   assigns it: the routing rule has pre-filled the department and the due date.
3. The department's contact, on a phone, acknowledges it from the dashboard and replies with a
   proposed outcome; the public page still says 办理中 and never shows the reply.
4. The district admin returns the reply for rework once; the department sees why on its
   dashboard and replies again; the district admin confirms.
5. The resident follows the receipt, sees the confirmed outcome and rates it.

Only the world (district, platform, staff, departments, a routing rule) is made directly;
every step after that is clicks and typing. Screenshots land in
artifacts/e2e-review/<database>/ (ignored by git).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from flask import Flask

from consult_hub.core.timefmt import local_zone
from consult_hub.extensions import db
from tests.support.auth import TEST_PASSWORD
from tests.support.e2e import (
    ARTIFACTS,
    DESKTOP,
    PHONE,
    chromium,
    chromium_missing,
    flash,
    new_page,
    on_phone,
    serve,
    shoot,
)
from tests.support.world import ReviewJourneyWorld as World

sync_api = pytest.importorskip("playwright.sync_api",
                               reason="Playwright missing (pip install -e '.[browser]')")
expect = sync_api.expect

pytestmark = [pytest.mark.slow, pytest.mark.world("review_journey")]

NAME, PHONE_NUMBER = "王小红", "13800138123"
RESIDENT_TITLE = "12栋旁边路灯不亮"
RESIDENT_TEXT = (f"我是{NAME}，电话{PHONE_NUMBER}，住百步亭花园12栋3单元。"
                 "楼旁两盏路灯坏了一个月，晚上很黑，老人出门不方便。")
PUBLIC_TITLE = "百步亭花园12栋旁路灯不亮"
PUBLIC_SUMMARY = "百步亭花园12栋旁两盏路灯损坏约一个月，夜间照明不足，影响居民出行。"
FIRST_REPLY = "已安排维修。"
REWORK_REASON = "请写明维修完成的日期和今后的巡查安排。"
FINAL_REPLY = "12月5日已更换两盏路灯并恢复照明；今后每月巡查一次。"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    reason = chromium_missing()
    if reason:
        pytest.skip(reason)
    expect.set_options(timeout=10_000)
    with chromium(sync_api) as launched:
        yield launched


@pytest.fixture()
def live_server(app: Flask) -> Iterator[str]:
    with serve(app) as url:
        yield url


@pytest.fixture()
def shots(app: Flask) -> Any:
    with app.app_context():
        folder = ARTIFACTS / "e2e-review" / db.engine.dialect.name
    return lambda page, name: shoot(page, folder, name)


def sign_in(page: Any, base: str, username: str, name: str) -> None:
    page.goto(base + "/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(TEST_PASSWORD)
    page.get_by_role("button", name="登录", exact=True).click()
    expect(flash(page)).to_contain_text(name)
    expect(page.get_by_role("heading", name="工作台", level=1)).to_be_visible()


def act(page: Any, action: str) -> Any:
    """The folded form of one action on the staff problem page, opened."""
    block = page.locator(f"details#act-{action}")
    if block.get_attribute("open") is None:
        block.locator("summary").click()
    return block


def not_public(page: Any, base: str, reference: str, *texts: str) -> None:
    """Nothing of the problem on the public site: its page is 404, the outcomes lack it."""
    answer = page.request.get(f"{base}/issues/{reference}")
    assert answer.status == 404, f"/issues/{reference} answered {answer.status}"
    outcomes = page.request.get(f"{base}/outcomes").text()
    feed = page.request.get(f"{base}/feeds/outcomes.atom").text()
    api = page.request.get(f"{base}/api/v1/issues?per_page=100").text()
    for text in (reference, *texts):
        for where, body in (("outcomes", outcomes), ("feed", feed), ("API", api)):
            assert text not in body, f"{text!r} is public in the {where} before review"


def test_submit_review_publish_assign_reply_rework_confirm_and_rate(
        app: Flask, browser: Any, live_server: str, world: World, shots: Any) -> None:
    base = live_server
    with app.app_context():
        zone = local_zone()
    today = datetime.now(zone).date()

    # --- 1. A resident, on a phone ----------------------------------------------------------
    phone, page = new_page(browser, PHONE)
    page.goto(base + "/submit")
    page.get_by_label(re.compile("^平台名称或地址")).fill("百步亭")
    page.get_by_role("button", name="查找").click()
    page.get_by_role("combobox", name=re.compile("^协商平台")).select_option(label=world.platform)
    page.get_by_label("房前屋后实事").check()
    page.get_by_label("所属领域").select_option(label="社会建设")
    page.get_by_label("标题").fill(RESIDENT_TITLE)
    page.get_by_label("问题描述").fill(RESIDENT_TEXT)
    page.get_by_label("姓名（选填）").fill(NAME)
    page.get_by_label("联系电话（选填）").fill(PHONE_NUMBER)
    expect(page.get_by_role("link", name=re.compile("个人信息保护说明")).first).to_be_visible()
    # Without consent nothing is stored, and nothing typed is lost.
    page.get_by_role("button", name="提交", exact=True).click()
    expect(page.locator("main")).to_contain_text("同意")
    expect(page.get_by_label("问题描述")).to_have_value(RESIDENT_TEXT)
    page.get_by_label(re.compile("我已阅读并同意")).check()
    on_phone(page)
    shots(page, "1a-resident-submits")
    page.get_by_role("button", name="提交", exact=True).click()
    expect(page.locator("main")).to_contain_text("经工作人员受理后")
    receipt = page.locator(".pub-receipt-code").inner_text().strip()
    assert re.fullmatch(r"[A-Z0-9]+-\d+", receipt), receipt
    tracking_url = page.get_by_role("link", name=re.compile("进度")).first.get_attribute("href")
    on_phone(page)
    shots(page, "1b-receipt")
    not_public(page, base, receipt, RESIDENT_TITLE, PHONE_NUMBER, NAME)

    # --- 2. The district admin, at a desk: review, publish, assign ---------------------------
    desk, staff = new_page(browser, DESKTOP)
    sign_in(staff, base, *world.district_admin)
    staff.goto(base + "/manage/issues/?status=pending")
    staff.get_by_role("link", name=RESIDENT_TITLE).click()
    expect(staff.get_by_role("heading", name=RESIDENT_TITLE, level=1)).to_be_visible()
    review = staff.locator(".issue-review")
    expect(review.locator("mark.issue-pii-phone")).to_contain_text(PHONE_NUMBER)
    expect(review.locator("mark.issue-pii-name").first).to_contain_text(NAME)
    shots(staff, "2a-review")

    accept = act(staff, "accept")
    # The resident's words are pre-filled: publishing them as they are is refused.
    expect(accept.get_by_label("公开摘要")).to_have_value(RESIDENT_TEXT)
    accept.get_by_role("button", name=re.compile("^确认")).click()
    # Refused: the summary at the top names the field, and the message sits by the field too.
    expect(staff.locator(".error-summary")).to_contain_text("公开内容中含有电话号码")
    expect(staff.locator(".error-summary")).to_be_focused()
    accept = act(staff, "accept")
    expect(accept.get_by_text("公开内容中含有电话号码")).to_be_visible()
    accept.get_by_label("公开标题").fill(PUBLIC_TITLE)
    accept.get_by_label("公开摘要").fill(PUBLIC_SUMMARY)
    accept.get_by_role("button", name=re.compile("^确认")).click()
    expect(staff.get_by_role("heading", name=PUBLIC_TITLE, level=1)).to_be_visible()
    expect(staff.locator(".issue-badges")).to_contain_text("已受理")

    assign = act(staff, "assign")  # pre-filled by the routing rule (路灯 → 城管, 10 days)
    expect(assign.get_by_label("承办单位").locator("option:checked")).to_have_text(
        world.department)
    expect(assign.get_by_label("办理期限")).to_have_value((today + timedelta(days=10)).isoformat())
    assign.get_by_role("button", name=re.compile("^确认交办")).click()
    expect(staff.locator(".issue-badges")).to_contain_text("已交办")
    shots(staff, "2b-published-and-assigned")

    # Now public, in the staff's words only.
    public = page.request.get(f"{base}/issues/{receipt}")
    assert public.status == 200
    for private in (NAME, PHONE_NUMBER, RESIDENT_TEXT):
        assert private not in public.text(), f"{private!r} on the public page"
    assert PUBLIC_TITLE in public.text()

    # --- 3. The department, on a phone: acknowledge and reply -------------------------------
    dept_context, dept = new_page(browser, PHONE)
    sign_in(dept, base, *world.department_user)
    new = dept.locator("section", has=dept.get_by_role("heading", name=re.compile("新交办")))
    new.get_by_role("link", name=re.compile(PUBLIC_TITLE)).click()
    on_phone(dept)
    dept.get_by_role("button", name=re.compile("^签收")).click()
    expect(dept.locator(".issue-badges")).to_contain_text("已签收")
    reply = act(dept, "reply")
    reply.get_by_label("已解决或采纳").check()
    reply.get_by_label(re.compile("^答复内容")).fill(FIRST_REPLY)
    on_phone(dept)
    shots(dept, "3a-department-replies")
    reply.get_by_role("button", name=re.compile("^确认")).click()
    expect(dept.locator(".issue-badges")).to_contain_text("已答复待确认")
    # Not for the department to confirm.
    expect(dept.locator("details#act-confirm")).to_have_count(0)

    answer = page.request.get(f"{base}/issues/{receipt}").text()
    assert "办理中" in answer and FIRST_REPLY not in answer, "an unconfirmed reply is public"

    # --- 4. Rework once, then confirm -------------------------------------------------------
    staff.reload()
    expect(staff.locator("main")).to_contain_text(FIRST_REPLY)
    rework = act(staff, "rework")
    rework.get_by_label(re.compile("理由")).fill(REWORK_REASON)
    rework.get_by_role("button", name=re.compile("^确认")).click()
    expect(staff.locator(".issue-badges")).to_contain_text("办理中")

    dept.goto(base + "/dashboard")
    returned = dept.locator("section", has=dept.get_by_role("heading", name=re.compile("退回重办")))
    expect(returned).to_contain_text(REWORK_REASON)
    returned.get_by_role("link", name=re.compile(PUBLIC_TITLE)).click()
    reply = act(dept, "reply")
    reply.get_by_label("已解决或采纳").check()
    reply.get_by_label(re.compile("^答复内容")).fill(FINAL_REPLY)
    reply.get_by_role("button", name=re.compile("^确认")).click()
    expect(dept.locator(".issue-badges")).to_contain_text("已答复待确认")
    on_phone(dept)
    shots(dept, "4a-department-replies-again")
    dept_context.close()

    staff.reload()
    expect(staff.locator("main")).to_contain_text(FINAL_REPLY)
    confirm = act(staff, "confirm")
    confirm.get_by_role("button", name=re.compile("^确认办结")).click()
    expect(staff.locator(".issue-badges")).to_contain_text("已解决或采纳")
    shots(staff, "4b-confirmed")
    desk.close()

    # --- 5. The resident sees the confirmed outcome and rates it ----------------------------
    page.goto(tracking_url if tracking_url.startswith("http") else base + tracking_url)
    page.get_by_label("受理编号").fill(receipt)
    page.get_by_label("联系电话后四位").fill(PHONE_NUMBER[-4:])
    page.get_by_role("button", name="查询", exact=True).click()
    main = page.locator("main")
    expect(main).to_contain_text("已解决或采纳")
    expect(main).to_contain_text(FINAL_REPLY)
    expect(main).not_to_contain_text(FIRST_REPLY)
    expect(main).not_to_contain_text(REWORK_REASON)
    page.get_by_label("满意", exact=True).check()
    on_phone(page)
    shots(page, "5a-resident-rates")
    page.get_by_role("button", name=re.compile("提交评价|评价")).click()
    expect(page.locator("main")).to_contain_text("满意")
    answer = page.request.get(f"{base}/issues/{receipt}").text()
    assert FINAL_REPLY in answer and "满意" in answer
    phone.close()
