"""Calendar feeds keep each event's rendered VEVENT in memory: a change shows at once.

Every test reads the feed once (filling the cache), changes something, and reads it again.
The readers carry a session (a chosen language), so the whole-page cache never answers them:
what they get is rendered, from the VEVENT cache where it may.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import icalendar
import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from consult_hub.core.db import utcnow
from consult_hub.events.operations import cancel_event, update_event
from consult_hub.extensions import db
from consult_hub.feeds import ical
from consult_hub.models import Event, EventStatus, Platform

pytestmark = pytest.mark.world("feeds")  # tests/support/world.py

CITY = "/feeds/events.ics"


def reader(app: Flask, language: str = "zh") -> FlaskClient:
    """A visitor who chose a language (so the page cache passes them by)."""
    client = app.test_client()
    client.get(f"/locale/{language}?next=/")
    return client


def feed(client: FlaskClient, path: str = CITY, **kwargs: Any) -> dict[str, icalendar.Event]:
    answer = client.get(path, **kwargs)
    assert answer.status_code == 200
    return {str(e["UID"]).split("@")[0]: e for e in
            icalendar.Calendar.from_ical(answer.data).walk("VEVENT")}


def unstamped(body: bytes) -> bytes:
    """A calendar without its DTSTAMPs, which say when it was generated (this second)."""
    return re.sub(rb"\r\nDTSTAMP:\d{8}T\d{6}Z", b"", body)


def uid(event: Any) -> str:
    return f"event-{event.id}"


@pytest.fixture()
def zh(app: Flask) -> FlaskClient:
    return reader(app, "zh")


def write(app: Flask, change: Callable[[], Any]) -> None:
    with app.test_request_context():
        change()
        db.session.commit()
        db.session.remove()


def test_an_edited_event_shows_its_new_text_at_once(app: Flask, zh: FlaskClient,
                                                    world: dict[str, Any]) -> None:
    event = world["event"]
    before = feed(zh)[uid(event)]
    assert str(before["SUMMARY"]) == "加装电梯协商"
    later = event.starts_at + timedelta(days=1)

    def edit() -> None:
        stored = db.session.get(Event, event.id)
        update_event(stored, actor_id=None, topic="加装电梯第二次协商", category="society",
                     format="onsite", starts_at=later, ends_at=later + timedelta(hours=2),
                     location="二楼会议室", agenda="一、通报进展")
    write(app, edit)
    after = feed(zh)[uid(event)]
    assert str(after["SUMMARY"]) == "加装电梯第二次协商"
    assert str(after["LOCATION"]) == "二楼会议室"
    assert "一、通报进展" in str(after["DESCRIPTION"])
    assert after.decoded("DTSTART") - before.decoded("DTSTART") == timedelta(days=1)
    assert int(after["SEQUENCE"]) == int(before["SEQUENCE"]) + 1
    # The district's calendar shares the cached text, and sees the edit too.
    district_feed = feed(zh, "/feeds/districts/420102.ics")
    assert str(district_feed[uid(event)]["SUMMARY"]) == "加装电梯第二次协商"


def test_a_cancellation_shows_at_once(app: Flask, zh: FlaskClient,
                                      world: dict[str, Any]) -> None:
    event = world["event"]
    assert str(feed(zh)[uid(event)]["STATUS"]) == "CONFIRMED"
    write(app, lambda: cancel_event(db.session.get(Event, event.id), reason="场地维修",
                                    actor_id=None))
    after = feed(zh)[uid(event)]
    assert str(after["STATUS"]) == "CANCELLED"
    assert "场地维修" in str(after["DESCRIPTION"])
    assert str(feed(zh)[uid(world["other"])]["STATUS"]) == "CONFIRMED"


def test_renaming_or_moving_a_platform_changes_its_events_at_once(
        app: Flask, zh: FlaskClient, world: dict[str, Any]) -> None:
    event, other = world["event"], world["other"]
    assert "百步亭协商议事室" in str(feed(zh)[uid(event)]["DESCRIPTION"])

    def rename() -> None:
        platform = db.session.get(Platform, world["platform"].id)
        platform.name, platform.address = "百步亭社区议事厅", "百步亭花园路9号"
    write(app, rename)
    found = feed(zh)
    assert "百步亭社区议事厅" in str(found[uid(event)]["DESCRIPTION"])
    assert "百步亭花园路9号" in str(found[uid(event)]["DESCRIPTION"])
    assert "百步亭协商议事室" not in str(found[uid(event)]["DESCRIPTION"])
    assert "后湖协商议事室" in str(found[uid(other)]["DESCRIPTION"])  # untouched


def test_bulk_writes_that_bypass_the_orm_show_at_once(app: Flask, zh: FlaskClient,
                                                      world: dict[str, Any]) -> None:
    """Imports write with UPDATE statements (by primary key, or on the table itself)."""
    event = world["event"]
    feed(zh)
    write(app, lambda: db.session.execute(
        sa.update(Event.__table__).where(Event.__table__.c.id == event.id)
        .values(topic="导入改过的议题")))
    assert str(feed(zh)[uid(event)]["SUMMARY"]) == "导入改过的议题"
    with app.app_context():
        version = db.session.scalar(sa.select(Platform.version).where(
            Platform.id == world["platform"].id))
    write(app, lambda: db.session.execute(sa.update(Platform), [
        {"id": world["platform"].id, "version": version, "address": "导入的新地址"}]))
    assert "导入的新地址" in str(feed(zh)[uid(event)]["DESCRIPTION"])


def test_each_language_gets_its_own_words(app: Flask, zh: FlaskClient,
                                          world: dict[str, Any]) -> None:
    event = world["event"]
    chinese = str(feed(zh)[uid(event)]["DESCRIPTION"])
    english_reader = reader(app, "en")
    english = str(feed(english_reader)[uid(event)]["DESCRIPTION"])
    assert "协商平台：百步亭协商议事室" in chinese and "Consultation platform" not in chinese
    assert "Consultation platform: 百步亭协商议事室" in english and "协商平台" not in english
    assert str(feed(english_reader)[uid(event)]["CATEGORIES"]) != str(
        feed(zh)[uid(event)]["CATEGORIES"])
    # Switching back and forth on one session follows the switch every time.
    english_reader.get("/locale/zh?next=/")
    assert "协商平台：百步亭协商议事室" in str(feed(english_reader)[uid(event)]["DESCRIPTION"])
    assert str(feed(zh)[uid(event)]["DESCRIPTION"]) == chinese


def test_links_and_uids_do_not_follow_the_host_asked(app: Flask, zh: FlaskClient,
                                                     world: dict[str, Any]) -> None:
    event = world["event"]
    here = feed(zh)[uid(event)]
    there = feed(zh, base_url="http://forged.example.org")[uid(event)]
    site = app.config["SITE_URL"]
    assert str(here["URL"]) == str(there["URL"]) == f"{site}/events/{event.id}"
    assert str(here["UID"]) == str(there["UID"])
    assert str(feed(zh)[uid(event)]["URL"]) == str(here["URL"])


def test_a_calendar_larger_than_the_cache_is_whole_and_the_same_every_time(
        app: Flask, zh: FlaskClient, make: Callable[..., Any],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.extensions, "feeds.vevents", ical.VEventCache(3))
    platform = make("platform")
    now = utcnow()
    for n in range(8):
        make("event", platform_id=platform.id, topic=f"第{n}场",
             status=EventStatus.PLANNED, starts_at=now + timedelta(days=n + 1),
             ends_at=now + timedelta(days=n + 1, hours=2))
    first = zh.get(CITY).data
    assert [str(e["SUMMARY"]) for e in icalendar.Calendar.from_ical(first).walk("VEVENT")] \
        == [f"第{n}场" for n in range(8)]
    assert unstamped(zh.get(CITY).data) == unstamped(first)
    assert len(app.extensions["feeds.vevents"]) == 3


class Fixed(ical.Rendering):
    """A rendering that is only its key: the cache needs no more."""

    def __init__(self, key: str) -> None:  # no request, no words
        self.key = key


def test_the_cache_forgets_the_least_recently_used() -> None:
    cache = ical.VEventCache(2)

    zh, en = Fixed("zh"), Fixed("en")
    cache.put_many(zh, [((1, 1), b"a"), ((2, 1), b"b")])
    assert cache.get_many(zh, [(1, 1)]) == [b"a"]  # 1 is now the most recently used
    cache.put_many(zh, [((3, 1), b"c")])
    assert cache.get_many(zh, [(1, 1), (2, 1), (3, 1)]) == [b"a", None, b"c"]
    assert cache.get_many(en, [(1, 1)]) == [None]  # another rendering never shares a text
    assert cache.get_many(zh, [(1, 2)]) == [None]  # nor another version of the row


def test_many_renderings_never_mix_their_texts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hosts asked (or locales) past the limit push out the oldest, and only that one."""
    cache = ical.VEventCache(100)
    monkeypatch.setattr(ical.VEventCache, "MAX_RENDERINGS", 2)

    a, b, c = Fixed("a"), Fixed("b"), Fixed("c")
    for rendering in (a, b):
        cache.put_many(rendering, [((1, 1), rendering.key.encode())])
    cache.get_many(a, [(1, 1)])  # a is used again; b is now the oldest
    cache.put_many(c, [((1, 1), b"c")])
    assert [cache.get_many(r, [(1, 1)]) for r in (a, b, c)] == [[b"a"], [None], [b"c"]]
    cache.put_many(b, [((1, 1), b"b again")])  # a new slot: never the forgotten one's texts
    assert [cache.get_many(r, [(1, 1)]) for r in (a, b, c)] == [[None], [b"b again"], [b"c"]]


def test_an_unchanged_calendar_is_not_read_or_written_again(
        app: Flask, zh: FlaskClient, world: dict[str, Any],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The identities the calendar lists are those its texts were cached under."""
    from consult_hub.feeds import queries

    loaded: list[int] = []
    real = queries.vevent_rows

    def counting(event_ids: list[int]) -> Any:
        loaded.extend(event_ids)
        return real(event_ids)

    monkeypatch.setattr(queries, "vevent_rows", counting)
    first = zh.get(CITY).data
    assert sorted(loaded) == sorted([world["event"].id, world["other"].id])
    loaded.clear()
    assert unstamped(zh.get(CITY).data) == unstamped(first)
    assert zh.get("/feeds/districts/420102.ics").status_code == 200
    assert loaded == []
    write(app, lambda: setattr(db.session.get(Event, world["other"].id), "topic", "新议题"))
    assert "新议题".encode() in zh.get(CITY).data
    assert loaded == [world["other"].id]
