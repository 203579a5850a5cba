"""Security headers on every response; conditional GET on public pages; no inline code in
templates."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from consult_hub.config import PROJECT_ROOT
from tests.support.auth import AuthActions, csrf_token

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'")


def revalidate(client: FlaskClient, path: str, etag: str):
    return client.get(path, headers={"If-None-Match": etag})


def settled_etag(client: FlaskClient, path: str) -> str:
    """Visit ``path`` until the session cookie is settled, as a browser would; return the ETag."""
    for _ in range(3):
        answer = client.get(path)
    assert answer.status_code == 200
    assert answer.headers.get("ETag", "").startswith('W/"'), answer.headers
    return answer.headers["ETag"]


@pytest.mark.parametrize("path", ["/", "/login", "/feeds/events.ics", "/no-such-page"])
def test_every_response_carries_the_security_headers(client: FlaskClient, path: str) -> None:
    answer = client.get(path)
    assert answer.headers["Content-Security-Policy"] == CSP
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert answer.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert answer.headers["X-Frame-Options"] == "DENY"
    # Only the site itself may ask for the position ("near me" on the submission form).
    assert "geolocation=(self)" in answer.headers["Permissions-Policy"]
    assert "Strict-Transport-Security" not in answer.headers


def test_redirects_after_a_post_carry_them_too(client: FlaskClient) -> None:
    token = csrf_token(client, "/login")
    answer = client.post("/logout", data={"csrf_token": token})
    assert answer.status_code == 302
    assert answer.headers["Content-Security-Policy"] == CSP


def test_hsts_only_behind_https(app: Flask, client: FlaskClient,
                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, "SESSION_COOKIE_SECURE", True)
    answer = client.get("/feeds/events.ics")
    assert answer.headers["Strict-Transport-Security"].startswith("max-age=")


def test_a_public_page_answers_304_until_its_data_changes(
        client: FlaskClient, make: Callable[..., Any]) -> None:
    etag = settled_etag(client, "/")
    assert client.get("/").headers["Cache-Control"] == "no-cache"  # no form, no session
    unchanged = revalidate(client, "/", etag)
    assert unchanged.status_code == 304 and unchanged.data == b""
    assert unchanged.headers["ETag"] == etag

    district = make("district")
    make("platform", district_id=district.id)  # the platform count on the home page changes
    make("event", platform_id=make("platform", district_id=district.id).id)
    changed = revalidate(client, "/", etag)
    assert changed.status_code == 200
    assert changed.headers["ETag"] != etag


def test_the_csrf_token_of_a_revalidated_page_still_works(client: FlaskClient) -> None:
    """A 304 leaves the browser with its older copy of the page: that copy's forms must still
    post."""
    first = client.get("/login")
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', first.text).group(1)
    etag = settled_etag(client, "/login")
    assert client.get("/login").headers["Cache-Control"] == "private, no-cache"
    assert revalidate(client, "/login", etag).status_code == 304
    posted = client.post("/logout", data={"csrf_token": token})
    assert posted.status_code == 302  # a stale or missing token would answer 400


def test_another_visitor_never_gets_a_304_for_someone_elses_page(app: Flask) -> None:
    """A page with a form embeds a session-bound token, so its ETag is per session."""
    alice, bob = app.test_client(), app.test_client()
    etag = settled_etag(alice, "/login")
    settled_etag(bob, "/login")
    assert revalidate(bob, "/login", etag).status_code == 200


def test_changing_the_language_changes_the_etag(client: FlaskClient) -> None:
    etag = settled_etag(client, "/")
    assert client.get("/locale/en?next=/").status_code == 302
    answer = revalidate(client, "/", etag)
    assert answer.status_code == 200 and answer.headers["ETag"] != etag


def test_feeds_revalidate_without_cookies(client: FlaskClient, make: Callable[..., Any]) -> None:
    first = client.get("/feeds/events.ics")
    assert first.headers["Cache-Control"] == "no-cache"
    assert "Set-Cookie" not in first.headers
    assert revalidate(client, "/feeds/events.ics", first.headers["ETag"]).status_code == 304
    make("event")
    changed = revalidate(client, "/feeds/events.ics", first.headers["ETag"])
    assert changed.status_code == 200 and b"BEGIN:VEVENT" in changed.data


def test_pages_for_signed_in_users_are_never_stored(
        client: FlaskClient, auth: AuthActions, make: Callable[..., Any]) -> None:
    etag = settled_etag(client, "/")
    make("user", username="city", role="admin")
    auth.login("city")
    for path in ("/", "/dashboard", "/feeds/events.ics"):
        answer = client.get(path, headers={"If-None-Match": etag})
        assert answer.status_code == 200, path
        assert answer.headers["Cache-Control"] == "private, no-store", path
        assert "ETag" not in answer.headers, path


def test_a_page_showing_a_one_time_message_is_not_stored(
        client: FlaskClient, auth: AuthActions, make: Callable[..., Any]) -> None:
    make("user", username="city", role="admin")
    auth.login("city")
    auth.logout()  # flashes "已退出登录" on the home page
    shown = client.get("/")
    assert "已退出登录" in shown.text
    assert shown.headers["Cache-Control"] == "private, no-store" and "ETag" not in shown.headers
    assert "ETag" in client.get("/").headers


def test_posts_and_errors_get_no_etag(client: FlaskClient) -> None:
    assert "ETag" not in client.get("/no-such-page").headers
    answer = client.post("/login", data={"username": "x", "password": "y"})
    assert "ETag" not in answer.headers


TEMPLATES = sorted((PROJECT_ROOT / "templates").rglob("*.html"))
INLINE_CODE = [
    (re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I), "an inline <script>"),
    (re.compile(r"<style\b", re.I), "a <style> element"),
    (re.compile(r"\sstyle\s*=", re.I), "a style= attribute"),
    (re.compile(r"\son[a-z]+\s*=", re.I), "an on…= event handler"),
    (re.compile(r"javascript:", re.I), "a javascript: URL"),
]


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: str(p.relative_to(PROJECT_ROOT)))
def test_templates_need_nothing_the_csp_forbids(template: Path) -> None:
    source = template.read_text(encoding="utf-8")
    source = re.sub(r"\{#.*?#\}", "", source, flags=re.S)  # comments may mention them
    for pattern, what in INLINE_CODE:
        match = pattern.search(source)
        assert match is None, f"{template.name} has {what}: {match.group(0)!r}"


def test_an_id_too_long_for_the_database_is_simply_not_found(client: FlaskClient) -> None:
    for path in ("/events/99999999999", "/platforms/99999999999",
                 "/feeds/platforms/99999999999.ics"):
        assert client.get(path).status_code == 404, path


@pytest.mark.parametrize("query", ["q=%00", "q=a%1Bb", "district=%E2%80%AE1", "q%00=x"])
def test_control_characters_in_a_query_are_refused_by_name(client: FlaskClient, query: str) -> None:
    answer = client.get(f"/platforms?{query}")
    assert answer.status_code == 400
    name = query.split("=")[0].replace("%00", "")
    assert f"查询参数“{name}”含有不允许的控制字符" in answer.text
