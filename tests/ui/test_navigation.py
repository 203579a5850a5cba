"""The main navigation per role: a phone's header and bar in 120px, the rest behind 更多.

On a 390 × 844 phone each staff role sees the four or five things it does every day and 更多,
a <details> that opens without script; header and navigation together take at most 120px, in
Chinese and in English. At a desk (1280 wide) every item is in the bar. API tokens and
imports/exports are on the 工具 page, not in the bar. Browser tests run Debian's Chromium
(skipped without it); screenshots land in artifacts/navigation/<database>/ (ignored by git).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from consult_hub.extensions import db
from consult_hub.notifications.models import Notification
from tests.support.a11y import AXE, WCAG_TAGS, describe, needs_axe
from tests.support.auth import TEST_PASSWORD
from tests.support.e2e import (
    DESKTOP,
    PHONE,
    new_page,
    on_phone,
)

ROLES = ("admin", "district_admin", "coordinator", "department")
# What each role does every day: the bar on a phone, in this order, then 更多.
DAILY = {
    "admin": ["工作台", "问题", "年度报告", "消息"],
    "district_admin": ["工作台", "活动", "问题", "消息"],
    "coordinator": ["工作台", "活动", "问题", "消息"],
    "department": ["工作台", "问题", "提案", "消息"],
    "member": ["工作台", "提案", "社情民意", "消息"],
}
DAILY_EN = {"工作台": "Dashboard", "活动": "Events", "问题": "Problems",
            "年度报告": "Annual reports", "提案": "Proposals", "社情民意": "Opinions",
            "消息": "Messages"}
# Behind 更多 on a phone; at a desk the sections are in the bar and only PERSONAL stays behind it.
EXTRA = {
    "admin": ["活动", "提案", "社情民意", "平台", "委员", "承办单位", "用户", "区域", "审计日志",
              "工具", "我的账号", "公众首页"],
    "district_admin": ["提案", "社情民意", "年度报告", "平台", "委员", "承办单位", "用户", "工具",
                       "我的账号", "公众首页"],
    "coordinator": ["社情民意", "平台", "工具", "我的账号", "公众首页"],
    "department": ["我的账号", "公众首页"],
    "member": ["平台", "我的账号", "公众首页"],
}
PERSONAL = ["工具", "我的账号", "公众首页"]
# The bar's order at a desk, the same for every role (each sees the part it has).
SECTIONS = ["工作台", "活动", "问题", "提案", "社情民意", "年度报告", "消息", "平台", "委员",
            "承办单位", "用户", "区域", "审计日志"]
PUBLIC_DAILY = ["活动", "办理成果", "反映问题", "进度查询"]
PUBLIC_EXTRA = ["首页", "协商平台", "提案办理", "年度报告", "登录"]
# Every page the old bar linked for a role must still be one click from the bar or the tools page.
OLD_BAR = {
    "admin": ["/dashboard", "/manage/platforms/", "/manage/events/", "/manage/issues/", "/inbox/",
              "/manage/export", "/manage/tokens/", "/account/", "/manage/reports",
              "/manage/members/", "/manage/departments/", "/manage/users/", "/manage/areas/",
              "/manage/audit/", "/"],
    "coordinator": ["/dashboard", "/manage/platforms/", "/manage/events/", "/manage/issues/",
                    "/inbox/", "/manage/export", "/manage/tokens/", "/account/", "/"],
    "department": ["/dashboard", "/manage/issues/", "/inbox/", "/account/", "/"],
}
NAMES = {"admin": "欧阳建华", "district_admin": "周建国", "coordinator": "陈丽",
         "department": "司马晓燕", "member": "王建设"}
MAX_PHONE_HEIGHT = 120


def staff(make: Any, role: str, unread: int = 0) -> Any:
    """A user of ``role`` with ``unread`` messages in the inbox."""
    if role == "department":
        user = make("department_user", name=NAMES[role])
    elif role == "member":
        user = make("user", role=role, name=NAMES[role],
                    member_id=make("member", name=NAMES[role]).id)
    elif role == "coordinator":
        user = make("user", role=role, name=NAMES[role],
                    platform_ids=[make("platform", name="百步亭花园协商议事室").id])
    else:
        user = make("user", role=role, name=NAMES[role])
    if unread:
        db.session.add_all(Notification(user_id=user.id, dedupe_key=f"nav-test:{n}",
                                        kind="event_upcoming", subject=f"提醒{n}", body="正文")
                           for n in range(unread))
        db.session.commit()
    return user


def bar(html: str) -> str:
    return html[html.index('<nav class="site-nav"'):html.index("</nav>", html.index("site-nav"))]


def labels(fragment: str, css_class: str) -> list[str]:
    """The link texts of the bar's list items of ``css_class`` (without the unread count)."""
    return [re.sub(r"<span class=\"nav-count\">.*", "", text).strip()
            for text in re.findall(rf'<li class="{css_class}[^"]*"><a [^>]*>(.*?)</a></li>',
                                   fragment, re.S)]


