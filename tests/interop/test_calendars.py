"""The calendars and the outcomes feed as clients others wrote read them (issue 17, items 5-6).

iCal through ical.js (Mozilla's parser, used by Thunderbird and many web calendars; run with
node, one process for the module) and vobject; Atom through feedparser, fetching over HTTP
as a feed reader does, conditional requests included. Only what these clients understood is
checked, never the site's own text.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import feedparser
import pytest
import vobject
from flask import Flask
from flask.testing import FlaskClient

from consult_hub.core.db import utcnow
from consult_hub.extensions import db
from consult_hub.issues.operations import change_status
from consult_hub.models import EventStatus
from tests.support import factories
from tests.support.e2e import serve

ROOT = Path(__file__).resolve().parents[2]
READER = Path(__file__).with_name("ical_reader.mjs")
CITY = "/feeds/events.ics"
# Text a calendar must carry through its escaping and folding: commas, semicolons, a
# backslash, new lines and a long Chinese line (folded inside 75 octets).
AGENDA = ("一、通报情况；听取意见,再议\n二、居民发言 \\ 自由讨论\n"
          + "请各位居民代表提前到场签到。" * 8)
CHANGED = datetime(2024, 3, 1, 6, 30, tzinfo=UTC)


class IcalJs:
    """One node process running ical_reader.mjs: a calendar in, what ical.js read out."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            ["node", str(READER)], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            text=True, encoding="utf-8")

    def read(self, ics: bytes) -> dict[str, Any]:
        assert self.process.stdin and self.process.stdout
        self.process.stdin.write(json.dumps({"ics": ics.decode("utf-8")}) + "\n")
        self.process.stdin.flush()
        answer = json.loads(self.process.stdout.readline())
        assert "error" not in answer, answer["error"]
        return answer["ok"]

    def close(self) -> None:
        assert self.process.stdin and self.process.stdout
        self.process.stdin.close()  # node ends at the end of its input
        self.process.wait(timeout=10)
        self.process.stdout.close()


@pytest.fixture(scope="module")
def icaljs() -> Iterator[IcalJs]:
    if shutil.which("node") is None:
        pytest.skip("node missing: ical.js cannot run (apt-get install nodejs npm)")
    if not (ROOT / "node_modules" / "ical.js").is_dir():
        pytest.skip("ical.js missing: run `npm ci` (make test does)")
    reader = IcalJs()
    yield reader
    reader.close()


@pytest.fixture()
def events(app: Flask, make: Callable[..., Any]) -> dict[str, Any]:
    """A coming event with hard text and a known last change, a cancelled one, a past one."""
    district = make("district", code="420102", name="江岸区")
    platform = make("platform", district_id=district.id, name="百步亭协商议事室",
                    address="百步亭花园路1号")
    now = utcnow().replace(microsecond=0)
    start = datetime(now.year, now.month, now.day, 16, 0, tzinfo=UTC) + timedelta(days=5)
    return {
        # 16:00 UTC is midnight in Shanghai: the local day is the next one.
        "coming": make("event", platform_id=platform.id, topic="加装电梯, 协商; 第2次",
                       starts_at=start, ends_at=start + timedelta(hours=2), sequence=2,
                       location="百步亭社区会议室（3楼）", agenda=AGENDA,
                       created_at=CHANGED - timedelta(days=2), updated_at=CHANGED),
        "cancelled": make("event", platform_id=platform.id, topic="菜市场协商",
                          status=EventStatus.CANCELLED, cancel_reason="场地维修",
                          cancelled_at=now),
        "held": make("event", platform_id=platform.id, topic="停车难协商",
                     status=EventStatus.HELD, starts_at=now - timedelta(days=30),
                     ends_at=now - timedelta(days=30, hours=-2), minutes="纪要"),
        "platform": platform,
    }


def fetch(client: FlaskClient, path: str) -> tuple[bytes, datetime, datetime]:
    """The calendar and the whole seconds around its making."""
    before = utcnow().replace(microsecond=0)
    answer = client.get(path)
    after = utcnow()
    assert answer.status_code == 200, answer.text[:300]
    assert answer.headers["Content-Type"] == "text/calendar; charset=utf-8"
    return answer.data, before, after


