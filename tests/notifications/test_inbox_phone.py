"""The inbox on a 390 px phone, in Chromium: a district admin's first morning after the first
sweep — escalations on top, the idle platforms in one digest, each group marked read alone.

Screenshots land in artifacts/inbox/<database>/ (ignored by git).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from flask import Flask

from consult_hub.core.db import utcnow
from consult_hub.core.timefmt import local_today
from consult_hub.extensions import db
from consult_hub.issues.operations import change_status
from consult_hub.notifications import reminders
from tests.support import factories
from tests.support.a11y import AXE, axe_violations, describe
from tests.support.auth import TEST_PASSWORD
from tests.support.e2e import (
    ARTIFACTS,
    PHONE,
    flash,
    new_page,
    on_phone,
    serve,
    shoot,
)

sync_api = pytest.importorskip("playwright.sync_api",
                               reason="Playwright missing (pip install -e '.[browser]')")
expect = sync_api.expect

# What the phone shows: laid out the same whatever the database, so checked once.
pytestmark = [pytest.mark.slow, pytest.mark.database_independent]


def first_morning(app: Flask) -> str:
    """A district of 30 platforms that never held an event, three problems three weeks overdue,
    one due in two days; the first sweep has run. Returns the district admin's username."""
    now = utcnow()
    with app.test_request_context():
        today = local_today(now)
        district = factories.district(name="江岸区")
        platforms = [factories.platform(district_id=district.id, established_on=date(2020, 1, 1),
                                        name=f"后湖街第{n}社区协商议事室") for n in range(1, 31)]
        department = factories.department(name="江岸区城市管理执法局")
        for n, days in enumerate((21, 21, 21, -2)):
            issue = factories.issue(platform_id=platforms[n].id, now=now - timedelta(days=60))
            change_status(issue, "assign", actor_id=None, department=department,
                          due_on=today + timedelta(days=365), now=now - timedelta(days=60))
            issue.due_on = today - timedelta(days=days)
        factories.user("coordinator", platform_ids=[platforms[0].id])
        staff = factories.user("district_admin", district_id=district.id, name="王丽")
        db.session.commit()
        reminders.sweep_reminders(now)
        return staff.username


def test_a_district_admins_first_morning_on_a_phone(app: Flask, browser: Any) -> None:
    with app.app_context():
        folder = ARTIFACTS / "inbox" / db.engine.dialect.name
    with serve(app) as base:
        username = first_morning(app)
        # bypass_csp: the accessibility check below injects axe-core's script.
        context, page = new_page(browser, {**PHONE, "bypass_csp": True})
        page.goto(base + "/login")
        page.get_by_label("用户名").fill(username)
        page.get_by_label("密码").fill(TEST_PASSWORD)
        page.get_by_role("button", name="登录", exact=True).click()
        page.wait_for_url("**/dashboard")
        page.goto(base + "/inbox/")
        on_phone(page)
        main = page.locator("main")
        groups = page.locator("nav.inbox-groups a")
        # 3 escalations and 1 digest (the due-soon problem is the coordinator's), in order.
        expect(groups).to_have_text(["全部 4", "督办 3", "月度汇总 1"])
        headings = main.locator(".inbox-section h2")
        expect(headings).to_have_text(["督办 3 条未读", "月度汇总 1 条未读"])
        first = main.locator(".inbox-item").first
        expect(first).to_contain_text("请督办")
        box = first.bounding_box()
        assert box is not None and box["y"] < 844, "the first escalation is below the fold"
        shoot(page, folder, "inbox-phone")

        # The digest opens to its platforms, each a link.
        digest = main.locator("details.inbox-digest")
        digest.locator("summary").click()
        expect(digest.get_by_role("link")).to_have_count(30)
        expect(digest).to_contain_text("从未举行活动")
        on_phone(page)
        shoot(page, folder, "inbox-phone-digest")
        if AXE.exists():  # WCAG 2.2 AA, the pinned colours and the disclosures included
            violations = axe_violations(page)
            assert not violations, describe(page.url, violations)

        # Escalations marked read on their own: the digest stays unread, now on top.
        main.locator(".inbox-section").first.get_by_role(
            "button", name="本类全部标为已读").click()
        expect(flash(page)).to_contain_text("已将 3 条消息标为已读。")
        expect(groups).to_have_text(["全部 1", "督办", "月度汇总 1"])
        expect(headings.first).to_have_text("月度汇总 1 条未读")
        context.close()
