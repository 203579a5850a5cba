"""Issue 14's journey through the real UI in Chromium: review before public, and a department
in the loop.

1. A resident on a phone submits a problem in plain words: finds the place by searching for
   their street, picks an everyday subject (no programme terms to choose), writes their name
   and phone into the text, attaches a photo straight off a phone camera (with its GPS tag)
   and asks for text messages. The receipt's QR code, decoded from the screen, is the tracking
   link shown beside it and copied by its button; following it shows the status and what
   happens next. Nothing of it is public, the photo included.
2. The district admin at a desk finds it waiting for review, sees the personal data marked,
   the resident's subject and photo, is refused when the public text still holds the phone
   number, publishes an edited text (the kind and category pre-chosen from the subject) and
   assigns it: the routing rule has pre-filled the department and the due date. The photo is
   public now, on the problem's public page, without its camera data.
3. The department's contact, on a phone, acknowledges it from the dashboard and replies with a
   proposed outcome; the public page still says 办理中 and never shows the reply.
4. The district admin returns the reply for rework once; the department sees why on its
   dashboard and replies again; the district admin confirms.
5. The resident opens the tracking link again, sees the confirmed outcome and rates it.

Only the world (district, platform, staff, departments, a routing rule) is made directly;
every step after that is clicks and typing. Screenshots land in
artifacts/e2e-review/<database>/ (ignored by git).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
import zxingcpp
from flask import Flask
from PIL import Image, ImageDraw

from consult_hub.core.timefmt import local_zone
from tests.support.auth import TEST_PASSWORD
from tests.support.e2e import (
    DESKTOP,
    PHONE,
    flash,
    new_page,
    on_phone,
)
from tests.support.world import ReviewJourneyWorld as World

sync_api = pytest.importorskip("playwright.sync_api",
                               reason="Playwright missing (pip install -e '.[browser]')")
expect = sync_api.expect
SHOTS = "e2e-review"  # artifacts/e2e-review/<database>/ (tests/support/browser.py)

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
# What a resident should never have to choose on the form: the programme's kinds and fields.
JARGON = ("问题类型", "所属领域", "群众急难愁盼问题", "房前屋后实事", "基层治理难事", "经济建设")
GPS_IFD = 0x8825


def phone_photo(folder: Path) -> Path:
    """A photo as a phone camera saves it: a JPEG with the maker and GPS position in EXIF."""
    image = Image.new("RGB", (480, 360), (32, 40, 64))
    draw = ImageDraw.Draw(image)
    draw.rectangle((228, 60, 244, 360), fill=(120, 120, 120))  # a lamp post, its lamp out
    draw.ellipse((206, 30, 266, 80), fill=(70, 70, 70))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    exif[GPS_IFD] = {1: "N", 2: (30.0, 38.0, 2.0), 3: "E", 4: (114.0, 18.0, 40.0)}
    path = folder / "IMG_20261205_2014.jpg"
    image.save(path, "JPEG", exif=exif, quality=80)
    return path


def qr_text(locator: Any) -> list[str]:
    """What a phone's camera reads from the QR code as the page draws it on the screen."""
    with Image.open(BytesIO(locator.screenshot())) as shown:
        return [found.text for found in zxingcpp.read_barcodes(shown)]


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
        app: Flask, browser: Any, live_server: str, world: World, shots: Any,
        tmp_path: Path) -> None:
    base = live_server
    with app.app_context():
        zone = local_zone()
    today = datetime.now(zone).date()

    # --- 1. A resident, on a phone: where and what in their own words, with a photo -----------
    phone, page = new_page(browser, PHONE)
    phone.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
    main = page.locator("main")
    page.goto(base + "/submit")
    on_phone(page)
    shots(page, "1a-resident-opens-the-form")
    # Where: the street's name, as a resident knows it, finds the platforms there, by community.
    page.get_by_label(re.compile("^街道、社区或平台名称")).fill(world.street[:2])
    page.get_by_role("button", name="查找").click()
    expect(main).to_contain_text("找到 2 个可以接收问题的平台")
    place = page.get_by_role("combobox", name=re.compile("^在哪里"))
    street = place.locator(f'optgroup[label="江岸区 · {world.street}"] option')
    expect(street).to_have_text([f"{world.neighbour}（幸福家园社区）",
                                 f"{world.platform}（百步亭花园社区）"])
    place.select_option(label=f"{world.platform}（百步亭花园社区）")
    for jargon in JARGON:  # staff classify it at review, not the resident
        expect(main).not_to_contain_text(jargon)
    page.get_by_role("radio", name="路灯", exact=True).check()
    page.get_by_label("标题").fill(RESIDENT_TITLE)
    page.get_by_label("问题描述").fill(RESIDENT_TEXT)
    photo = phone_photo(tmp_path)
    page.get_by_label(re.compile("^照片")).set_input_files(photo)
    page.get_by_label("姓名（选填）").fill(NAME)
    page.get_by_label("联系电话（选填）").fill(PHONE_NUMBER)
    page.get_by_label(re.compile("^每有新进展，给我发短信")).check()
    expect(page.get_by_role("link", name=re.compile("个人信息保护说明")).first).to_be_visible()
    # Without consent nothing is stored, nothing typed is lost, and the photo is asked again
    # (a refused form keeps no upload).
    page.get_by_role("button", name="提交", exact=True).click()
    expect(main).to_contain_text("同意")
    expect(page.get_by_label("问题描述")).to_have_value(RESIDENT_TEXT)
    expect(page.get_by_role("radio", name="路灯", exact=True)).to_be_checked()
    expect(main).to_contain_text("重新选择照片")
    page.get_by_label(re.compile("^照片")).set_input_files(photo)
    page.get_by_label(re.compile("我已阅读并同意")).check()
    on_phone(page)
    shots(page, "1b-resident-submits")
    page.get_by_role("button", name="提交", exact=True).click()

    # The receipt: the tracking link as text, as a QR code and behind a copy button, the same.
    expect(main).to_contain_text("经工作人员受理后")
    receipt = page.locator(".pub-receipt-code").inner_text().strip()
    assert re.fullmatch(r"[A-Z0-9]+-\d+", receipt), receipt
    tracking_url = page.locator(".pub-receipt-link a").inner_text().strip()
    assert tracking_url.startswith(f"{base}/track/"), tracking_url
    qr = page.get_by_role("img", name="查询链接的二维码")
    expect(qr).to_be_visible()
    assert qr_text(qr) == [tracking_url]
    page.get_by_role("button", name="复制查询链接").click()
    expect(main).to_contain_text("已复制查询链接。")
    assert page.evaluate("navigator.clipboard.readText()") == tracking_url
    expect(main).to_contain_text("您上传了 1 张照片")
    expect(main).to_contain_text("会给您留下的手机号发短信")
    on_phone(page)
    shots(page, "1c-receipt")

    # Following the QR code: the status, and what happens next and by when.
    page.goto(qr_text(qr)[0])
    expect(page.get_by_role("heading", name=RESIDENT_TITLE, level=1)).to_be_visible()
    expect(main).to_contain_text("待受理")
    next_step = page.get_by_role("region", name="接下来")
    expect(next_step).to_contain_text("个工作日内阅读并受理您的问题")
    expect(next_step).to_contain_text("预计在")
    expect(next_step).to_contain_text("每有新进展，我们会给您发短信")
    on_phone(page)
    shots(page, "1d-tracking")
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
    expect(review).to_contain_text("居民选择的常见问题：路灯")
    photo_url = base + review.get_by_role("img", name="居民上传的第 1 张照片").get_attribute("src")
    shots(staff, "2a-review")
    # Before publication the photo is not there for anyone else: 404, not "forbidden".
    visitor_context, visitor = new_page(browser, PHONE)
    assert visitor.request.get(photo_url).status == 404
    assert page.request.get(photo_url).status == 404  # nor for the resident's own browser

    accept = act(staff, "accept")
    # Staff classify it; the resident's subject (路灯) has pre-chosen the kind and category.
    expect(accept.get_by_label("问题类型").locator("option:checked")).to_have_text("房前屋后实事")
    expect(accept.get_by_label("类别").locator("option:checked")).to_have_text("社会建设")
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
    # The resident's photo is on the public page now, shown, without the camera's data.
    visitor.goto(f"{base}/issues/{receipt}")
    shown = visitor.get_by_role("img", name="居民上传的第 1 张照片")
    expect(shown).to_be_visible()
    # Visible is not loaded: wait for the image itself (decode() settles once it has loaded,
    # and fails for a broken one) — on a loaded machine `complete` was still false here once.
    assert shown.evaluate("img => img.decode().then(() => img.naturalWidth > 0, () => false)"), \
        "the photo is broken"
    assert base + shown.get_attribute("src") == photo_url
    served = visitor.request.get(photo_url)
    assert served.ok and served.headers["content-type"] == "image/jpeg"
    with Image.open(BytesIO(served.body())) as public_photo:
        assert dict(public_photo.getexif()) == {}, "the public photo keeps its EXIF (GPS)"
    on_phone(visitor)
    shots(visitor, "2c-public-problem-with-photo")
    visitor_context.close()

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

    # --- 5. The resident opens the tracking link again, sees the outcome and rates it --------
    page.goto(tracking_url)
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
