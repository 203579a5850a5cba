"""The public page cache: anonymous visitors share rendered pages until anything they show
changes."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from consult_hub.core import pagecache
from consult_hub.core.db import utcnow
from consult_hub.extensions import db
from consult_hub.models import Event, SiteVersion
from tests.support.auth import csrf_token
from tests.support.querycount import count_queries

LIVE = "尚未归档"  # the notice on a month that is counted live, not frozen yet


def page_statements(app: Flask, client: FlaskClient, path: str) -> list[str]:
    """The statements a visit sends, leaving out the cache's own version check."""
    with count_queries(app) as sql:
        answer = client.get(path)
    assert answer.status_code == 200
    return [s for s in sql if "site_versions" not in s]


@pytest.fixture()
def platform(make: Callable[..., Any]) -> Any:
    district = make("district", name="江岸区")
    return make("platform", district_id=district.id, name="百步亭议事厅")


def plan(make: Callable[..., Any], platform_id: int, title: str) -> Any:
    starts = utcnow() + timedelta(days=3)
    return make("event", platform_id=platform_id, topic=title, starts_at=starts,
                ends_at=starts + timedelta(hours=2))


def test_a_second_visitor_gets_the_page_from_memory(app: Flask, platform: Any) -> None:
    first, second = app.test_client(), app.test_client()
    path = f"/platforms/{platform.id}"
    assert page_statements(app, first, path)  # rendered from the database
    assert page_statements(app, second, path) == []  # the same bytes, no query
    assert second.get(path).text == first.get(path).text
    assert "Set-Cookie" not in second.get(path).headers


def test_a_change_shows_at_once(app: Flask, client: FlaskClient, make: Callable[..., Any],
                                platform: Any) -> None:
    """What a coordinator saves is on the public pages for the next visitor."""
    path = f"/platforms/{platform.id}"
    assert "小区停车议事会" not in client.get(path).text
    plan(make, platform.id, "小区停车议事会")  # committed through the ORM, like every view
    assert "小区停车议事会" in client.get(path).text
    assert "小区停车议事会" in client.get("/events").text


def test_a_bulk_update_shows_at_once(app: Flask, make: Callable[..., Any],
                                     platform: Any) -> None:
    resident = app.test_client()
    event = plan(make, platform.id, "旧标题议事会")
    path = f"/events/{event.id}"
    assert "旧标题议事会" in resident.get(path).text
    with app.app_context():
        db.session.execute(sa.update(Event).where(Event.id == event.id)
                           .values(topic="新标题议事会"))
        db.session.commit()  # a bulk UPDATE through the session counts as a change too
    assert "新标题议事会" in resident.get(path).text


@pytest.mark.slow
def test_another_process_writing_reaches_this_ones_visitors(app: Flask, client: FlaskClient,
                                                            make: Callable[..., Any],
                                                            platform: Any) -> None:
    """A scheduler (another process) freezing a month changes the public report at once."""
    before = client.get("/reports/2024/11")
    assert before.status_code == 200 and LIVE in before.text
    with app.app_context():
        version = db.session.scalar(sa.select(SiteVersion.version).where(SiteVersion.id == 1))
    env = {**os.environ, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
           "SECRET_KEY": "test-secret"}
    subprocess.run([sys.executable, "-m", "flask", "--app", "consult_hub", "tally", "compute",
                    "2024-11"], env=env, check=True, capture_output=True, timeout=120)
    with app.app_context():
        assert db.session.scalar(
            sa.select(SiteVersion.version).where(SiteVersion.id == 1)) > version
    after = client.get("/reports/2024/11")
    assert after.status_code == 200 and LIVE not in after.text  # now the frozen figures


def test_private_writes_leave_the_cache_alone(app: Flask, make: Callable[..., Any],
                                              platform: Any) -> None:
    """Signing in (a users row) or an audit entry changes nothing a resident sees."""
    reader, staff = app.test_client(), app.test_client()
    path = f"/platforms/{platform.id}"
    page_statements(app, reader, path)
    make("user", role="admin", username="boss")  # a users row: not public
    # the factory commit above touched only users: the page stays cached
    assert page_statements(app, reader, path) == []
    staff.post("/login", data={"username": "boss", "password": "correct horse battery",
                               "csrf_token": csrf_token(staff, "/login")})
    assert page_statements(app, reader, path) == []


