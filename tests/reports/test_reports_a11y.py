"""WCAG 2.2 AA (axe-core in headless Chromium) on the report pages, public and staff."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from tests.support.a11y import axe_violations, describe, needs_axe
from tests.support.auth import TEST_PASSWORD
from tests.support.reports import build_city

pytestmark = [needs_axe, pytest.mark.slow, pytest.mark.database_independent]


def test_report_pages_meet_wcag_22_aa(app: Flask, browser: Any, live_server: str) -> None:
    city = build_city(app)
    context = browser.new_context(bypass_csp=True, viewport={"width": 390, "height": 844})
    reports = []
    try:
        page = context.new_page()
        paths = ["/reports", "/reports/2024", "/reports/2024/07",
                 f"/reports/2024/07?district={city.district_code}"]
        staff = ["/manage/reports", "/manage/reports/year/2024", "/manage/reports/2024-07"]
        for path in paths + ["login"] + staff:
            if path == "login":  # the district's staff, who also see the per-platform table
                page.goto(live_server + "/login")
                page.fill("input[name=username]", "jiangan")
                page.fill("input[name=password]", TEST_PASSWORD)
                with page.expect_navigation():
                    page.click("main form button[type=submit]")
                continue
            answer = page.goto(live_server + path)
            assert answer is not None and answer.status == 200, path
            violations = axe_violations(page)
            if violations:
                reports.append(describe(path, violations))
    finally:
        context.close()
    assert not reports, "WCAG 2.2 AA violations:\n" + "\n".join(reports)
