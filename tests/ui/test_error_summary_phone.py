"""On a phone, a refused 交办 is said on the first screen and takes the focus (Chromium).

Before, the page reloaded at its top and the message sat by the due date, some 1,300 px
below. tests/ui/test_error_summary.py checks the markup of many forms; this checks what a
person holding a 390 × 844 phone sees.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from tests.support.auth import TEST_PASSWORD
from tests.support.e2e import PHONE, new_page, on_phone, serve

sync_api = pytest.importorskip("playwright.sync_api",
                               reason="Playwright missing (pip install -e '.[browser]')")
expect = sync_api.expect

# What the phone shows: laid out the same whatever the database, so checked once.
pytestmark = [pytest.mark.slow, pytest.mark.database_independent]

PAST = "2020-01-01"


def test_a_refused_assignment_is_on_the_first_screen_and_focused(app: Flask, browser: Any,
                                                                 make: Any) -> None:
    district = make("district", name="江岸区")
    platform = make("platform", district_id=district.id)
    make("department", name="市水务局")
    make("user", role="district_admin", district_id=district.id, username="wangli", name="王丽")
    # A long problem, so its page is long: the form is far below the first screen.
    issue = make("issue", platform_id=platform.id, title="东门路灯不亮",
                 description="东门两盏路灯不亮已有一周，晚上出行不便。" * 30)
    with serve(app) as base:
        context, page = new_page(browser, PHONE)
        try:
            page.goto(base + "/login")
            page.get_by_label("用户名").fill("wangli")
            page.get_by_label("密码").fill(TEST_PASSWORD)
            page.get_by_role("button", name="登录", exact=True).click()
            page.goto(f"{base}/manage/issues/{issue.id}")
            block = page.locator("details#act-assign")
            if block.get_attribute("open") is None:
                block.locator("summary").click()
            block.get_by_label("承办单位").select_option(label="市水务局")
            block.get_by_label("办理期限").fill(PAST)
            form_top = block.evaluate("e => e.getBoundingClientRect().top + window.scrollY")
            assert form_top > 844, "the form is on the first screen: the test proves nothing"
            block.get_by_role("button", name="确认交办").click()

            summary = page.locator(".error-summary")
            expect(summary).to_contain_text("交办没有成功")
            expect(summary).to_be_focused()
            top = summary.evaluate("e => e.getBoundingClientRect().top + window.scrollY")
            assert top < 844, f"the summary starts {top:.0f} px down the page"
            on_phone(page)
            # Its link leads to the date, kept as typed, in the form left open.
            summary.get_by_role("link", name="办理期限不能早于今天").click()
            date = page.locator("#assign-due_on")
            expect(date).to_have_value(PAST)
            expect(date).to_be_in_viewport()
        finally:
            context.close()
