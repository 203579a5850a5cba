"""Keyword search on the residents' lists: outcomes and events by title, public text, platform
and street (two Chinese characters are enough), the directory's name matches first."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient

from consult_hub.core.db import utcnow
from consult_hub.models import EventStatus
from tests.public.test_public_pages import outcome, street_with_platform
from tests.support.querycount import count_queries


def titles(client: FlaskClient, path: str, **query: object) -> list[str]:
    html = client.get(path, query_string=query).text
    return re.findall(r'<a href="/(?:issues|events)/[^"]+">([^<]+)</a></h2>', html)


@pytest.fixture()
def places(app: Flask, make):
    """Two platforms: one in 后湖街 (江岸区), one elsewhere; returns (district, here, there)."""
    district = make("district", name="江岸区")
    _street, here = street_with_platform(app, district.id, "后湖街", name="百步亭议事室",
                                         address="百步亭花园路 1 号")
    there = make("platform", district_id=district.id, name="一元街议事室", address="解放大道 8 号")
    return district, here, there.id


def test_outcomes_are_found_by_title_answer_platform_and_street(
        app: Flask, client: FlaskClient, places) -> None:
    district, here, there = places
    outcome(app, there, title="加装电梯已完工", resolution="三个单元都装好了。")
    outcome(app, there, title="楼道灯不亮", resolution="已更换电梯厅和楼道的灯。")
    outcome(app, here, title="小区积水", resolution="疏通了下水道。")
    outcome(app, there, "reject", title="电梯广告太吵")  # no public outcome: never found

    assert sorted(titles(client, "/outcomes", q="电梯")) == ["加装电梯已完工", "楼道灯不亮"]
    assert titles(client, "/outcomes", q="百步") == ["小区积水"]  # the platform's name
    assert titles(client, "/outcomes", q="后湖") == ["小区积水"]  # its street
    assert titles(client, "/outcomes", q="解放大道") == ["楼道灯不亮", "加装电梯已完工"]  # address
    # With the other filters, and kept across them.
    assert titles(client, "/outcomes", q="电梯", status="resolved", district=district) == [
        "楼道灯不亮", "加装电梯已完工"]
    assert titles(client, "/outcomes", q="电梯", platform=here) == []
    html = client.get("/outcomes", query_string={"q": "电梯"}).text
    assert 'value="电梯"' in html and "共 2 项办理成果" in html
    assert 'href="/outcomes">清除条件</a>' in html


def test_a_search_that_finds_nothing_says_so_and_names_the_words(
        client: FlaskClient, places) -> None:
    for path in ("/outcomes", "/events"):
        html = client.get(path, query_string={"q": "没有这回事"}).text
        assert "没有找到含“没有这回事”的结果。换个关键词，或清除条件再试。" in html, path
    html = client.get("/outcomes", query_string={"q": "100%"}).text  # a literal percent sign
    assert "共 0 项办理成果" in html


def test_events_are_found_by_topic_agenda_platform_and_street(
        client: FlaskClient, make, places) -> None:
    _district, here, there = places
    soon = utcnow() + timedelta(days=3)
    make("event", platform_id=there, topic="加装电梯协商会", starts_at=soon,
         ends_at=soon + timedelta(hours=2))
    make("event", platform_id=there, topic="停车难怎么办", agenda="地下车库和电梯的收费",
         starts_at=soon + timedelta(days=1), ends_at=soon + timedelta(days=1, hours=2))
    make("event", platform_id=here, topic="垃圾分类", starts_at=soon,
         ends_at=soon + timedelta(hours=2))
    past = utcnow() - timedelta(days=3)
    make("event", platform_id=here, topic="电梯维修回顾", starts_at=past,
         ends_at=past + timedelta(hours=1), status=EventStatus.HELD)

    assert titles(client, "/events", q="电梯") == ["加装电梯协商会", "停车难怎么办"]
    assert titles(client, "/events", q="电梯", when="past") == ["电梯维修回顾"]
    assert titles(client, "/events", q="后湖") == ["垃圾分类"]
    assert titles(client, "/events", q="百步亭", platform=here) == ["垃圾分类"]
    html = client.get("/events", query_string={"q": "电梯"}).text
    # The tabs keep the words: "以往活动" searches the past for the same thing.
    assert 'href="/events?when=past&amp;q=%E7%94%B5%E6%A2%AF"' in html
    assert "共 2 场活动" in html


def test_search_results_page_through_with_the_words_kept(
        app: Flask, client: FlaskClient, places, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, "PER_PAGE", 2)
    _district, _here, there = places
    for n in range(3):
        outcome(app, there, title=f"电梯{n}")
    outcome(app, there, title="路灯")
    first = client.get("/outcomes", query_string={"q": "电梯"}).text
    assert "共 3 项办理成果" in first
    assert 'href="/outcomes?q=%E7%94%B5%E6%A2%AF&amp;page=2" rel="next"' in first
    assert titles(client, "/outcomes", q="电梯", page=2) == ["电梯0"]


def test_the_directory_lists_name_matches_before_address_matches(
        client: FlaskClient, make) -> None:
    district = make("district", name="江岸区")
    # By the usual order (district, name) the address match would come first.
    make("platform", district_id=district.id, name="一号议事室", address="百步亭花园路 3 号")
    make("platform", district_id=district.id, name="后湖街百步亭社区协商议事室",
         address="后湖大道 1 号")
    found = re.findall(r'<a href="/platforms/\d+">([^<]+)</a>',
                       client.get("/platforms", query_string={"q": "百步"}).text)
    assert found == ["后湖街百步亭社区协商议事室", "一号议事室"]


def test_each_search_is_its_own_cached_page(app: Flask, places) -> None:
    """The page cache keys on the query string: a search never gets the unfiltered list."""
    _district, _here, there = places
    outcome(app, there, title="加装电梯")
    outcome(app, there, title="路灯")
    everyone, searcher = app.test_client(), app.test_client()
    assert "路灯" in everyone.get("/outcomes").text  # cached now
    assert titles(searcher, "/outcomes", q="电梯") == ["加装电梯"]
    assert titles(searcher, "/outcomes", q="路灯") == ["路灯"]


@pytest.mark.parametrize("path", ["/outcomes?q=电梯", "/events?q=电梯&when=past",
                                  "/platforms?q=议事"])
def test_a_search_takes_the_same_number_of_queries_for_more_rows(
        app: Flask, make, path: str) -> None:
    def grow(count: int) -> None:
        district = make("district")
        for n in range(count):
            platform = make("platform", district_id=district.id, name=f"议事室{n}")
            past = utcnow() - timedelta(days=2)
            make("event", platform_id=platform.id, topic=f"电梯{n}", starts_at=past,
                 ends_at=past + timedelta(hours=1), status=EventStatus.HELD)
            outcome(app, platform.id, title=f"电梯{n}")

    def statements() -> int:
        with count_queries(app) as sql:
            assert app.test_client().get(path).status_code == 200
        return len([s for s in sql if "site_versions" not in s])

    grow(1)
    few = statements()
    grow(4)
    assert statements() == few
