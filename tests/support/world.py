"""One family of test worlds: a base world and the named extensions modules ask for.

The base (``build_world``) is two districts, a platform in each, and a user of every staff role
on each side: what the access matrix and the hostile queries run against. A module takes its
world through the ``world`` fixture (tests/conftest.py) and names the member of the family it
needs with ``pytestmark = pytest.mark.world(name, **params)``; without a mark it gets the base.
Differences between modules (names, usernames, what else is built) are parameters here, so each
module's assertions keep seeing exactly the world they were written against.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask

from consult_hub.core.db import utcnow
from consult_hub.extensions import db
from consult_hub.issues.operations import change_status
from consult_hub.models import AuditLog, EventStatus, Role
from tests.support import api, factories
from tests.support.rollback import RolledBack

STAFF_ROLES = ("admin", "district_admin", "other_district_admin", "coordinator",
               "other_coordinator")
USERNAMES = {"admin": "m_admin", "district_admin": "m_district",
             "other_district_admin": "m_other_district", "coordinator": "m_coordinator",
             "other_coordinator": "m_other_coordinator"}


@dataclass
class World:
    """Two districts, a platform in each, their coordinators and staff, and things to act on."""

    district: Any
    other_district: Any
    platform: Any
    other_platform: Any
    users: dict[str, Any]
    objects: dict[str, Any] = field(default_factory=dict)

    def __getattr__(self, name: str) -> Any:
        try:
            return self.__dict__["objects"][name]
        except KeyError:
            raise AttributeError(name) from None


def build_world(extra: Callable[[World], None] | None = None, *,
                district_names: tuple[str | None, str | None] = (None, None),
                platform_names: tuple[str | None, str | None] = (None, None),
                usernames: dict[str, str] | None = None) -> World:
    """The base world, committed; ``extra`` adds what a module needs before the commit."""
    names = {**USERNAMES, **(usernames or {})}

    def named(value: str | None) -> dict[str, str]:
        return {"name": value} if value is not None else {}

    district = factories.district(**named(district_names[0]))
    other_district = factories.district(**named(district_names[1]))
    platform = factories.platform(district_id=district.id, **named(platform_names[0]))
    other_platform = factories.platform(district_id=other_district.id,
                                        **named(platform_names[1]))
    users = {
        "admin": factories.user("admin", username=names["admin"]),
        "district_admin": factories.user("district_admin", district_id=district.id,
                                         username=names["district_admin"]),
        "other_district_admin": factories.user("district_admin", district_id=other_district.id,
                                               username=names["other_district_admin"]),
        "coordinator": factories.user("coordinator", platform_ids=[platform.id],
                                      username=names["coordinator"]),
        "other_coordinator": factories.user("coordinator", platform_ids=[other_platform.id],
                                            username=names["other_coordinator"]),
    }
    world = World(district, other_district, platform, other_platform, users)
    if extra:
        extra(world)
    db.session.commit()
    return world


def _detached(obj: Any) -> Any:
    """``obj`` loaded and out of its session, as the ``make`` fixture hands objects out."""
    db.session.refresh(obj)
    db.session.expunge(obj)
    return obj


# --- the named members of the family ------------------------------------------------------------
# Each takes the test's ``request`` (for the fixtures it builds on) and the mark's parameters.


def base_world(request: pytest.FixtureRequest, *, keys: dict[str, str] | None = None,
               **params: Any) -> Any:
    """The base world; with ``keys`` ({key: part}), a dict of its parts loaded and detached.

    A part is ``district``, ``other_district``, ``platform``, ``other_platform`` or a role.
    """
    app: Flask = request.getfixturevalue("app")
    with app.app_context():
        world = build_world(**params)
        if keys is None:
            return world
        parts = {"district": world.district, "other_district": world.other_district,
                 "platform": world.platform, "other_platform": world.other_platform,
                 **world.users}
        found = {key: _detached(parts[part]) for key, part in keys.items()}
        db.session.remove()
        return found


def api_world(request: pytest.FixtureRequest, *, freeze: bool = True,
              rate_limit: str | None = None) -> api.ApiWorld:
    """A small city with something in every state, and a token for each role (tests/api)."""
    app: Flask = request.getfixturevalue("app")
    if rate_limit is not None:
        _api_rate_limits(app, request.getfixturevalue("monkeypatch"), rate_limit)
    return api.build_world(app, freeze=freeze)


def _api_rate_limits(app: Flask, monkeypatch: pytest.MonkeyPatch, limit: str) -> None:
    monkeypatch.setitem(app.config, "API_READ_RATE_LIMIT", limit)
    monkeypatch.setitem(app.config, "API_WRITE_RATE_LIMIT", limit)


@dataclass
class SharedWorld:
    """A module's world, built once (``shared_world``), and the transaction it lives in."""

    rolled_back: RolledBack
    world: Any


