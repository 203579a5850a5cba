"""iCal and Atom feeds, read back with real parsers (icalendar, feedparser)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import feedparser
import icalendar
import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from consult_hub.core.db import utcnow
from consult_hub.extensions import db
from consult_hub.issues.operations import change_status
from consult_hub.models import Event, EventStatus, Issue
from tests.support import factories

SHANGHAI = "Asia/Shanghai"


def parse_calendar(client: FlaskClient, path: str) -> icalendar.Calendar:
    answer = client.get(path)
    assert answer.status_code == 200, answer.text[:300]
    assert answer.headers["Content-Type"] == "text/calendar; charset=utf-8"
    return icalendar.Calendar.from_ical(answer.data)


def site_domain(app: Flask) -> str:
    """The configured site's host name: UIDs and ids must not depend on the host a client asked."""
    return urlsplit(app.config["SITE_URL"]).hostname or ""


def vevents(calendar: icalendar.Calendar) -> dict[str, icalendar.Event]:
    """The calendar's events by SUMMARY."""
    return {str(e["SUMMARY"]): e for e in calendar.walk("VEVENT")}


def outcome(app: Flask, action: str = "resolve", **values: Any) -> Issue:
    """A problem taken through ``action``; plan and constrain go through assign first."""
    with app.app_context():
        platform_id = values.pop("platform_id", None)
        issue = factories.issue(platform_id=platform_id, **values.pop("issue", {}))
        if action in ("plan", "constrain", "assign"):
            change_status(issue, "assign", actor_id=None, department=factories.department(),
                          due_on=utcnow().date() + timedelta(days=10))
        if action != "assign":
            change_status(issue, action, actor_id=None, **values)
        db.session.commit()
        db.session.refresh(issue)
        db.session.expunge(issue)
        return issue


@pytest.fixture()
def calendar_world(make: Callable[..., Any]) -> dict[str, Any]:
    """Two districts; events of every status, one too old to publish."""
    district = make("district", code="420102", name="江岸区")
    other = make("district")
    platform = make("platform", district_id=district.id, name="百步亭协商议事室",
                    address="百步亭花园路1号")
    other_platform = make("platform", district_id=other.id)
    now = utcnow()
    # 02:00 UTC is 10:00 in Shanghai.
    start = datetime(now.year, now.month, now.day, 2, 0, tzinfo=UTC) + timedelta(days=5)
    events = {
        "planned": make("event", platform_id=platform.id, topic="加装电梯协商",
                        starts_at=start, ends_at=start + timedelta(hours=2), sequence=2,
                        location="百步亭社区会议室", agenda="一、通报情况\n二、居民发言"),
        "held": make("event", platform_id=platform.id, topic="停车难协商",
                     status=EventStatus.HELD, starts_at=now - timedelta(days=30),
                     ends_at=now - timedelta(days=30) + timedelta(hours=2)),
        "concluded": make("event", platform_id=other_platform.id, topic="垃圾分类协商",
                          status=EventStatus.CONCLUDED, starts_at=now - timedelta(days=60),
                          ends_at=now - timedelta(days=60) + timedelta(hours=2),
                          concluded_at=now - timedelta(days=50)),
        "cancelled": make("event", platform_id=platform.id, topic="菜市场协商",
                          status=EventStatus.CANCELLED, cancel_reason="场地维修",
                          cancelled_at=now),
        "too_old": make("event", platform_id=platform.id, topic="很久以前的协商",
                        status=EventStatus.HELD, starts_at=now - timedelta(days=100),
                        ends_at=now - timedelta(days=100) + timedelta(hours=2)),
    }
    return {"district": district, "other": other, "platform": platform,
            "other_platform": other_platform, "events": events}


