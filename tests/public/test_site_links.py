"""Links come from SITE_URL, never from the Host header; production trusts only its own host.

A request naming a forged host (``Host: evil.example``) must not see that host in any link
it is given — feeds, API answers, Open311 receipts, the public receipt — and, in production,
gets 400 unless the host is one the site answers to.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import icalendar
import pytest
from flask import Flask
from flask.testing import FlaskClient

from consult_hub import create_app
from consult_hub.extensions import db
from tests.support.public import open311_post, submit

FORGED = "http://evil.example"


@pytest.fixture()
def site(app: Flask, monkeypatch: pytest.MonkeyPatch) -> str:
    """A public address unlike the test client's ``localhost``, so a link from the Host shows."""
    monkeypatch.setitem(app.config, "SITE_URL", "https://consult.example.org")
    return "https://consult.example.org"


class ForgedHostClient(FlaskClient):
    """A browser (cookies on ``localhost``) whose every request names the attacker's host."""

    def open(self, *args: Any, **kwargs: Any) -> Any:
        headers = dict(kwargs.pop("headers", None) or {})
        headers.setdefault("Host", "evil.example")
        return super().open(*args, headers=headers, **kwargs)


@pytest.fixture()
def forged(app: Flask) -> FlaskClient:
    return ForgedHostClient(app, app.response_class, use_cookies=True)


def assert_no_forged_host(text: str) -> None:
    assert "evil.example" not in text


def test_ical_feed_links_use_site_url(site: str, forged: FlaskClient, make) -> None:
    platform = make("platform")
    event = make("event", platform_id=platform.id)
    answer = forged.get(f"/feeds/platforms/{platform.id}.ics")
    assert answer.status_code == 200
    assert_no_forged_host(answer.text)
    [vevent] = icalendar.Calendar.from_ical(answer.data).walk("VEVENT")
    assert str(vevent["URL"]) == f"{site}/events/{event.id}"
    index = forged.get("/feeds/").text
    assert f'href="{site}/feeds/events.ics"' in index
    assert f'href="{site}/feeds/outcomes.atom"' in index
    assert_no_forged_host(index)
    page = forged.get(f"/platforms/{platform.id}").text
    assert f'href="{site}/feeds/platforms/{platform.id}.ics"' in page
    assert_no_forged_host(page)


def test_atom_feed_links_use_site_url(app: Flask, site: str, forged: FlaskClient) -> None:
    answer = forged.get("/feeds/outcomes.atom")
    assert answer.status_code == 200
    assert_no_forged_host(answer.text)
    assert f'href="{site}/feeds/outcomes.atom"' in answer.text
    assert f'href="{site}/outcomes"' in answer.text


def test_api_links_use_site_url(site: str, forged: FlaskClient, make) -> None:
    platform = make("platform")
    make("platform")
    item = forged.get(f"/api/v1/platforms/{platform.id}")
    assert item.status_code == 200
    assert item.json["url"] == f"{site}/api/v1/platforms/{platform.id}"
    assert item.json["html_url"] == f"{site}/platforms/{platform.id}"
    listing = forged.get("/api/v1/platforms?per_page=1")
    assert listing.json["links"]["next"].startswith(f"{site}/api/v1/platforms?")
    assert_no_forged_host(listing.text + listing.headers["Link"])


def test_open311_receipt_and_paging_links_use_site_url(
        site: str, forged: FlaskClient, make) -> None:
    platform = make("platform", latitude=30.60, longitude=114.30)
    first = open311_post(forged, platform_id=platform.id)
    # Listed are published problems (a submission waits for review): two raised by staff.
    make("issue", platform_id=platform.id)
    make("issue", platform_id=platform.id)
    assert first.status_code == 201
    [receipt] = first.json
    assert f"{site}/issues/{receipt['service_request_id']}" in receipt["service_notice"]
    assert_no_forged_host(first.text)
    listing = forged.get("/open311/v2/requests.json?page_size=1")
    assert listing.status_code == 200
    assert listing.headers["Link"].startswith(f"<{site}/open311/v2/requests.json?")
    discovery = forged.get("/open311/v2/discovery.json").json
    assert discovery["endpoints"][0]["url"] == f"{site}/open311/v2"