@contextmanager
def shared_world(request: pytest.FixtureRequest) -> Iterator[SharedWorld]:
    """The API world the module's ``world`` mark names, built once in a transaction never
    committed (tests/support/rollback.py): each case starts from it exactly, rolled back after.

    Built as ``api_world`` builds it, but the mark's ``rate_limit`` holds for the whole module
    rather than one test. ``as_if_committed`` (tests/support/rollback.py): a case sees the site
    version move with its own writes, and a refused request's audit row outlive the request's
    rollback, as on a committed world of its own.

    Without a ``world`` mark, the module shares an empty database: the transaction alone, each
    test building what it needs (``make``) in its own savepoint, rolled back after it.
    """
    app: Flask = request.getfixturevalue("app")
    mark = request.node.get_closest_marker("world")
    if mark is not None and (mark.args[:1] != ("api",) or len(mark.args) > 1):
        raise TypeError(f"only the api world is shared by a module: {mark!r}")
    params = dict(mark.kwargs) if mark is not None else {}
    rate_limit = params.pop("rate_limit", None)
    rolled_back = RolledBack(app, as_if_committed=True)
    try:
        with pytest.MonkeyPatch.context() as monkeypatch:
            if rate_limit is not None:
                _api_rate_limits(app, monkeypatch, rate_limit)
            built = api.build_world(app, **params) if mark is not None else None
            yield SharedWorld(rolled_back, built)
    finally:
        rolled_back.close()


@dataclass
class ShowcaseWorld:
    platform: int
    event: int
    issue: str
    token: str  # the resolved problem's secret tracking link


def showcase_world(request: pytest.FixtureRequest) -> ShowcaseWorld:
    """A platform with members, a held event with its outcome and problems, a coming event."""
    app: Flask = request.getfixturevalue("app")
    now = utcnow()
    with app.app_context():
        district = factories.district(name="江岸区")
        platform = factories.platform(district_id=district.id, name="百步亭花园协商议事室",
                                      convener="王建国", description="社区居民议事的固定场所。",
                                      is_demonstration=True, demonstration_year=2024)
        members = [factories.member(name=name) for name in ("李明", "张华")]
        platform.members.extend(members)
        held = factories.event(
            platform_id=platform.id, topic="老旧小区加装电梯协商", status=EventStatus.CONCLUDED,
            starts_at=now - timedelta(days=7), ends_at=now - timedelta(days=7, hours=-2),
            agenda="一、通报情况\n二、居民发言", minutes="会议纪要。",
            opinions="**协商意见**：分步推进。",
            outcome="已有三栋楼开工。", concluded_at=now - timedelta(days=2),
            resident_count=12, department_count=2, expert_count=1)
        held.attendees.extend(members)
        factories.event(platform_id=platform.id, topic="社区菜市场提档升级协商")
        factories.event(platform_id=platform.id, topic="停车位划线协商",
                        status=EventStatus.CANCELLED, cancel_reason="场地维修", cancelled_at=now)
        resolved = factories.issue(platform_id=platform.id, event_id=held.id, title="路灯不亮",
                                   submitter_name="赵六", submitter_phone="13900001111")
        change_status(resolved, "resolve", actor_id=None, resolution="已更换路灯。")
        factories.issue(platform_id=platform.id, event_id=held.id, title="楼道堆放杂物")
        db.session.commit()
        return ShowcaseWorld(platform=platform.id, event=held.id, issue=resolved.reference,
                             token=resolved.tracking_token)