def test_city_calendar_publishes_recent_and_coming_events_with_local_times(
        app: Flask, client: FlaskClient, calendar_world: dict[str, Any]) -> None:
    calendar = parse_calendar(client, "/feeds/events.ics")
    found = vevents(calendar)
    assert set(found) == {"加装电梯协商", "停车难协商", "垃圾分类协商", "菜市场协商"}

    (zone,) = calendar.walk("VTIMEZONE")
    assert str(zone["TZID"]) == SHANGHAI
    planned = found["加装电梯协商"]
    assert planned["DTSTART"].params["TZID"] == SHANGHAI
    assert planned.decoded("DTSTART").strftime("%H:%M") == "10:00"
    assert planned.decoded("DTEND") - planned.decoded("DTSTART") == timedelta(hours=2)
    assert str(planned["LOCATION"]) == "百步亭社区会议室"
    assert "二、居民发言" in str(planned["DESCRIPTION"])
    assert "百步亭协商议事室" in str(planned["DESCRIPTION"])
    assert int(planned["SEQUENCE"]) == 2
    uid = f"event-{calendar_world['events']['planned'].id}@{site_domain(app)}"
    assert str(planned["UID"]) == uid
    assert planned.decoded("DTSTAMP") and planned.decoded("LAST-MODIFIED")


def test_cancelled_events_say_so(client: FlaskClient, calendar_world: dict[str, Any]) -> None:
    found = vevents(parse_calendar(client, "/feeds/events.ics"))
    assert str(found["菜市场协商"]["STATUS"]) == "CANCELLED"
    assert "场地维修" in str(found["菜市场协商"]["DESCRIPTION"])
    assert {str(found[name]["STATUS"]) for name in ("加装电梯协商", "停车难协商", "垃圾分类协商")} \
        == {"CONFIRMED"}


def test_a_rescheduled_event_keeps_its_uid_and_shows_the_new_sequence(
        app: Flask, client: FlaskClient, calendar_world: dict[str, Any]) -> None:
    before = vevents(parse_calendar(client, "/feeds/events.ics"))["加装电梯协商"]
    with app.app_context():
        event = db.session.get(Event, calendar_world["events"]["planned"].id)
        event.starts_at += timedelta(days=1)
        event.ends_at += timedelta(days=1)
        event.sequence += 1
        db.session.commit()
    after = vevents(parse_calendar(client, "/feeds/events.ics"))["加装电梯协商"]
    assert str(after["UID"]) == str(before["UID"])
    assert int(after["SEQUENCE"]) == 3
    assert after.decoded("DTSTART") - before.decoded("DTSTART") == timedelta(days=1)


def test_uids_do_not_depend_on_the_host_asked(client: FlaskClient,
                                             calendar_world: dict[str, Any]) -> None:
    here = vevents(parse_calendar(client, "/feeds/events.ics"))
    answer = client.get("/feeds/events.ics", base_url="http://mirror.example.org")
    there = vevents(icalendar.Calendar.from_ical(answer.data))
    assert {str(e["UID"]) for e in there.values()} == {str(e["UID"]) for e in here.values()}


def test_events_link_back_to_their_public_page(
        client: FlaskClient, calendar_world: dict[str, Any]) -> None:
    planned = vevents(parse_calendar(client, "/feeds/events.ics"))["加装电梯协商"]
    url = str(planned["URL"])
    site = client.application.config["SITE_URL"]
    assert url.startswith(site + "/") and str(calendar_world["events"]["planned"].id) in url
    assert client.get(url.removeprefix(site)).status_code == 200


def test_district_calendar_holds_only_that_districts_events(
        client: FlaskClient, calendar_world: dict[str, Any]) -> None:
    found = vevents(parse_calendar(client, "/feeds/districts/420102.ics"))
    assert set(found) == {"加装电梯协商", "停车难协商", "菜市场协商"}
    assert client.get("/feeds/districts/nowhere.ics").status_code == 404