def test_public_receipt_link_uses_site_url(app: Flask, site: str, forged: FlaskClient,
                                           make) -> None:
    platform = make("platform")
    assert submit(forged, platform.id, phone="13912345678", consent="y").status_code == 303
    receipt = forged.get("/submit/receipt").text
    assert re.search(re.escape(f'<a href="{site}/track/') + r"[\w-]+", receipt)
    assert_no_forged_host(receipt)


def test_the_page_cache_keeps_a_forged_host_apart(app: Flask, site: str,
                                                  forged: FlaskClient) -> None:
    """A forged Host is a cache miss of its own; what it renders carries SITE_URL anyway."""
    first = forged.get("/feeds/")
    honest = app.test_client().get("/feeds/")
    assert first.status_code == honest.status_code == 200
    assert first.text == honest.text and f'href="{site}/feeds/events.ics"' in honest.text
    cache = app.extensions["page_cache"]
    assert {key[1] for key in cache.entries} == {"evil.example", "localhost"}


# -- production: only SITE_URL's host is answered -----------------------------------------------


@pytest.fixture()
def production(monkeypatch: pytest.MonkeyPatch, tmp_path) -> Iterator[Any]:
    """Build a production application (no debug, no testing) on the test database."""
    made: list[Flask] = []
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    monkeypatch.setenv("SECRET_KEY", "production-like-secret-" + "x" * 40)

    def build(cache_seconds: float = 0, **env: str) -> Flask:
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        app = create_app({"INSTANCE_PATH": str(tmp_path), "PAGE_CACHE_SECONDS": cache_seconds,
                          "PAGE_CACHE_RECHECK_SECONDS": 0})
        made.append(app)
        return app

    yield build
    for app in made:
        with app.app_context():
            db.engine.dispose()


def test_production_answers_a_forged_host_with_400(production) -> None:
    app = production(SITE_URL="https://consult.example.org")
    refused = app.test_client().get("/feeds/", base_url="http://evil.example")
    assert refused.status_code == 400 and "unknown host" in refused.text
    assert "evil.example" not in refused.text
    own = app.test_client().get("/feeds/", base_url="https://consult.example.org")
    assert own.status_code == 200
    assert 'href="https://consult.example.org/feeds/events.ics"' in own.text
    # A probe on the machine itself (a health check) may name localhost.
    assert app.test_client().get("/feeds/", base_url="http://localhost:8000").status_code == 200


def test_trusted_hosts_come_from_the_environment(production) -> None:
    app = production(SITE_URL="https://consult.example.org",
                     TRUSTED_HOSTS="consult.example.org, .gov.example")
    assert app.config["TRUSTED_HOSTS"] == ["consult.example.org", ".gov.example"]
    client = app.test_client()
    assert client.get("/feeds/", base_url="https://hub.city.gov.example").status_code == 200
    assert client.get("/feeds/", base_url="http://localhost").status_code == 400
    assert client.get("/feeds/").status_code == 400


def test_a_cached_page_is_not_served_to_a_forged_host(production) -> None:
    app = production(cache_seconds=60, SITE_URL="https://consult.example.org")
    client, site = app.test_client(), "https://consult.example.org"
    assert client.get("/feeds/", base_url=site).status_code == 200
    assert client.get("/feeds/", base_url=site).status_code == 200
    cache = app.extensions["page_cache"]
    assert cache.hits == 1
    assert client.get("/feeds/", base_url=FORGED).status_code == 400  # not the cached page
    assert {key[1] for key in cache.entries} == {"consult.example.org"}