@dataclass(frozen=True)
class JourneyWorld:
    platform: str
    address: str
    members: tuple[str, str]
    coordinator: tuple[str, str]  # username, name
    district_admin: tuple[str, str]
    department: str


def journey_world(request: pytest.FixtureRequest) -> JourneyWorld:
    """Only what a city sets up by hand: district, platform, members, people, department."""
    app: Flask = request.getfixturevalue("app")
    with app.app_context():
        district = factories.district(name="江岸区")
        platform = factories.platform(district_id=district.id, name="百步亭花园协商议事室",
                                      address="百步亭花园路 18 号")
        platform.members.extend([factories.member(name="李明"), factories.member(name="张华")])
        factories.user(Role.COORDINATOR, username="liaison", name="陈丽",
                       platform_ids=[platform.id])
        factories.user(Role.DISTRICT_ADMIN, username="jiangan", name="周建国",
                       district_id=district.id)
        factories.department(district_id=district.id, name="江岸区城市管理执法局")
        db.session.commit()
        return JourneyWorld(platform=platform.name, address=platform.address,
                            members=("李明", "张华"), coordinator=("liaison", "陈丽"),
                            district_admin=("jiangan", "周建国"), department="江岸区城市管理执法局")


@dataclass(frozen=True)
class ReviewJourneyWorld:
    platform: str
    district_admin: tuple[str, str]  # username, name
    department: str
    department_user: tuple[str, str]
    other_department: str
    street: str  # the platform's street, which a resident searches for on the form
    neighbour: str  # another platform in the same street, in another community


def review_journey_world(request: pytest.FixtureRequest) -> ReviewJourneyWorld:
    """A district with a platform, its staff, two departments (one with a contact who signs in)
    and a routing rule that sends street-light problems to the first department."""
    from consult_hub.core.categories import Category
    from consult_hub.departments import routing

    app: Flask = request.getfixturevalue("app")
    with app.app_context():
        district = factories.district(name="江岸区")
        platform = factories.platform(district_id=district.id, name="百步亭花园协商议事室",
                                      address="百步亭花园路 18 号")
        # Real-sounding places: the resident finds the platform by its street's name, which
        # also holds a second community with its own platform to choose between.
        street = platform.area.parent
        street.name, platform.area.name = "后湖街道", "百步亭花园社区"
        neighbour = factories.platform(district_id=district.id, name="幸福家园协商议事室",
                                       address="后湖大道 86 号")
        neighbour.area.name, neighbour.area.parent = "幸福家园社区", street
        factories.user(Role.DISTRICT_ADMIN, username="jiangan", name="周建国",
                       district_id=district.id)
        department = factories.department(district_id=district.id, name="江岸区城市管理执法局")
        factories.department(district_id=district.id, name="江岸区住房和城市更新局")
        factories.department_user(department.id, username="chengguan", name="陈刚")
        routing.create_rule(district_id=district.id, category=Category.SOCIETY, keyword="路灯",
                            department_id=department.id, due_days=10)
        db.session.commit()
        return ReviewJourneyWorld(
            platform=platform.name, district_admin=("jiangan", "周建国"),
            department="江岸区城市管理执法局", department_user=("chengguan", "陈刚"),
            other_department="江岸区住房和城市更新局", street=street.name,
            neighbour=neighbour.name)


def feeds_world(request: pytest.FixtureRequest) -> dict[str, Any]:
    """A district's two platforms, a coming event at each (tests/feeds)."""
    make: Callable[..., Any] = request.getfixturevalue("make")
    district = make("district", code="420102", name="江岸区")
    platform = make("platform", district_id=district.id, name="百步亭协商议事室",
                    address="百步亭花园路1号")
    neighbour = make("platform", district_id=district.id, name="后湖协商议事室")
    start = utcnow() + timedelta(days=5)
    event = make("event", platform_id=platform.id, topic="加装电梯协商", location="一楼会议室",
                 starts_at=start, ends_at=start + timedelta(hours=2), agenda="一、通报情况")
    other = make("event", platform_id=neighbour.id, topic="停车难协商")
    return {"platform": platform, "neighbour": neighbour, "event": event, "other": other}


