"""The conventions of a government site on every public page: the footer (organiser, contact,
registration lines), the about page, a description for search engines, heading levels
without gaps and valid ``<time datetime>`` values."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

import pytest
from flask import Flask, url_for
from flask.testing import FlaskClient

from tests.support.world import ShowcaseWorld

# Every public page a resident reaches without a form sent (the showcase world's records).
PAGES: dict[str, dict[str, Any]] = {
    "main.index": {}, "public.platforms": {}, "public.events": {},
    "public.events?past": {"when": "past"}, "public.outcomes": {}, "public.privacy": {},
    "public.about": {}, "public.submit": {}, "public.track": {}, "feeds.index": {},
    "auth.login": {}, "tallies.public_index": {},
}


def public_paths(app: Flask, world: ShowcaseWorld) -> list[str]:
    pages = {**PAGES, "public.platform": {"platform_id": world.platform},
             "public.event": {"event_id": world.event},
             "public.issue": {"reference": world.issue},
             "public.track_token": {"token": world.token}}
    with app.test_request_context():
        return [url_for(name.split("?")[0], **args) for name, args in pages.items()
                if name.split("?")[0] in app.view_functions]


class Outline(HTMLParser):
    """The page's heading levels, meta descriptions and ``<time datetime>`` values."""

    def __init__(self) -> None:
        super().__init__()
        self.levels: list[int] = []
        self.descriptions: list[str] = []
        self.times: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if re.fullmatch(r"h[1-6]", tag):
            self.levels.append(int(tag[1]))
        elif tag == "meta" and values.get("name") == "description":
            self.descriptions.append(values.get("content") or "")
        elif tag == "time" and "datetime" in values:
            self.times.append(values["datetime"] or "")


def outline(html: str) -> Outline:
    parser = Outline()
    parser.feed(html)
    return parser


def heading_gaps(levels: list[int]) -> list[str]:
    """Where a heading goes more than one level deeper than the one before (h1 → h3)."""
    gaps = [] if levels[:1] == [1] else [f"starts with h{levels[0] if levels else '-'}"]
    gaps += [f"h{a} → h{b}" for a, b in zip(levels, levels[1:], strict=False) if b > a + 1]
    return gaps


# HTML's valid global date and time (or a date), with at most three fractional digits.
VALID_DATETIME = re.compile(
    r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?(?:Z|[+-]\d{2}:?\d{2})?)?")


@pytest.mark.world("showcase")
def test_every_public_page_has_a_description_headings_without_gaps_and_valid_times(
        app: Flask, client: FlaskClient, world: ShowcaseWorld) -> None:
    problems, descriptions = [], {}
    for path in public_paths(app, world):
        answer = client.get(path)
        assert answer.status_code == 200, path
        found = outline(answer.text)
        problems += [f"{path}: {gap}" for gap in heading_gaps(found.levels)]
        if len(found.descriptions) != 1 or not found.descriptions[0].strip():
            problems.append(f"{path}: {len(found.descriptions)} meta descriptions")
        else:
            descriptions[path] = found.descriptions[0]
        problems += [f"{path}: <time datetime={value!r}>" for value in found.times
                     if not VALID_DATETIME.fullmatch(value)]
    assert not problems, "\n".join(problems)
    # Pages with something of their own say it: a platform's description names it.
    with app.test_request_context():
        platform_path = url_for("public.platform", platform_id=world.platform)
        outcomes_path = url_for("public.outcomes")
    assert "百步亭花园协商议事室" in descriptions[platform_path]
    assert descriptions[outcomes_path] != descriptions["/"]


@pytest.mark.world("showcase")
def test_lists_had_h1_then_h3_and_now_head_their_items_with_h2(
        client: FlaskClient, world: ShowcaseWorld) -> None:
    for path in ("/platforms", "/events", "/events?when=past", "/outcomes"):
        levels = outline(client.get(path).text).levels
        assert levels[:2] == [1, 2], (path, levels)


def test_the_gap_check_finds_gaps() -> None:
    assert heading_gaps([1, 3]) == ["h1 → h3"]
    assert heading_gaps([2, 3]) == ["starts with h2"]
    assert heading_gaps([1, 2, 3, 2, 3, 1, 2]) == []
    assert not VALID_DATETIME.fullmatch("2026-11-28T10:00:00.123456+00:00")
    assert VALID_DATETIME.fullmatch("2026-11-28T10:00:00+00:00")


def test_the_footer_names_the_organiser_and_a_contact_and_no_registration_by_default(
        client: FlaskClient) -> None:
    html = client.get("/").text
    footer = html[html.index('<footer class="site-footer">'):]
    assert "主办单位：武汉市政协" in footer
    assert "联系方式：到身边的协商平台当面反映，或在本网站反映问题" in footer
    assert 'href="/about">关于一线协商</a>' in footer and 'href="/privacy">' in footer
    for absent in ("网站标识码", "beian.miit.gov.cn", "beian.gov.cn"):
        assert absent not in footer


def test_the_footer_shows_the_registration_lines_that_are_set(
        app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {"SITE_ORGANISER": "武汉市政协办公厅", "SITE_CONTACT": "027-12345678",
                        "SITE_ID_CODE": "4201000001",
                        "SITE_ICP_NUMBER": "鄂ICP备12345678号-1",
                        "SITE_PSB_NUMBER": "鄂公网安备 42010202000001号"}.items():
        monkeypatch.setitem(app.config, name, value)
    footer = client.get("/privacy").text.split('<footer class="site-footer">')[1]
    assert "主办单位：武汉市政协办公厅" in footer and "联系方式：027-12345678" in footer
    assert "网站标识码：4201000001" in footer
    assert '<a href="https://beian.miit.gov.cn/" rel="noopener">鄂ICP备12345678号-1</a>' in footer
    assert ('<a href="http://www.beian.gov.cn/" rel="noopener">鄂公网安备 42010202000001号</a>'
            in footer)


def test_the_about_page_explains_how_a_problem_travels(client: FlaskClient) -> None:
    answer = client.get("/about")
    assert answer.status_code == 200
    steps = re.findall(r"<h3>([^<]+)</h3>", answer.text)
    assert steps == ["提出", "受理", "交办", "答复", "办结", "回访"]
    assert "一线协商·共同缔造" in answer.text
    client.get("/locale/en?next=/about")
    english = client.get("/about").text
    assert "How a problem is handled" in english and "<h3>Follow up</h3>" in english