def test_platform_calendar_holds_only_that_platforms_events(
        client: FlaskClient, calendar_world: dict[str, Any]) -> None:
    other_id = calendar_world["other_platform"].id
    found = vevents(parse_calendar(client, f"/feeds/platforms/{other_id}.ics"))
    assert set(found) == {"垃圾分类协商"}
    calendar = parse_calendar(client, f"/feeds/platforms/{calendar_world['platform'].id}.ics")
    assert "百步亭协商议事室" in str(calendar["X-WR-CALNAME"])
    assert client.get("/feeds/platforms/999999.ics").status_code == 404


def test_an_empty_calendar_still_parses(client: FlaskClient) -> None:
    calendar = parse_calendar(client, "/feeds/events.ics")
    assert calendar.walk("VEVENT") == []
    assert str(calendar["VERSION"]) == "2.0"


def test_text_survives_escaping_and_folding(app: Flask, client: FlaskClient,
                                            make: Callable[..., Any]) -> None:
    """Separators, backslashes, line breaks and long Chinese text come back as entered."""
    platform = make("platform")
    topic = "议事会;第二场,关于\\路径 C:\\temp 与 English words"
    location = "社区党群服务中心" * 9 + "（三楼）"
    make("event", platform_id=platform.id, topic=topic, location=location,
         agenda="一、通报情况\n二、居民发言;三、部门回应,四、总结")
    answer = client.get(f"/feeds/platforms/{platform.id}.ics")
    lines = answer.data.split(b"\r\n")
    assert all(len(line) <= 75 for line in lines), "a content line longer than 75 octets"
    for line in lines:
        line.decode("utf-8")  # folding never splits a character
    event = icalendar.Calendar.from_ical(answer.data).walk("VEVENT")[0]
    assert str(event["SUMMARY"]) == topic
    assert str(event["LOCATION"]) == location
    assert "一、通报情况\n二、居民发言;三、部门回应,四、总结" in str(event["DESCRIPTION"])