EXPORT_NAME, EXPORT_PHONE = "欧阳秀英", "13912345678"


def export_world(request: pytest.FixtureRequest) -> tuple[Any, Any, Any]:
    """Two districts with a platform each; a resident's problem with contact details in each."""
    app: Flask = request.getfixturevalue("app")
    make: Callable[..., Any] = request.getfixturevalue("make")
    district, other = make("district"), make("district")
    mine = make("platform", district_id=district.id, code="A-0001", name="甲平台")
    theirs = make("platform", district_id=other.id, code="B-0001", name="乙平台")
    with app.test_request_context():
        for platform in (mine, theirs):
            factories.issue(platform_id=platform.id, source="resident",
                            title=f"{platform.name}的问题",
                            submitter_name=EXPORT_NAME, submitter_phone=EXPORT_PHONE)
        resolved = factories.issue(platform_id=mine.id, title="已解决的问题")
        change_status(resolved, "resolve", actor_id=None, resolution="已解决。")
        factories.event(platform_id=mine.id, topic="甲平台的活动")
        factories.event(platform_id=mine.id, topic="取消的活动", status=EventStatus.CANCELLED,
                        cancel_reason="下雨")
        factories.event(platform_id=theirs.id, topic="乙平台的活动")
        db.session.commit()
    return district, mine, theirs


AUDIT_T0 = datetime(2026, 3, 1, 17, 0, tzinfo=UTC)  # 2026-03-02 01:00 in Shanghai
IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) Mobile/15E148"


def add_audit_rows(app: Flask, *rows: dict[str, Any]) -> None:
    with app.app_context():
        db.session.add_all(AuditLog(**row) for row in rows)
        db.session.commit()


def audit_world(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Two people's changes, a refusal and a login, on a platform and a problem; admin signed in."""
    app: Flask = request.getfixturevalue("app")
    make: Callable[..., Any] = request.getfixturevalue("make")
    auth: Any = request.getfixturevalue("auth")
    district = make("district")
    platform = make("platform", district_id=district.id, name="百步亭协商议事室")
    issue = make("issue", platform_id=platform.id)
    wang = make("user", role="district_admin", username="wangli", name="王丽",
                district_id=district.id)
    zhang = make("user", role="coordinator", username="zhanghui", name="张慧")
    t0 = AUDIT_T0
    add_audit_rows(
        app,
        dict(actor_id=wang.id, action="issue_assign", entity_type="issues", entity_id=issue.id,
             changes={"status": ["received", "assigned"], "due_on": [None, "2026-03-20"]},
             ip_address="10.1.2.3", user_agent=IPHONE, created_at=t0),
        dict(actor_id=zhang.id, action="access_denied",
             changes={"target": "role:admin", "method": "GET"},
             ip_address="192.168.5.20", user_agent="curl/8.0", created_at=t0 - timedelta(hours=2)),
        dict(actor_id=wang.id, action="platform_update", entity_type="platforms",
             entity_id=platform.id,
             changes={"address": ["中山大道1号", "中山大道203号"]}, ip_address="10.1.7.44",
             created_at=t0 - timedelta(days=3)),
        dict(actor_id=zhang.id, action="issue_note", entity_type="issues", entity_id=issue.id,
             changes={"note": ["", "已联系街道"]}, ip_address="10.9.9.9",
             created_at=t0 - timedelta(days=5)),
    )
    admin = make("user", role="admin", username="boss")
    auth.login(admin.username)
    return {"platform": platform.id, "issue": issue.id}


WORLDS: dict[str, Callable[..., Any]] = {
    "base": base_world, "api": api_world, "showcase": showcase_world,
    "journey": journey_world, "feeds": feeds_world, "export": export_world,
    "audit": audit_world, "review_journey": review_journey_world,
}


def world_for(request: pytest.FixtureRequest) -> Any:
    """The world the test's ``world`` mark names (the base world without one), built."""
    mark = request.node.get_closest_marker("world")
    if mark is None:
        return base_world(request)
    name, *rest = mark.args or ("base",)
    if rest:
        raise TypeError(f"pytest.mark.world takes one name, then keywords: {mark.args!r}")
    return WORLDS[name](request, **mark.kwargs)
