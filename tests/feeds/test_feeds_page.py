"""The subscription page: each calendar as an https download and a webcal:// subscription."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

from consult_hub.core.links import webcal_url


def links(page: str) -> list[str]:
    return re.findall(r'href="([^"]+)"', page)


def test_every_calendar_has_a_webcal_subscription_beside_its_download(
        app: Flask, client: FlaskClient, make: Callable[..., Any]) -> None:
    make("district", code="420102", name="江岸区")
    make("district", code="420103", name="江汉区")
    site = urlsplit(app.config["SITE_URL"])
    hrefs = links(client.get("/feeds/").text)
    for path in ("/feeds/events.ics", "/feeds/districts/420102.ics", "/feeds/districts/420103.ics"):
        assert f"{site.scheme}://{site.netloc}{path}" in hrefs, path
        # Same host and path as the download, only the scheme differs: a phone's calendar
        # subscribes to exactly the feed the https link downloads.
        assert f"webcal://{site.netloc}{path}" in hrefs, path
    # The outcomes feed is Atom, not a calendar: no webcal twin.
    assert not any(h.startswith("webcal://") and h.endswith(".atom") for h in hrefs)


def test_webcal_links_follow_site_url_not_the_host_asked(
        app: Flask, client: FlaskClient, make: Callable[..., Any], monkeypatch: Any) -> None:
    make("district", code="420102", name="江岸区")
    monkeypatch.setitem(app.config, "SITE_URL", "https://xieshang.wuhan.gov.cn/consult")
    hrefs = links(client.get("/feeds/", base_url="http://forged.example.org").text)
    assert "webcal://xieshang.wuhan.gov.cn/consult/feeds/districts/420102.ics" in hrefs
    assert "webcal://xieshang.wuhan.gov.cn/consult/feeds/events.ics" in hrefs
    assert not any("forged.example.org" in h for h in hrefs)


def test_a_platform_page_offers_its_calendar_to_subscribe_and_to_download(
        app: Flask, client: FlaskClient, make: Callable[..., Any]) -> None:
    platform = make("platform")
    netloc = urlsplit(app.config["SITE_URL"]).netloc
    hrefs = links(client.get(f"/platforms/{platform.id}").text)
    path = f"/feeds/platforms/{platform.id}.ics"
    assert f"webcal://{netloc}{path}" in hrefs
    assert any(h.startswith("http") and h.endswith(path) for h in hrefs)


@pytest.mark.database_independent
def test_webcal_url_swaps_only_an_http_scheme() -> None:
    assert webcal_url("https://a.example/feeds/events.ics") == "webcal://a.example/feeds/events.ics"
    assert webcal_url("http://127.0.0.1:5000/x.ics") == "webcal://127.0.0.1:5000/x.ics"
    assert webcal_url("HTTPS://A.example/x.ics") == "webcal://A.example/x.ics"
    assert webcal_url("/relative.ics") == "/relative.ics"
    assert webcal_url("ftp://a.example/x.ics") == "ftp://a.example/x.ics"