def test_signed_in_users_never_share_pages(app: Flask, auth: Any, client: FlaskClient,
                                           make: Callable[..., Any], platform: Any) -> None:
    visitor = app.test_client()
    assert "登录" in visitor.get("/").text
    make("user", role="admin", username="boss", name="市政协甲")
    auth.login("boss")
    mine = client.get("/")
    assert "市政协甲" in mine.text and mine.headers["Cache-Control"] == "private, no-store"
    assert "市政协甲" not in visitor.get("/").text


def test_a_visitor_who_chose_english_gets_english(app: Flask, client: FlaskClient,
                                                  platform: Any) -> None:
    path = f"/platforms/{platform.id}"
    chinese = app.test_client().get(path).text  # now cached, in Chinese
    assert '<html lang="zh-CN">' in chinese
    client.get(f"/locale/en?next={path}")
    assert '<html lang="en">' in client.get(path).text
    assert '<html lang="zh-CN">' in app.test_client().get(path).text


def test_pages_with_a_form_or_a_message_are_not_shared(app: Flask, platform: Any) -> None:
    first, second = app.test_client(), app.test_client()
    path = f"/submit?platform={platform.id}"
    first.get(path)
    token = csrf_token(second, path)
    assert token not in first.get(path).text  # each visitor's own token
    assert page_statements(app, first, path)  # rendered each time


def test_revalidation_and_head_are_answered_from_memory(app: Flask, platform: Any) -> None:
    client = app.test_client()
    path = f"/platforms/{platform.id}"
    etag = client.get(path).headers["ETag"]
    with count_queries(app) as sql:
        unchanged = client.get(path, headers={"If-None-Match": etag})
        head = client.head(path)
    assert unchanged.status_code == 304 and unchanged.data == b""
    assert head.status_code == 200 and head.data == b""
    assert head.headers["Content-Length"] == str(len(client.get(path).data))
    assert [s for s in sql if "site_versions" not in s] == []


def test_entries_expire(app: Flask, platform: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """What changes with the clock alone (upcoming → past) is rendered afresh after the TTL."""
    client = app.test_client()
    path = f"/platforms/{platform.id}"
    page_statements(app, client, path)
    assert page_statements(app, client, path) == []
    later = pagecache.time.monotonic() + app.config["PAGE_CACHE_SECONDS"] + 1
    monkeypatch.setattr(pagecache.time, "monotonic", lambda: later)
    assert page_statements(app, client, path)


def test_other_workers_see_a_change_within_the_recheck_interval(
        app: Flask, platform: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Another host's commit bumps the version row; this worker reads it every few seconds."""
    cache = app.extensions["page_cache"]
    monkeypatch.setattr(cache, "recheck", 5.0)
    client = app.test_client()
    path = f"/platforms/{platform.id}"
    page_statements(app, client, path)
    with app.app_context(), db.engine.begin() as conn:  # as another host would: no hooks here
        conn.execute(sa.update(SiteVersion).values(version=SiteVersion.version + 1))
    assert page_statements(app, client, path) == []  # within the interval: still shared
    now = pagecache.time.monotonic() + 6
    monkeypatch.setattr(pagecache.time, "monotonic", lambda: now)
    assert page_statements(app, client, path)  # re-read the version: rendered afresh


def test_the_district_filter_follows_new_districts(app: Flask, client: FlaskClient,
                                                   make: Callable[..., Any]) -> None:
    """The public filters keep their district list between requests, until the site changes."""
    make("district", name="江岸区")
    assert "江岸区" in client.get("/events").text
    make("district", name="新洲区")
    assert "新洲区" in client.get("/events").text
    assert "新洲区" in client.get("/platforms?q=none").text  # another page, the same list
