"""Two languages: Simplified Chinese by default, complete English for every page.

The English pages are checked on data planted with Latin names (areas, platform, people,
events, problems), so any Chinese character left on a page is the interface's own.
"""

from __future__ import annotations

import importlib.util
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, session
from flask.testing import FlaskClient

from consult_hub.core.db import utcnow
from consult_hub.core.timefmt import to_local
from consult_hub.extensions import db
from consult_hub.issues.operations import change_status
from consult_hub.models import (
    Area,
    AreaLevel,
    Category,
    EventFormat,
    EventStatus,
    Issue,
    IssueKind,
    IssueStatus,
    Member,
    MemberLevel,
    Platform,
    PlatformKind,
    Satisfaction,
)
from consult_hub.public.operations import rate_outcome
from tests.support import factories
from tests.support.auth import csrf_token

ROOT = Path(__file__).resolve().parents[2]
HAN = re.compile(r"[\u3400-\u9fff]")
# Full-width punctuation reads as Chinese too: 、。,:;?!()「」
CJK_PUNCTUATION = re.compile(
    r"[\u3001\u3002\uff0c\uff1a\uff1b\uff1f\uff01\uff08\uff09\u300c\u300d]")


def load_checker() -> Any:
    """scripts/check_translations.py, which is a script rather than a package module."""
    spec = importlib.util.spec_from_file_location(
        "check_translations", ROOT / "scripts" / "check_translations.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# -- the catalogue ----------------------------------------------------------------------------


@pytest.mark.database_independent  # the catalogue and the source, no database
def test_every_message_in_the_code_has_an_english_translation() -> None:
    checker = load_checker()
    wanted = checker.source_messages()
    assert len(wanted) > 500  # extraction really found the interface
    problems = checker.check_locale("en", wanted)
    assert problems == [], "\n".join(problems)


@pytest.mark.database_independent  # the catalogue and the source, no database
def test_the_checker_catches_missing_and_broken_translations(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    checker = load_checker()
    folder = tmp_path / "en" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    (folder / "messages.po").write_text(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=utf-8\\n"\n\n'
        '#, python-format\nmsgid "已保存 %(name)s"\nmsgstr "Saved %(title)s"\n\n'
        'msgid "保存"\nmsgstr ""\n\n'
        'msgid "取消"\nmsgstr "取消 cancel"\n', encoding="utf-8")
    monkeypatch.setattr(checker, "TRANSLATIONS", tmp_path)
    wanted = {("已保存 %(name)s", None): ["a.py:1"], ("保存", None): ["a.html:2"],
              ("取消", None): ["a.html:3"], ("删除", None): ["b.py:4"]}
    problems = "\n".join(checker.check_locale("en", wanted))
    assert "placeholders differ" in problems and "Saved %(title)s" in problems
    assert "untranslated: '保存'" in problems
    assert "Chinese left in the translation" in problems
    assert "not in the en catalogue" in problems and "删除" in problems
    assert "messages.mo is missing" in problems


# -- labels, dates, numbers -------------------------------------------------------------------


def test_enum_labels_follow_the_locale(app: Flask) -> None:
    with app.test_request_context():
        assert IssueStatus.RESOLVED.label == "已解决或采纳"
        assert dict(IssueKind.choices())["doorstep"] == "房前屋后实事"
    with app.test_request_context():
        session["locale"] = "en"
        assert IssueStatus.RESOLVED.label == "Resolved or adopted"
        assert PlatformKind.LIAISON_POINT.label == "Public Opinion Liaison Point"
        assert Category.ECOLOGY.label == "Ecological development"
        assert str(dict(IssueKind.choices())["urgent"]) == "Residents' pressing concerns"
        # What is stored or exported stays in the programme's language.
        assert IssueStatus.RESOLVED.source_label == "已解决或采纳"
    with app.app_context():  # a scheduler job or a command: Chinese
        assert IssueStatus.PLANNED.label == "列入计划正在解决"
    assert IssueStatus.CONSTRAINED.label == "因条件所限一时难以解决"  # no app at all


def test_dates_and_numbers_per_locale(app: Flask) -> None:
    moment = datetime(2026, 11, 28, 9, 30, tzinfo=UTC)  # 17:30 in Shanghai
    render = app.jinja_env.from_string(
        "{{ t|datetime }} | {{ t|date }} | {{ t|datetime('%H:%M') }} | {{ n|number }}"
        " | {{ d|month }} | {{ d|month(with_year=true) }}")
    values = {"t": moment, "n": 1006, "d": date(2024, 3, 1)}
    with app.test_request_context():
        assert render.render(**values) == \
            "2026-11-28 17:30 | 2026-11-28 | 17:30 | 1,006 | 3月 | 2024年3月"
    with app.test_request_context():
        session["locale"] = "en"
        assert render.render(**values) == \
            "28 Nov 2026, 17:30 | 28 Nov 2026 | 17:30 | 1,006 | Mar | Mar 2024"


# -- every page in English --------------------------------------------------------------------


@dataclass
class World:
    district_id: int
    platform_id: int
    planned_id: int
    held_id: int
    cancelled_id: int
    reference: str
    token: str
    planned_starts_at: Any  # aware, local time
    year: int


def latin_world(app: Flask) -> World:
    """A district with one platform and its people, events and problems, all named in English."""
    now = utcnow()
    with app.app_context():
        district = Area(code="EN-D", name="Riverside District", level=AreaLevel.DISTRICT)
        street = Area(code="EN-S", name="Harbour Street", level=AreaLevel.STREET, parent=district)
        community = Area(code="EN-C", name="Lakeview Community", level=AreaLevel.COMMUNITY,
                         parent=street)
        db.session.add_all([district, street, community])
        db.session.flush()
        member = Member(name="Jordan Wu", sector="Education", level=MemberLevel.DISTRICT,
                        district_id=district.id)
        platform = Platform(
            code="EN-1", name="Test Room 1", kind=PlatformKind.CONSULT_ROOM, area_id=community.id,
            district_id=district.id, address="1 Test Road", convener="Alex Lee",
            description="A room where neighbours talk things over.",
            established_on=date(2023, 1, 1),
            is_demonstration=True, demonstration_year=2024, members=[member])
        db.session.add_all([member, platform])
        db.session.flush()
        start = now + timedelta(days=3)
        planned = factories.event(
            platform_id=platform.id, topic="Lifts for old blocks", location="Community hall",
            agenda="Talk about **lifts**.", category=Category.SOCIETY, format=EventFormat.HYBRID,
            starts_at=start, ends_at=start + timedelta(hours=2))
        held = factories.event(
            platform_id=platform.id, topic="Parking at night", location="Community hall",
            starts_at=now - timedelta(days=10), ends_at=now - timedelta(days=10, hours=-2),
            status=EventStatus.CONCLUDED, minutes="We met and agreed.", opinions="More spaces.",
            outcome="Twenty spaces marked.", resident_count=12, department_count=2, expert_count=1,
            concluded_at=now - timedelta(days=5), attendees=[member])
        cancelled = factories.event(
            platform_id=platform.id, topic="Garden day", location="Park",
            status=EventStatus.CANCELLED, cancel_reason="Heavy rain", cancelled_at=now)
        department = factories.department(name="Works Bureau", district_id=district.id)
        issue = factories.issue(platform_id=platform.id, title="Broken street light",
                                description="The light at the east gate has been out for a week.",
                                event_id=held.id)
        change_status(issue, "assign", actor_id=None, department=department,
                      due_on=now.date() + timedelta(days=10))
        change_status(issue, "note", actor_id=None, note="Parts ordered.")
        change_status(issue, "resolve", actor_id=None, resolution="The light was replaced.")
        rate_outcome(issue, Satisfaction.SATISFIED)
        db.session.commit()
        return World(district.id, platform.id, planned.id, held.id, cancelled.id,
                     issue.reference, issue.tracking_token or "", to_local(planned.starts_at),
                     to_local(now).year)


def switch(client: FlaskClient, code: str) -> None:
    answer = client.get(f"/locale/{code}?next=/")
    assert answer.status_code == 302


def leftovers(html: str, pattern: re.Pattern[str] = HAN) -> list[str]:
    """Chinese on a page outside the language switch's own "中文" (marked lang="zh").

    Suggestions in a <datalist> are data (the CPPCC's sector names, stored as typed).
    """
    html = re.sub(r"<(script|style|datalist)\b.*?</\1>", "", html, flags=re.S)
    html = re.sub(r'<[^>]*\blang="zh[^"]*"[^>]*>[^<]*', "", html)
    found = []
    for match in pattern.finditer(html):
        found.append(re.sub(r"\s+", " ", html[max(0, match.start() - 60):match.end() + 30]))
    return found


def public_pages(world: World) -> dict[str, list[str]]:
    """Each public page and English words it must show."""
    return {
        "/": ["Frontline Consultation · Building Together", "Upcoming consultation events",
              "Lifts for old blocks", "Broken street light"],
        "/platforms": ["Find a platform", "Test Room 1", "Consultation Room", "Riverside District"],
        f"/platforms?district={world.district_id}": ["Harbour Street", "Test Room 1"],
        f"/platforms/{world.platform_id}": ["Consultation Room", "Demonstration Site", "Convener",
                                             "Jordan Wu", "Upcoming events"],
        "/events": ["Consultation events", "Lifts for old blocks"],
        f"/events/{world.planned_id}": ["Lifts for old blocks", "Online and on site", "Agenda"],
        f"/events/{world.held_id}": ["Minutes", "Consultation opinions", "Outcome follow-up",
                                     "Broken street light", "Outcomes reported"],
        f"/events/{world.cancelled_id}": ["This event has been cancelled.", "Heavy rain"],
        "/outcomes": ["Outcomes", "Resolved or adopted", "Broken street light"],
        f"/issues/{world.reference}": ["Resolved or adopted", "The light was replaced.",
                                       "Parts ordered.", "Doorstep matters",
                                       "Resident's rating: Satisfied"],
        f"/track/{world.token}": ["Progress", "Resolved or adopted", "Satisfied"],
        "/submit": ["Raise a problem", "Where is the problem?"],
        f"/submit?platform={world.platform_id}": ["Test Room 1", "Street lights", "Submit"],
        "/track": ["Track a problem", "Reference", "Last four digits of your phone"],
        "/feeds/": ["Subscribe", "Riverside District"],
        "/login": ["Staff sign-in", "Username", "Password"],
        "/reports": ["Annual reports"],
        f"/reports/{world.year}": ["annual report"],
    }


def test_every_public_page_is_english_after_the_switch(app: Flask, client: FlaskClient) -> None:
    world = latin_world(app)
    switch(client, "en")
    pages = public_pages(world)
    if "tallies.public_index" not in app.view_functions:
        pages = {path: words for path, words in pages.items() if not path.startswith("/reports")}
    problems = []
    for path, words in pages.items():
        page = client.get(path)
        assert page.status_code == 200, path
        assert '<html lang="en"' in page.text, path
        problems += [f"{path}: Chinese left: …{s}…" for s in leftovers(page.text)]
        problems += [f"{path}: missing {w!r}" for w in words if w not in unescape(page.text)]
    missing = client.get("/no-such-page")
    assert missing.status_code == 404 and "Page not found" in missing.text
    problems += [f"404: Chinese left: …{s}…" for s in leftovers(missing.text)]
    assert problems == [], "\n".join(problems)


def test_no_full_width_punctuation_on_english_public_pages(app: Flask,
                                                           client: FlaskClient) -> None:
    world = latin_world(app)
    switch(client, "en")
    problems = []
    for path in public_pages(world):
        if path.startswith("/reports") and "tallies.public_index" not in app.view_functions:
            continue
        problems += [f"{path}: …{s}…" for s in leftovers(client.get(path).text, CJK_PUNCTUATION)]
    assert problems == [], "\n".join(problems)


def test_the_same_pages_stay_chinese_by_default(app: Flask, client: FlaskClient) -> None:
    world = latin_world(app)
    expected = {
        "/": ["一线协商·共同缔造", "近期协商议事活动"],
        f"/platforms/{world.platform_id}": ["协商议事室", "示范点", "召集人"],
        f"/events/{world.planned_id}": ["线上线下结合", "议程"],
        f"/issues/{world.reference}": ["已解决或采纳", "房前屋后实事", "居民评价：满意"],
        f"/submit?platform={world.platform_id}": ["路灯", "提交"],
        "/login": ["工作人员登录"],
    }
    for path, words in expected.items():
        page = client.get(path)
        assert page.status_code == 200 and '<html lang="zh-CN"' in page.text, path
        assert [w for w in words if w not in page.text] == [], path
    for path in public_pages(world):
        page = client.get(path).text
        assert "首页" in page and "Frontline Consultation" not in page, path
    event = client.get(f"/events/{world.planned_id}").text
    assert world.planned_starts_at.strftime("%Y-%m-%d %H:%M") in event


def test_english_dates_on_an_event_page(app: Flask, client: FlaskClient) -> None:
    world = latin_world(app)
    switch(client, "en")
    local = world.planned_starts_at
    shown = f"{local.day} {local:%b} {local.year}, {local:%H:%M}"
    assert shown in client.get(f"/events/{world.planned_id}").text


def test_switching_back_to_chinese(app: Flask, client: FlaskClient) -> None:
    switch(client, "en")
    assert "Frontline Consultation" in client.get("/").text
    switch(client, "zh")
    page = client.get("/").text
    assert "一线协商·共同缔造" in page and "Frontline Consultation" not in page


def test_a_resident_submits_and_follows_a_problem_in_english(app: Flask,
                                                             client: FlaskClient) -> None:
    world = latin_world(app)
    switch(client, "en")
    path = f"/submit?platform={world.platform_id}"
    form = {"csrf_token": csrf_token(client, path), "platform": world.platform_id,
            "kind": "doorstep", "category": "society", "title": "Noisy pump",
            "description": "The water pump hums all night.", "name": "", "phone": "13800001234",
            "website": "", "consent": "y"}
    bad = client.post(path, data={**form, "title": "", "phone": "12"})
    assert bad.status_code == 422
    assert "Please enter a title" in bad.text
    assert leftovers(bad.text) == []

    answer = client.post(path, data=form)
    assert answer.status_code == 303
    receipt = client.get(answer.headers["Location"])
    assert "Submitted" in receipt.text and leftovers(receipt.text) == []
    waiting = client.get(f"/track/{_token_of(app, 'Noisy pump')}")
    assert "Awaiting review" in waiting.text  # the review status, in English too
    assert leftovers(waiting.text) == []

    with app.app_context():
        issue = db.session.scalars(db.select(Issue).filter_by(title="Noisy pump")).one()
        change_status(issue, "accept", actor_id=None, title="Noisy water pump",
                      description="A water pump hums all night.", kind="doorstep",
                      category="society")
        change_status(issue, "resolve", actor_id=None, resolution="The pump was fixed.")
        db.session.commit()
        token = issue.tracking_token
    tracking = client.get(f"/track/{token}")
    assert "Rate the outcome" in tracking.text and "Unsatisfied" in tracking.text
    assert leftovers(tracking.text) == []
    rated = client.post(f"/track/{token}", data={
        "csrf_token": csrf_token(client, f"/track/{token}"), "satisfaction": "unsatisfied",
        "comment": ""})
    assert rated.status_code == 303
    after = unescape(client.get(f"/track/{token}").text)
    assert "The problem has been reopened" in after
    # Notes the system wrote in Chinese read in English here.
    assert "Resident's rating: Unsatisfied" in after
    assert "The resident is not satisfied with the outcome; reopened" in after
    assert "Resident not satisfied" not in after  # that note is for staff
    assert leftovers(after) == []
    with app.app_context():  # the record stays in the programme's language
        notes = [u.note for u in db.session.get(Issue, issue.id).updates]
        assert "居民评价：不满意" in notes and "居民对办理结果不满意，重新办理" in notes


def _token_of(app: Flask, title: str) -> str:
    with app.app_context():
        return db.session.scalars(db.select(Issue.tracking_token).filter_by(title=title)).one()


# -- staff pages ------------------------------------------------------------------------------


def staff_pages(app: Flask, world: World) -> list[str]:
    """Every page a signed-in city administrator can open without arguments, and a few with."""
    with app.app_context():
        issue_id = db.session.scalars(
            db.select(Issue.id).filter_by(reference=world.reference)).one()
    skip = ("static", "feeds.", "api.", "open311.", "exchange.open_data", "auth.logout",
            "main.healthz")  # JSON for monitoring, not a page
    paths = sorted({
        rule.rule for rule in app.url_map.iter_rules()
        if "GET" in rule.methods and not rule.arguments and not rule.endpoint.startswith(skip)
        and not rule.rule.endswith((".csv", ".xlsx", ".zip", ".json", ".ics", ".atom"))
    })
    return paths + [f"/manage/platforms/{world.platform_id}", f"/manage/events/{world.held_id}",
                    f"/manage/issues/{issue_id}", f"/manage/areas/{world.district_id}"]


# The import page documents the spreadsheet format, whose column names and values are Chinese.
FILE_FORMAT_PAGES = {"/manage/import"}


def test_staff_pages_render_in_english(app: Flask, client: FlaskClient, auth: Any) -> None:
    world = latin_world(app)
    with app.app_context():
        factories.user(role="admin", username="boss", name="Sam Boss")
        db.session.commit()
    signed_in = auth.login("boss")
    assert signed_in.status_code == 302
    client.get(signed_in.headers["Location"])  # the browser follows: "欢迎" is shown there
    switch(client, "en")
    failures, chinese = [], {}
    for path in staff_pages(app, world):
        page = client.get(path)
        if page.status_code >= 400 and page.status_code != 404:
            failures.append(f"{path}: {page.status_code}")
            continue
        if page.status_code == 200 and "text/html" in page.content_type:
            if '<html lang="en"' not in page.text:
                failures.append(f"{path}: not English")
            left = leftovers(page.text)
            if left and path not in FILE_FORMAT_PAGES:
                chinese[path] = left
    assert failures == []
    # Staff pages show Chinese only in data; the interface itself is translated.
    assert chinese == {}, "\n".join(f"{p}: …{s[0]}… ({len(s)})" for p, s in chinese.items())