def test_a_busy_calendar_keeps_what_is_coming(app: Flask, client: FlaskClient,
                                              make: Callable[..., Any],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """When the recent past alone would fill the feed, the coming events still make it in."""
    from consult_hub.feeds import queries

    monkeypatch.setattr(queries, "MAX_EVENTS", 3)
    platform = make("platform")
    now = utcnow()
    for days in (80, 60, 40, 20):
        make("event", platform_id=platform.id, topic=f"{days}天前", status=EventStatus.HELD,
             starts_at=now - timedelta(days=days), ends_at=now - timedelta(days=days, hours=-2))
    make("event", platform_id=platform.id, topic="明天的议事会",
         starts_at=now + timedelta(days=1), ends_at=now + timedelta(days=1, hours=2))
    summaries = [str(e["SUMMARY"]) for e in parse_calendar(
        client, f"/feeds/platforms/{platform.id}.ics").walk("VEVENT")]
    assert summaries == ["40天前", "20天前", "明天的议事会"]


def test_outcomes_feed_lists_resolved_planned_and_constrained_problems(
        app: Flask, client: FlaskClient, make: Callable[..., Any]) -> None:
    platform = make("platform")
    resolved = outcome(app, "resolve", platform_id=platform.id, issue={"title": "路灯不亮"},
                       resolution="已更换路灯。")
    planned = outcome(app, "plan", platform_id=platform.id, issue={"title": "缺少充电桩"},
                      planned_on=utcnow().date() + timedelta(days=60))
    constrained = outcome(app, "constrain", platform_id=platform.id,
                          issue={"title": "想建地下车库"}, resolution="规划条件不允许。")
    outcome(app, "assign", platform_id=platform.id, issue={"title": "正在办理的问题"})
    outcome(app, "reject", platform_id=platform.id, issue={"title": "被驳回的问题"}, reason="重复")

    answer = client.get("/feeds/outcomes.atom")
    assert answer.headers["Content-Type"] == "application/atom+xml; charset=utf-8"
    feed = feedparser.parse(answer.data)
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.version == "atom10"
    titles = {entry.title for entry in feed.entries}
    assert titles == {"路灯不亮（已解决或采纳）", "缺少充电桩（列入计划正在解决）",
                      "想建地下车库（因条件所限一时难以解决）"}
    by_ref = {entry.id.rsplit("/", 1)[1]: entry for entry in feed.entries}
    assert by_ref[resolved.reference].summary == "已更换路灯。"
    assert by_ref[constrained.reference].summary == "规划条件不允许。"
    assert by_ref[planned.reference].id == f"tag:{site_domain(app)},2024:issue/{planned.reference}"
    link = by_ref[resolved.reference].link
    assert link == f"{app.config['SITE_URL']}/issues/{resolved.reference}"
    assert client.get(link.removeprefix(app.config["SITE_URL"])).status_code == 200


def test_outcome_ids_are_stable_and_the_newest_come_first(
        app: Flask, client: FlaskClient, make: Callable[..., Any]) -> None:
    platform = make("platform")
    outcome(app, "resolve", platform_id=platform.id, issue={"title": "先办结"},
                    resolution="好了", now=utcnow() - timedelta(days=2))
    outcome(app, "resolve", platform_id=platform.id, issue={"title": "后办结"}, resolution="也好了")
    entries = feedparser.parse(client.get("/feeds/outcomes.atom").data).entries
    assert [entry.title for entry in entries] == ["后办结（已解决或采纳）",
                                                  "先办结（已解决或采纳）"]
    again = feedparser.parse(client.get("/feeds/outcomes.atom").data).entries
    assert [entry.id for entry in again] == [entry.id for entry in entries]


@pytest.mark.slow
def test_outcomes_feed_stops_at_fifty(app: Flask, client: FlaskClient,
                                      make: Callable[..., Any]) -> None:
    platform = make("platform")
    for n in range(51):
        outcome(app, "resolve", platform_id=platform.id, issue={"title": f"问题{n}"},
                resolution="已解决")
    feed = feedparser.parse(client.get("/feeds/outcomes.atom").data)
    assert len(feed.entries) == 50


def test_no_feed_shows_a_residents_name_or_phone(app: Flask, client: FlaskClient,
                                               calendar_world: dict[str, Any]) -> None:
    name, phone = "隐私测试员甲乙丙", "13912345678"
    event = calendar_world["events"]["held"]
    issue = outcome(app, "resolve", platform_id=calendar_world["platform"].id,
                    issue={"submitter_name": name, "submitter_phone": phone,
                           "event_id": event.id, "title": "有隐私的问题"},
                    resolution="已处理")
    paths = ["/feeds/events.ics", "/feeds/districts/420102.ics", "/feeds/outcomes.atom",
             f"/feeds/platforms/{calendar_world['platform'].id}.ics", "/feeds/"]
    for path in paths:
        body = client.get(path).get_data(as_text=True)
        assert name not in body and phone not in body, path
    assert issue.reference in client.get("/feeds/outcomes.atom").get_data(as_text=True)


def test_the_subscription_page_lists_the_feeds(client: FlaskClient,
                                               calendar_world: dict[str, Any]) -> None:
    page = client.get("/feeds/")
    assert page.status_code == 200
    for link in ("/feeds/events.ics", "/feeds/outcomes.atom", "/feeds/districts/420102.ics"):
        assert link in page.text



# -- RFC 5545 DTSTAMP and LAST-MODIFIED; HTTP Last-Modified -------------------------------------


def test_dtstamp_is_when_the_calendar_was_made_and_last_modified_the_events_change(
        app: Flask, client: FlaskClient, make: Callable[..., Any]) -> None:
    """With METHOD:PUBLISH, DTSTAMP is when the calendar was generated (RFC 5545 3.8.7.2)."""
    platform = make("platform")
    changed = datetime(2024, 3, 1, 6, 30, tzinfo=UTC)
    make("event", platform_id=platform.id, topic="上周改过的活动",
         created_at=changed - timedelta(days=2), updated_at=changed)
    before = utcnow().replace(microsecond=0)
    calendar = parse_calendar(client, "/feeds/events.ics")
    after = utcnow()
    assert str(calendar["METHOD"]) == "PUBLISH"
    event = vevents(calendar)["上周改过的活动"]
    assert event.decoded("LAST-MODIFIED") == changed
    assert event.decoded("CREATED") == changed - timedelta(days=2)
    assert before <= event.decoded("DTSTAMP") <= after


def test_feeds_answer_last_modified_and_not_modified_since_then(
        app: Flask, client: FlaskClient, calendar_world: dict[str, Any],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Calendar and feed readers that keep only Last-Modified get 304 until something
    changes, whether the page comes from the page cache or is rendered afresh."""
    import consult_hub.feeds.views as feed_views
    from consult_hub.core.pagecache import SiteVersion

    # The site last changed a while ago (whole seconds apart from the change below).
    long_ago = datetime(2024, 1, 1, tzinfo=UTC)
    monkeypatch.setattr(feed_views, "STARTED", long_ago)
    with app.app_context():
        db.session.execute(sa.update(SiteVersion).values(changed_at=long_ago))
        db.session.commit()
    paths = ("/feeds/events.ics", "/feeds/districts/420102.ics", "/feeds/outcomes.atom",
             f"/feeds/platforms/{calendar_world['platform'].id}.ics")
    stamps = {}
    for path in paths:
        answer = client.get(path)
        assert answer.status_code == 200 and answer.headers["ETag"], path
        assert long_ago <= answer.last_modified < utcnow() - timedelta(seconds=1), path
        stamps[path] = answer.headers["Last-Modified"]
        for fresh in (False, True):
            if fresh and "page_cache" in app.extensions:
                app.extensions["page_cache"].clear()  # rendered again, not served from memory
            again = client.get(path, headers={"If-Modified-Since": stamps[path]})
            assert (again.status_code, again.data) == (304, b""), (path, fresh)
    # The too old event left the window 10 days ago: the calendars changed then.
    assert client.get(paths[0]).last_modified > utcnow() - timedelta(days=10, minutes=1)
    # An older copy is sent in full, and If-None-Match wins over If-Modified-Since.
    city = paths[0]
    old = "Mon, 01 Jan 2024 00:00:00 GMT"
    assert client.get(city, headers={"If-Modified-Since": old}).status_code == 200
    assert client.get(city, headers={"If-Modified-Since": stamps[city],
                                     "If-None-Match": 'W/"other"'}).status_code == 200

    with app.app_context():
        db.session.get(Event, calendar_world["events"]["planned"].id).topic = "加装电梯（改期）"
        db.session.commit()
    for path in paths:
        answer = client.get(path, headers={"If-Modified-Since": stamps[path]})
        assert answer.status_code == 200, path
        assert answer.last_modified > utcnow() - timedelta(minutes=1)
    assert "加装电梯（改期）" in client.get(city).get_data(as_text=True)


def test_a_calendar_made_again_keeps_its_etag(app: Flask, client: FlaskClient,
                                              calendar_world: dict[str, Any],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """Its DTSTAMPs move with the clock; its ETag is of the events, so a client revalidates."""
    import consult_hub.feeds.views as feed_views

    first = client.get("/feeds/events.ics")
    if "page_cache" in app.extensions:
        app.extensions["page_cache"].clear()
    later = utcnow() + timedelta(minutes=5)
    monkeypatch.setattr(feed_views, "utcnow", lambda: later)
    second = client.get("/feeds/events.ics")
    assert b"DTSTAMP:" + f"{later:%Y%m%dT%H%M%SZ}".encode() in second.data
    assert second.data != first.data
    assert second.headers["ETag"] == first.headers["ETag"]
    if "page_cache" in app.extensions:
        app.extensions["page_cache"].clear()
    assert client.get("/feeds/events.ics",
                      headers={"If-None-Match": first.headers["ETag"]}).status_code == 304
