"""Each public page sends a fixed, small number of SQL statements, however much data there is."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask, url_for

from consult_hub.core.db import utcnow
from consult_hub.extensions import db
from consult_hub.issues.operations import change_status
from consult_hub.models import Event, EventStatus, Issue, Platform
from tests.support import factories
from tests.support.querycount import Statements, count_queries

MAX_QUERIES = 12


@dataclass
class World:
    """The objects the pages under test are about; each grows with the rest of the data."""

    district_id: int = 0
    district_code: str = ""
    platform_id: int = 0
    event_id: int = 0
    issue_reference: str = ""
    member_ids: list[int] = field(default_factory=list)


def resolve(issue: Issue, text: str = "已解决。") -> None:
    change_status(issue, "resolve", actor_id=None, resolution=text)


def grow(world: World, platforms: int, per_platform: int) -> None:
    """Add ``platforms`` platforms with events, members and problems; give the target more too."""
    now = utcnow()
    other_district = factories.district()
    for n in range(platforms):
        district_id = world.district_id if n % 2 == 0 else other_district.id
        platform = factories.platform(district_id=district_id)
        _fill(platform, per_platform, now)
    target = db.session.get(Platform, world.platform_id)
    event = db.session.get(Event, world.event_id)
    issue = db.session.scalar(db.select(Issue).filter_by(reference=world.issue_reference))
    for _ in range(per_platform):
        member = factories.member()
        target.members.append(member)
        event.attendees.append(member)
        raised = factories.issue(platform_id=target.id, event_id=event.id)
        resolve(raised)
        change_status(issue, "reopen", actor_id=None, reason="居民不满意")
        resolve(issue, "再次办理。")
    _fill(target, per_platform, now)


def _fill(platform: Platform, count: int, now) -> None:
    for n in range(count):
        held = factories.event(platform_id=platform.id, status=EventStatus.HELD,
                               starts_at=now - timedelta(days=10 + n),
                               ends_at=now - timedelta(days=10 + n) + timedelta(hours=2))
        held.attendees.append(factories.member())
        factories.event(platform_id=platform.id, starts_at=now + timedelta(days=2 + n),
                        ends_at=now + timedelta(days=2 + n, hours=2))
        factories.event(platform_id=platform.id, status=EventStatus.CANCELLED,
                        cancel_reason="场地维修", cancelled_at=now)
        platform.members.append(factories.member())
        resolve(factories.issue(platform_id=platform.id, event_id=held.id))


def seed(world: World) -> None:
    """The smallest world: one platform with one held event, one member and one outcome."""
    now = utcnow()
    district = factories.district()
    platform = factories.platform(district_id=district.id)
    event = factories.event(platform_id=platform.id, status=EventStatus.HELD,
                            starts_at=now - timedelta(days=3),
                            ends_at=now - timedelta(days=3) + timedelta(hours=2),
                            minutes="纪要", opinions="意见", outcome="成果")
    member = factories.member()
    platform.members.append(member)
    event.attendees.append(member)
    issue = factories.issue(platform_id=platform.id, event_id=event.id)
    resolve(issue)
    world.district_id, world.district_code = district.id, district.code
    world.platform_id, world.event_id = platform.id, event.id
    world.issue_reference = issue.reference


def page_urls(app: Flask, world: World) -> dict[str, str]:
    """The public pages and feeds, each about an object that grows with the data."""
    pages: dict[str, dict[str, Any]] = {
        "main.index": {}, "feeds.index": {}, "feeds.city_events": {},
        "feeds.district_events": {"code": world.district_code},
        "feeds.platform_events": {"platform_id": world.platform_id}, "feeds.outcomes": {},
        "public.platforms": {}, "public.platform": {"platform_id": world.platform_id},
        "public.events": {}, "public.event": {"event_id": world.event_id},
        "public.outcomes": {}, "public.issue": {"reference": world.issue_reference},
    }
    with app.test_request_context():
        return {endpoint: url_for(endpoint, **args) for endpoint, args in pages.items()}


def measure(app: Flask, urls: dict[str, str]) -> dict[str, Statements]:
    client = app.test_client()
    counts = {}
    for endpoint, url in urls.items():
        for _ in range(2):  # settle the session cookie as a returning visitor has it
            assert client.get(url).status_code == 200, url
        with count_queries(app) as statements:
            answer = client.get(url)
        assert answer.status_code == 200, url
        counts[endpoint] = statements
    return counts


@pytest.mark.slow
def test_public_pages_send_the_same_few_queries_for_little_and_much_data(app: Flask) -> None:
    world = World()
    with app.app_context():
        seed(world)
        grow(world, platforms=1, per_platform=1)
        db.session.commit()
    urls = page_urls(app, world)
    small = measure(app, urls)
    with app.app_context():
        grow(world, platforms=24, per_platform=3)
        db.session.commit()
    large = measure(app, urls)

    problems = []
    for endpoint, url in urls.items():
        few, many = small[endpoint], large[endpoint]
        if len(few) != len(many) or len(many) > MAX_QUERIES:
            problems.append(f"{url} ({endpoint}): {len(few)} queries with little data, "
                            f"{len(many)} with more (at most {MAX_QUERIES}).\n"
                            f"-- little data:\n{few}\n-- more data:\n{many}")
    assert not problems, "\n\n".join(problems)
