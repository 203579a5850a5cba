"""WCAG 2.2 AA: axe-core in headless Chromium over the public pages, in Chinese and English,
in the standard display and in 长者模式.

Needs Debian's Chromium (its headless shell, or the browser), Playwright for Python (the
``browser`` extra) and ``node_modules/axe-core`` (``npm ci``); ``make test`` installs all three.
Without them the test is skipped, naming what is missing.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from flask import Flask, url_for

from tests.support.a11y import axe_violations, describe, needs_axe
from tests.support.world import ShowcaseWorld as World

pytestmark = [needs_axe, pytest.mark.slow, pytest.mark.world("showcase"),
              pytest.mark.database_independent]


@pytest.fixture()
def proposal(app: Flask, world: World) -> int:
    """An accepted proposal of the platform's two members, answered (its public page shows
    proposers, departments, the outcome class and the reply; the year's review counts it)."""
    from consult_hub.extensions import db
    from consult_hub.models import Platform
    from consult_hub.proposals.operations import change_status, create_proposal
    from tests.support import factories

    with app.app_context():
        platform = db.session.get(Platform, world.platform)
        lead, co = platform.members[:2]
        made = create_proposal(
            actor=None, title="关于加快老旧小区加装电梯的提案", reasons="老人上下楼难。",
            suggestions="简化审批，统一补贴。", category="society", timing="session",
            year=date.today().year, proposer_kind="joint", lead_member_id=lead.id,
            co_member_ids=[co.id], collective_kind=None, collective_name=None)
        change_status(made, "submit", actor=None, values={})
        change_status(made, "accept", actor=None, values={
            "lead_department": factories.department(platform.district_id, name="江岸区住建局"),
            "co_departments": [factories.department(platform.district_id, name="江岸区规划局")]})
        change_status(made, "reply", actor=None,
                      values={"outcome": "resolved", "reply": "已出台加装电梯补贴办法。"})
        db.session.commit()
        return made.id


def page_paths(app: Flask, world: World, proposal: int) -> dict[str, str]:
    """Every page a resident can reach, by name."""
    pages: dict[str, dict[str, Any]] = {
        "main.index": {}, "auth.login": {}, "feeds.index": {},
        "public.platforms": {}, "public.platform": {"platform_id": world.platform},
        "public.events": {}, "public.event": {"event_id": world.event},
        "public.outcomes": {}, "public.issue": {"reference": world.issue},
        "public.submit": {}, "public.track": {}, "public.track_token": {"token": world.token},
        "public.privacy": {}, "public.about": {},
        "proposals.public_index": {}, "proposals.public_show": {"proposal_id": proposal},
        "proposals.review": {"year": date.today().year},
    }
    with app.test_request_context():
        paths = {endpoint: url_for(endpoint, **args) for endpoint, args in pages.items()}
    paths["not-found"] = "/this-page-does-not-exist"
    return paths


def form_paths(app: Flask, world: World) -> list[str]:
    """Pages whose form is also checked with its error messages showing."""
    forms = {"auth.login": {}, "public.submit": {"platform": world.platform}, "public.track": {}}
    with app.test_request_context():
        return [url_for(endpoint, **args) for endpoint, args in forms.items()]


@pytest.mark.parametrize("mode", ["standard", "elder"])
@pytest.mark.parametrize("locale", ["zh", "en"])
def test_public_pages_meet_wcag_22_aa(app: Flask, browser: Any, live_server: str, world: World,
                                      proposal: int, locale: str, mode: str) -> None:
    context = browser.new_context(bypass_csp=True, locale="zh-CN" if locale == "zh" else "en-US",
                                  viewport={"width": 1280, "height": 800})
    try:
        page = context.new_page()
        page.goto(live_server + "/")
        if locale == "en":  # the language switch in the header, as a visitor would use it
            page.click(".lang-switch a[lang=en]")
            page.wait_for_load_state()
            assert page.locator("html").get_attribute("lang") == "en"
        if mode == "elder":  # 长者模式: its switch in the header, remembered on every page
            with page.expect_navigation():
                page.click(".display-switch button")
            assert page.locator("html").get_attribute("class") == "elder"
        reports = []
        for name, path in page_paths(app, world, proposal).items():
            answer = page.goto(live_server + path)
            expected = 404 if name == "not-found" else 200
            if answer is None or answer.status != expected:
                reports.append(f"{path}: HTTP {answer and answer.status}, expected {expected}")
                continue
            violations = axe_violations(page)
            if violations:
                reports.append(describe(path, violations))
        for path in form_paths(app, world):  # the same forms again, sent empty: errors shown
            page.goto(live_server + path)
            with page.expect_navigation():
                page.click("main form[method=post] button[type=submit]")
            violations = axe_violations(page)
            if violations:
                reports.append(describe(f"{path} (sent empty)", violations))
    finally:
        context.close()
    assert not reports, f"WCAG 2.2 AA violations ({locale}, {mode}):\n" + "\n".join(reports)


def test_the_check_finds_violations_when_there_are_some(browser: Any) -> None:
    """The harness itself: a page with an unlabelled field and a bare image must fail."""
    context = browser.new_context(bypass_csp=True)
    try:
        page = context.new_page()
        page.set_content('<!doctype html><html lang="en"><title>t</title><main>'
                         '<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">'
                         '<input type="text"></main></html>')
        found = {violation["id"] for violation in axe_violations(page)}
    finally:
        context.close()
    assert {"image-alt", "label"} <= found
