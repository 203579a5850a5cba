"""Paging a long API list: the count stops at the browsing limit, and ``next`` still reaches
every item.

The limit is lowered to a handful of rows so that "a nation's list" fits in a test.
"""

from __future__ import annotations

import pytest

from consult_hub.core import pagination
from consult_hub.extensions import db
from tests.support import factories

# The API world (tests/support/world.py), built once for the module and rolled back after each
# test (tests/api/conftest.py): nothing is committed, `rolled_back`.
pytestmark = [pytest.mark.world("api", freeze=False), pytest.mark.rolled_back]


@pytest.fixture()
def limit(monkeypatch) -> int:
    monkeypatch.setattr(pagination, "BROWSE_LIMIT", 4)
    return 4


def _more_issues(app, n: int) -> int:
    """``n`` problems at a new platform; its id."""
    with app.test_request_context():
        platform = factories.platform()
        for _ in range(n):
            factories.issue(platform_id=platform.id)
        db.session.commit()
        return platform.id


def _walk(client, url: str) -> list[dict]:
    """Every item, following ``next`` links from ``url``."""
    seen: list[dict] = []
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.text
        seen += response.json["items"]
        url = response.json["links"]["next"]
    return seen


def test_a_list_under_the_limit_has_an_exact_total(client, world, limit):
    body = client.get("/api/v1/platforms?per_page=2").json
    assert (body["total"], body["total_exact"], body["pages"]) == (3, True, 2)
    assert "page=2" in body["links"]["last"]
    # A page past the end is empty, even where its offset lies beyond the limit.
    beyond = client.get("/api/v1/platforms?per_page=2&page=3")
    assert beyond.status_code == 200 and beyond.json["items"] == []
    assert beyond.json["total_exact"] is True


def test_a_list_over_the_limit_says_at_least_and_next_reaches_every_item(app, client, world, limit):
    _more_issues(app, 5)
    every = [i["reference"] for i in client.get("/api/v1/issues?per_page=100").json["items"]]
    assert len(every) > limit + 2

    first = client.get("/api/v1/issues?per_page=3")
    body = first.json
    assert (body["total"], body["total_exact"], body["pages"]) == (limit, False, 2)
    assert "page=2" in body["links"]["last"] and "page=2" in body["links"]["next"]

    last = client.get(body["links"]["last"]).json
    assert last["total_exact"] is False and len(last["items"]) == 3
    assert "after=" in last["links"]["next"]  # the last numbered page continues by id

    walked = [i["reference"] for i in _walk(client, "/api/v1/issues?per_page=3")]
    assert walked == every  # in order, none twice, none missed
    assert 'rel="next"' in client.get(last["links"]["self"]).headers["Link"]


def test_a_page_beyond_the_limit_is_400_naming_page(app, client, world, limit):
    platform_id = _more_issues(app, 3)
    _more_issues(app, 3)
    response = client.get("/api/v1/issues?per_page=2&page=3")
    assert response.status_code == 400
    assert response.json["error"]["code"] == "invalid_parameter"
    assert list(response.json["error"]["fields"]) == ["page"]
    # Filters narrow the list below the limit: its pages are served again.
    narrowed = client.get(f"/api/v1/issues?per_page=2&page=2&platform_id={platform_id}")
    assert narrowed.status_code == 200 and len(narrowed.json["items"]) == 1
    assert (narrowed.json["total"], narrowed.json["total_exact"]) == (3, True)


def test_after_lists_the_items_past_an_id(client, world):
    ids = [p["id"] for p in client.get("/api/v1/platforms").json["items"]]
    body = client.get(f"/api/v1/platforms?after={ids[0]}").json
    assert [p["id"] for p in body["items"]] == ids[1:]
    assert body["total"] == len(ids) - 1 and body["total_exact"] is True
    assert f"after={ids[0]}" in body["links"]["first"]
    assert client.get("/api/v1/platforms?after=-1").status_code == 400


def test_query_arguments_of_any_name_stay_in_the_links(client, world):
    response = client.get("/api/v1/departments?_method=POST&_scheme=ftp")
    assert response.status_code == 200
    site = client.application.config["SITE_URL"]
    assert response.json["links"]["self"].startswith(f"{site}/api/v1/departments?")


def test_districts_show_a_new_district_at_once(app, client, world):
    before = client.get("/api/v1/districts").json["items"]
    assert {d["code"] for d in before} >= {world.district_code, world.other_district_code}
    with app.test_request_context():
        factories.district(code="ZZ9999", name="新设测试区")
        db.session.commit()
    after = client.get("/api/v1/districts").json["items"]
    assert after[-1] == {"id": after[-1]["id"], "code": "ZZ9999", "name": "新设测试区"}
    assert len(after) == len(before) + 1