def panel(fragment: str) -> str:
    return fragment[fragment.index('<div class="nav-more-panel">'):]


def row(fragment: str) -> str:
    """The bar itself, without 更多's panel."""
    return fragment.split('<li class="nav-more', 1)[0]


def sections(role: str) -> list[str]:
    return [name for name in EXTRA[role] if name not in PERSONAL]


# -- the bar as served (no browser) -------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_each_role_has_its_daily_items_in_the_bar_and_the_rest_behind_more(
        app: Flask, client: FlaskClient, make: Any, auth: Any, role: str) -> None:
    with app.app_context():
        user = staff(make, role, unread=3)
    auth.login(user.username)
    nav = bar(client.get("/dashboard").text)
    assert labels(row(nav), "nav-daily") == DAILY[role]
    assert labels(row(nav), "nav-section") == sections(role)  # in the bar at a desk only
    assert '<span class="nav-count">3<span class="visually-hidden">条未读</span></span>' in nav
    more = panel(nav)
    assert re.findall(r'<li class="nav-\w+"><a [^>]*>(.*?)</a></li>', more) == EXTRA[role]
    assert labels(more, "nav-personal") == [name for name in EXTRA[role] if name in PERSONAL]
    assert f'<span class="nav-more-name">{NAMES[role]}</span>' in more
    assert 'action="/logout"' in more and 'name="csrf_token"' in more


def test_a_member_has_proposals_and_opinion_reports_in_the_bar(
        app: Flask, client: FlaskClient, make: Any, auth: Any) -> None:
    with app.app_context():
        user = staff(make, "member", unread=2)
    auth.login(user.username)
    nav = bar(client.get("/account/").text)
    assert labels(row(nav), "nav-daily") == DAILY["member"]
    # The platforms they serve (read-only): in the bar at a desk, behind 更多 on a phone.
    assert labels(row(nav), "nav-section") == ["平台"]
    assert re.findall(r'<li class="nav-\w+"><a [^>]*>(.*?)</a></li>', panel(nav)) == EXTRA["member"]
    assert '<span class="nav-count">2<span class="visually-hidden">条未读</span></span>' in nav
    assert f'<span class="nav-more-name">{NAMES["member"]}</span> 政协委员' in nav


def test_the_bar_links_no_developer_tools_but_the_tools_page_does(
        app: Flask, client: FlaskClient, make: Any, auth: Any) -> None:
    with app.app_context():
        user = staff(make, "coordinator")
    auth.login(user.username)
    nav = bar(client.get("/dashboard").text)
    for gone in ("API 令牌", "导入导出", "/manage/tokens/", "/manage/export", "/manage/import"):
        assert gone not in nav
    assert '<li class="nav-personal"><a href="/account/tools">工具</a></li>' in nav
    tools = client.get("/account/tools")
    assert tools.status_code == 200
    assert '<a href="/manage/export">导出数据</a>' in tools.text
    assert '<a href="/manage/tokens/">API 令牌</a>' in tools.text
    assert "/manage/import" not in tools.text  # coordinators cannot import: not offered
    assert '<a href="/account/tools">导入导出和 API 令牌</a>' in client.get("/account/").text