def iso(value: datetime) -> str:
    """A moment as JavaScript's toISOString writes it."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def test_ical_js_reads_every_event_to_the_letter(app: Flask, client: FlaskClient,
                                                 icaljs: IcalJs, events: dict[str, Any]) -> None:
    body, before, after = fetch(client, CITY)
    calendar = icaljs.read(body)
    assert (calendar["version"], calendar["method"]) == ("2.0", "PUBLISH")
    assert calendar["zones"] == ["Asia/Shanghai"]
    found = {event["summary"]: event for event in calendar["events"]}
    assert set(found) == {"加装电梯, 协商; 第2次", "菜市场协商", "停车难协商"}

    coming, stored = found["加装电梯, 协商; 第2次"], events["coming"]
    assert coming["start_zone"] == "Asia/Shanghai"
    assert coming["start"] == iso(stored.starts_at)  # the same instant, through the VTIMEZONE
    assert coming["start_local"].endswith("T00:00:00")
    assert coming["end"] == iso(stored.ends_at)
    assert coming["location"] == "百步亭社区会议室（3楼）"
    assert AGENDA in coming["description"] and "百步亭协商议事室" in coming["description"]
    assert coming["sequence"] == 2 and coming["status"] == "CONFIRMED"
    assert coming["url"] == f"{app.config['SITE_URL']}/events/{stored.id}"
    # RFC 5545 3.8.7.2: with METHOD:PUBLISH, DTSTAMP is when the calendar was made;
    # LAST-MODIFIED and CREATED are the event's.
    for event in found.values():
        stamp = datetime.fromisoformat(event["dtstamp"].replace("Z", "+00:00"))
        assert before <= stamp <= after, event["summary"]
    assert coming["last_modified"] == iso(CHANGED)
    assert coming["created"] == iso(CHANGED - timedelta(days=2))
    assert found["菜市场协商"]["status"] == "CANCELLED"
    assert "场地维修" in found["菜市场协商"]["description"]


def test_ical_js_reads_the_district_and_platform_calendars(
        client: FlaskClient, icaljs: IcalJs, events: dict[str, Any]) -> None:
    for path in ("/feeds/districts/420102.ics", f"/feeds/platforms/{events['platform'].id}.ics"):
        calendar = icaljs.read(client.get(path).data)
        assert calendar["method"] == "PUBLISH"
        assert len(calendar["events"]) == 3, path


def test_vobject_reads_every_event_to_the_letter(app: Flask, client: FlaskClient,
                                                 events: dict[str, Any]) -> None:
    body, before, after = fetch(client, CITY)
    calendar = vobject.readOne(body.decode("utf-8"))
    assert calendar.method.value == "PUBLISH"
    found = {event.summary.value: event for event in calendar.vevent_list}
    coming, stored = found["加装电梯, 协商; 第2次"], events["coming"]
    start = coming.dtstart.value
    assert start.tzinfo is not None and start.utcoffset() == timedelta(hours=8)
    assert (start.hour, start.minute) == (0, 0)
    assert start == stored.starts_at and coming.dtend.value == stored.ends_at
    assert AGENDA in coming.description.value
    assert coming.location.value == "百步亭社区会议室（3楼）"
    assert coming.uid.value.startswith(f"event-{stored.id}@")
    for event in found.values():
        assert before <= event.dtstamp.value <= after, event.summary.value
    assert coming.last_modified.value == CHANGED
    assert coming.created.value == CHANGED - timedelta(days=2)
    assert found["菜市场协商"].status.value == "CANCELLED"


def test_a_feed_reader_gets_not_modified_by_etag_or_by_date(app: Flask,
                                                             make: Callable[..., Any]) -> None:
    """feedparser over HTTP, as a feed reader polls: it keeps the ETag and Last-Modified
    it was given and sends them back."""
    platform = make("platform")
    with app.test_request_context():
        issue = factories.issue(platform_id=platform.id, title="路灯不亮")
        change_status(issue, "resolve", actor_id=None, resolution="已更换路灯, 恢复照明。")
        db.session.commit()
        reference = issue.reference
    with serve(app) as site:
        url = f"{site}/feeds/outcomes.atom"
        feed = feedparser.parse(url)
        assert feed.status == 200 and not feed.bozo, feed.get("bozo_exception")
        assert feed.version == "atom10"
        [entry] = feed.entries
        assert entry.title == "路灯不亮（已解决或采纳）"
        assert entry.summary == "已更换路灯, 恢复照明。"
        assert entry.link == f"{site}/issues/{reference}"
        assert entry.id.endswith(f":issue/{reference}")
        assert feed.feed.updated_parsed == entry.updated_parsed
        assert feed.etag and feed.modified
        assert feedparser.parse(url, etag=feed.etag).status == 304
        assert feedparser.parse(url, modified=feed.modified).status == 304
        calendar = feedparser.parse(f"{site}/feeds/events.ics")  # not a feed, but headers
        assert calendar.headers.get("last-modified") and calendar.headers.get("etag")
        again = feedparser.parse(f"{site}/feeds/events.ics",
                                 modified=calendar.headers["last-modified"])
        assert again.status == 304