def test_office_staff_find_imports_on_the_tools_page(
        app: Flask, client: FlaskClient, make: Any, auth: Any) -> None:
    with app.app_context():
        user = staff(make, "district_admin")
    auth.login(user.username)
    tools = client.get("/account/tools").text
    for link in ('<a href="/manage/export">导出数据</a>', '<a href="/manage/import">导入数据</a>',
                 '<a href="/manage/tokens/">API 令牌</a>'):
        assert link in tools
    assert client.get("/manage/import").status_code == 200


def test_a_department_contact_keeps_its_tokens_off_the_bar(
        app: Flask, client: FlaskClient, make: Any, auth: Any) -> None:
    with app.app_context():
        user = staff(make, "department")
    auth.login(user.username)
    nav = bar(client.get("/dashboard").text)
    assert "/account/tools" not in nav and "/manage/tokens/" not in nav
    assert '<a href="/manage/tokens/">管理我的 API 令牌</a>' in client.get("/account/").text
    tools = client.get("/account/tools").text  # reachable, and offers only what it may use
    assert '<a href="/manage/tokens/">API 令牌</a>' in tools
    assert "/manage/export" not in tools and "/manage/import" not in tools


@pytest.mark.parametrize("role", OLD_BAR)
def test_every_page_the_old_bar_linked_is_still_one_step_away(
        app: Flask, client: FlaskClient, make: Any, auth: Any, role: str) -> None:
    with app.app_context():
        user = staff(make, role)
    auth.login(user.username)
    reachable = set(re.findall(r'href="([^"]+)"', bar(client.get("/dashboard").text)))
    reachable |= set(re.findall(r'href="([^"]+)"', client.get("/account/tools").text))
    missing = [path for path in OLD_BAR[role] if path not in reachable]
    assert not missing, f"{role} lost {missing}"


def test_a_page_behind_more_is_marked_current_there_and_on_more(
        app: Flask, client: FlaskClient, make: Any, auth: Any) -> None:
    with app.app_context():
        user = staff(make, "coordinator")
    auth.login(user.username)
    nav = bar(client.get("/manage/tokens/").text)  # a tool's page marks 工具, behind 更多
    assert '<summary class="current-personal">更多</summary>' in nav
    assert ('<li class="nav-personal"><a href="/account/tools" aria-current="page">工具</a></li>'
            in panel(nav))
    assert nav.count('aria-current="page"') == 1
    nav = bar(client.get("/manage/platforms/").text)  # a section: the bar's and 更多's copies
    assert '<summary class="current-section">更多</summary>' in nav
    assert nav.count('<a href="/manage/platforms/" aria-current="page">平台</a>') == 2
    nav = bar(client.get("/manage/events/").text)  # a daily item: 更多 is not marked
    assert "<summary>更多</summary>" in nav
    assert ('<li class="nav-daily"><a href="/manage/events/" aria-current="page">活动</a></li>'
            in nav)


def test_the_public_bar_keeps_what_residents_do_in_view(client: FlaskClient) -> None:
    nav = bar(client.get("/events").text)
    assert labels(row(nav), "nav-daily") == PUBLIC_DAILY
    assert labels(row(nav), "nav-section") == PUBLIC_EXTRA
    assert labels(panel(nav), "nav-section") == PUBLIC_EXTRA
    assert "nav-more-personal" not in nav  # nothing behind 更多 at a desk
    assert '<li class="nav-daily"><a href="/events" aria-current="page">活动</a></li>' in nav
    assert "csrf_token" not in nav  # public pages stay cacheable: no per-visitor token


# -- in Chromium ------------------------------------------------------------------------------

sync_api = pytest.importorskip("playwright.sync_api",
                               reason="Playwright missing (pip install -e '.[browser]')")
expect = sync_api.expect
SHOTS = "navigation"  # artifacts/navigation/<database>/ (tests/support/browser.py)


def sign_in(page: Any, base: str, username: str) -> None:
    page.goto(base + "/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(TEST_PASSWORD)
    page.get_by_role("button", name="登录", exact=True).click()
    expect(page.locator("h1")).to_have_text("工作台")


def choose(page: Any, base: str, locale: str, path: str) -> None:
    page.goto(f"{base}/locale/{locale}?next={path}")
    expect(page.locator("html")).to_have_attribute("lang", "en" if locale == "en" else "zh-CN")


def header_height(page: Any) -> float:
    box = page.locator(".site-header").bounding_box()
    assert box is not None
    return float(box["height"])


def in_english(names: list[str], locale: str) -> list[str]:
    return [DAILY_EN[name] for name in names] if locale == "en" else names


@pytest.mark.slow
@pytest.mark.database_independent  # what the browser lays out; run once
@pytest.mark.parametrize("role", ROLES)
def test_on_a_phone_header_and_bar_fit_and_more_opens_without_script(
        app: Flask, browser: Any, live_server: str, make: Any, shots: Any, role: str) -> None:
    with app.app_context():
        user = staff(make, role, unread=75)
    context, page = new_page(browser, {**PHONE, "java_script_enabled": False})
    try:
        sign_in(page, live_server, user.username)
        for locale in ("zh", "en"):
            choose(page, live_server, locale, "/account/tools")  # a short page of its own
            on_phone(page)
            shots(page, f"phone-{role}-{locale}-tools")
            choose(page, live_server, locale, "/dashboard")
            height = header_height(page)
            assert height <= MAX_PHONE_HEIGHT, f"{role}/{locale}: header and bar {height}px"
            nav = page.get_by_role("navigation", name="Main navigation" if locale == "en"
                                   else "主导航")
            shown = [re.sub(r"\s*\d.*$", "", name, flags=re.S).strip()  # 消息 75 条未读
                     for name in nav.get_by_role("link").all_inner_texts()]
            assert shown == in_english(DAILY[role], locale)
            expect(nav.locator(".nav-count")).to_have_text(re.compile(r"^75"))
            more = nav.locator("summary")
            expect(more).to_have_text("More" if locale == "en" else "更多")
            shots(page, f"phone-{role}-{locale}")
            more.click()  # no script: the browser's own <details>
            expect(nav.locator("details")).to_have_attribute("open", "")
            links = nav.locator(".nav-more-panel a")
            expect(links).to_have_count(len(EXTRA[role]))
            for link in links.all():
                expect(link).to_be_visible()
            expect(nav.get_by_role("button", name="Sign out" if locale == "en"
                                   else "退出")).to_be_visible()
            shots(page, f"phone-{role}-{locale}-more")
        # A page behind 更多 is one tap away and marked there.
        choose(page, live_server, "zh", "/dashboard")
        nav = page.get_by_role("navigation", name="主导航")
        nav.locator("summary").click()
        nav.get_by_role("link", name="我的账号").click()
        expect(page.locator("h1")).to_have_text("我的账号")
        expect(nav.locator("summary")).to_have_class("current-personal")
        nav.locator("summary").click()
        expect(nav.get_by_role("link", name="我的账号")).to_have_attribute("aria-current", "page")
    finally:
        context.close()


@pytest.mark.slow
@pytest.mark.database_independent  # what the browser lays out; run once
def test_on_a_phone_the_public_header_fits_and_sign_in_is_behind_more(
        browser: Any, live_server: str, shots: Any) -> None:
    context, page = new_page(browser, {**PHONE, "java_script_enabled": False})
    try:
        for locale in ("zh", "en"):
            choose(page, live_server, locale, "/")
            height = header_height(page)
            assert height <= MAX_PHONE_HEIGHT, f"public/{locale}: header and bar {height}px"
            on_phone(page)
            shots(page, f"phone-public-{locale}")
        choose(page, live_server, "zh", "/")
        nav = page.get_by_role("navigation", name="主导航")
        expect(nav.get_by_role("link")).to_have_count(len(PUBLIC_DAILY))
        nav.locator("summary").click()
        shots(page, "phone-public-zh-more")
        nav.get_by_role("link", name="登录").click()
        expect(page.get_by_label("用户名")).to_be_visible()
    finally:
        context.close()


@pytest.mark.slow
@pytest.mark.database_independent  # what the browser lays out; run once
@pytest.mark.parametrize("role", ROLES)
def test_at_a_desk_every_section_is_in_the_bar(
        app: Flask, browser: Any, live_server: str, make: Any, shots: Any, role: str) -> None:
    with app.app_context():
        user = staff(make, role, unread=2)
    context, page = new_page(browser, DESKTOP)
    try:
        sign_in(page, live_server, user.username)
        for locale in ("zh", "en"):
            choose(page, live_server, locale, "/dashboard")
            nav = page.locator(".site-nav")
            shown = [re.sub(r"\s*\d.*$", "", name, flags=re.S).strip()
                     for name in nav.get_by_role("link").all_inner_texts()]
            mine = [name for name in SECTIONS if name in DAILY[role] + sections(role)]
            if locale == "zh":
                assert shown == mine
            else:
                assert len(shown) == len(mine)
            items = nav.get_by_role("link").all() + [nav.locator("summary")]
            rows = {round(box["y"]) for box in (item.bounding_box() for item in items) if box}
            assert len(rows) == 1, f"{role}/{locale}: the bar takes {len(rows)} rows"
            expect(page.locator(".header-tools .user-name")).to_have_text(NAMES[role])
            shots(page, f"desk-{role}-{locale}")
            nav.locator("summary").click()  # only the user's own pages are behind 更多
            expect(nav.locator(".nav-more-panel").get_by_role("link")).to_have_count(
                len([name for name in EXTRA[role] if name in PERSONAL]))
            shots(page, f"desk-{role}-{locale}-more")
        # A tablet: the phone's bar, with the user and 退出 back in the header.
        page.set_viewport_size({"width": 800, "height": 1000})
        page.reload()
        nav = page.locator(".site-nav")
        expect(nav.locator("summary")).to_be_visible()
        expect(nav.get_by_role("link")).to_have_count(len(DAILY[role]))
        expect(page.locator(".header-tools .logout")).to_be_visible()
        shots(page, f"tablet-{role}-en")
    finally:
        context.close()


@pytest.mark.slow
@needs_axe
@pytest.mark.database_independent  # what the browser lays out; run once
@pytest.mark.parametrize("role", ["public", "district_admin"])
def test_the_open_menu_meets_wcag_22_aa_on_a_phone(
        app: Flask, browser: Any, live_server: str, make: Any, role: str) -> None:
    context, page = new_page(browser, {**PHONE, "bypass_csp": True})
    try:
        if role != "public":
            with app.app_context():
                sign_in(page, live_server, staff(make, role, unread=75).username)
        reports = []
        for locale in ("zh", "en"):
            choose(page, live_server, locale, "/" if role == "public" else "/manage/users/")
            page.locator(".site-nav summary").click()
            page.add_script_tag(path=str(AXE))
            violations = page.evaluate(
                "tags => axe.run('.site-header', {runOnly: {type: 'tag', values: tags}})"
                ".then(result => result.violations)", WCAG_TAGS)
            if violations:
                reports.append(describe(f"{role}/{locale}", violations))
        assert not reports, "\n".join(reports)
    finally:
        context.close()
