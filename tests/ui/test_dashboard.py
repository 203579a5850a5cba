"""The signed-in dashboard: a coordinator's to-do lists, district and city staff's overview."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from consult_hub.core.db import utcnow
from consult_hub.core.timefmt import local_month_bounds, local_today
from consult_hub.extensions import db
from consult_hub.issues.operations import change_status
from consult_hub.main import queries
from consult_hub.models import EventStatus, Issue, PlatformStatus
from tests.support import factories
from tests.support.querycount import count_queries


def build(app: Flask, fn: Any) -> Any:
    """Run ``fn`` with the factories in one transaction; return what it returns (ids, not
    objects)."""
    with app.app_context():
        result = fn()
        db.session.commit()
        return result


def overdue_issue(platform_id: int, *, days: int, department: Any = None, title: str = "路灯不亮",
                  now: datetime | None = None) -> Issue:
    """A problem assigned long ago whose due date passed ``days`` days ago."""
    now = now or utcnow()
    issue = factories.issue(platform_id=platform_id, title=title, now=now - timedelta(days=60))
    change_status(issue, "assign", actor_id=None, now=now - timedelta(days=59),
                  department=department or factories.department(),
                  due_on=local_today(now) - timedelta(days=days))
    return issue


def today_in(app: Flask) -> date:
    with app.app_context():
        return local_today(utcnow())


def section(html: str, heading_id: str) -> str:
    """The HTML of the dashboard panel whose heading has ``heading_id``."""
    start = html.index(f'id="{heading_id}"')
    end = html.find("</section>", start)
    return html[start:end]


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


# --- a coordinator ----------------------------------------------------------------------------


def test_coordinator_sees_minutes_to_write_problems_to_chase_and_the_next_two_weeks(
    app: Flask, client: FlaskClient, auth: Any, make: Any
) -> None:
    def world() -> dict[str, int]:
        now = utcnow()
        mine, theirs = factories.platform(name="百步亭协商议事室"), factories.platform()
        hour = timedelta(hours=1)
        ids = {
            "platform": mine.id,
            "ended": factories.event(platform_id=mine.id, topic="加装电梯议事会",
                                     starts_at=now - 3 * hour, ends_at=now - hour).id,
            "soon": factories.event(platform_id=mine.id, topic="停车难协商",
                                    starts_at=now + timedelta(days=3),
                                    ends_at=now + timedelta(days=3) + hour).id,
            "later": factories.event(platform_id=mine.id, topic="下个月的议事会",
                                     starts_at=now + timedelta(days=20),
                                     ends_at=now + timedelta(days=20) + hour).id,
            "held": factories.event(platform_id=mine.id, topic="已经开过的会",
                                    status=EventStatus.HELD,
                                    starts_at=now - timedelta(days=2),
                                    ends_at=now - timedelta(days=2) + hour).id,
            "elsewhere": factories.event(platform_id=theirs.id, topic="别处的会",
                                         starts_at=now - 3 * hour, ends_at=now - hour).id,
            "overdue": overdue_issue(mine.id, days=5, title="楼道扶手缺失",
                                     department=factories.department(name="后湖街道办事处")).id,
            "open": factories.issue(platform_id=mine.id, title="小区停车难").id,
            "other_overdue": overdue_issue(theirs.id, days=5, title="别处的逾期问题").id,
        }
        return ids

    ids = build(app, world)
    coordinator = make("user", role="coordinator", platform_ids=[ids["platform"]])
    auth.login(coordinator.username)
    page = client.get("/dashboard")
    assert page.status_code == 200
    html = page.text

    minutes = section(html, "minutes-h")
    assert "加装电梯议事会" in minutes and f'href="/manage/events/{ids["ended"]}"' in minutes
    assert "已经开过的会" not in minutes and "别处的会" not in html
    assert '<span class="panel-count is-alert">1</span>' in minutes

    upcoming = section(html, "upcoming-h")
    assert "近 14 天的活动" in upcoming and "停车难协商" in upcoming
    assert "下个月的议事会" not in upcoming  # 20 days away

    overdue = text_of(section(html, "overdue-h"))
    due = (today_in(app) - timedelta(days=5)).isoformat()
    assert "楼道扶手缺失" in overdue and "后湖街道办事处" in overdue
    assert f"期限 {due} · 逾期 5 天" in overdue
    assert f'href="/manage/issues/{ids["overdue"]}"' in section(html, "overdue-h")
    assert "别处的逾期问题" not in html

    still_open = text_of(section(html, "open-h"))
    assert "小区停车难" in still_open and "未定期限" in still_open
    assert "楼道扶手缺失" not in still_open  # listed once, under overdue


def test_long_lists_show_the_first_ten_and_say_how_many_there_are(
    app: Flask, client: FlaskClient, auth: Any, make: Any
) -> None:
    def world() -> int:
        platform = factories.platform()
        for n in range(12):
            factories.issue(platform_id=platform.id, title=f"问题{n}")
        return platform.id

    platform_id = build(app, world)
    auth.login(make("user", role="coordinator", platform_ids=[platform_id]).username)
    still_open = section(client.get("/dashboard").text, "open-h")
    assert still_open.count("<li>") == 10
    assert "共 12 个，这里显示前 10 个。" in still_open
    assert '<span class="panel-count">12</span>' in still_open


# --- district and city staff ------------------------------------------------------------------


def test_district_staff_see_overdue_problems_by_department_idle_platforms_and_the_month(
    app: Flask, client: FlaskClient, auth: Any, make: Any
) -> None:
    def world() -> dict[str, Any]:
        now = utcnow()
        here, there = factories.district(name="江岸区"), factories.district(name="江汉区")
        busy = factories.platform(district_id=here.id, name="忙碌的议事室",
                                  established_on=date(2020, 1, 1))
        idle = factories.platform(district_id=here.id, name="安静的联系点",
                                  established_on=date(2020, 1, 1))
        factories.platform(district_id=here.id, name="从没开过会的议事室",
                           established_on=date(2020, 1, 1))
        factories.platform(district_id=here.id, name="刚成立的议事室",
                           established_on=local_today(now))
        factories.platform(district_id=here.id, name="暂停的议事室",
                           established_on=date(2020, 1, 1), status=PlatformStatus.SUSPENDED)
        factories.event(platform_id=busy.id, status=EventStatus.HELD,
                        starts_at=now - timedelta(minutes=2), ends_at=now - timedelta(minutes=1))
        long_ago = now - timedelta(days=400)  # INACTIVE_DAYS is a year by default
        factories.event(platform_id=idle.id, status=EventStatus.HELD,
                        starts_at=long_ago, ends_at=long_ago + timedelta(hours=2))
        roads = factories.department(district_id=here.id, name="江岸区交通运输局")
        overdue_issue(busy.id, days=3, department=roads)
        overdue_issue(idle.id, days=9, department=roads)
        overdue_issue(busy.id, days=1, department=factories.department(name="后湖街道办事处"))
        elsewhere = factories.platform(district_id=there.id, established_on=date(2020, 1, 1))
        overdue_issue(elsewhere.id, days=4, department=factories.department(name="江汉区民政局"))
        return {"here": here.id, "idle_last": long_ago, "roads": roads.id}

    ids = build(app, world)
    staff = make("user", role="district_admin", district_id=ids["here"])
    auth.login(staff.username)
    html = client.get("/dashboard").text
    today = today_in(app)

    overdue = section(html, "overdue-h")
    rows = re.findall(r"<tr>\s*<th scope=\"row\">(.*?)</th>\s*<td[^>]*>(\d+)</td>"
                      r"\s*<td[^>]*>(.*?)</td>",
                      overdue, re.S)
    assert [(text_of(name).strip(), count, due) for name, count, due in rows] == [
        # most first, oldest date
        ("江岸区交通运输局", "2", (today - timedelta(days=9)).isoformat()),
        ("后湖街道办事处", "1", (today - timedelta(days=1)).isoformat()),
    ]
    assert "江汉区民政局" not in html
    assert f'href="/manage/issues/?overdue=y&amp;department={ids["roads"]}&amp;sort=due"' in overdue
    assert '<span class="panel-count is-alert">3</span>' in overdue

    idle = text_of(section(html, "inactive-h"))
    assert "365 天内没有举行活动" in idle
    assert "从没开过会的议事室 从未举行活动" in idle
    last = ids["idle_last"].astimezone(UTC)
    assert f"安静的联系点 最近一次活动 {(last + timedelta(hours=8)).date().isoformat()}" in idle
    for quiet_enough in ("忙碌的议事室", "刚成立的议事室", "暂停的议事室"):
        assert quiet_enough not in idle
    assert idle.index("从没开过会的议事室") < idle.index("安静的联系点")  # idle longest first

    month = text_of(section(html, "month-h"))
    assert f"{today.year}年{today.month}月" in month
    assert "举行活动 1" in month  # the busy platform's, a moment ago
    assert "新增平台 1" in month  # the one set up today

    summary = section(html, "summary-h")
    assert "本区概况" in summary and '<td class="num" data-label="不活跃平台">2</td>' in summary


def test_inactive_days_come_from_the_configuration(
    app: Flask, client: FlaskClient, auth: Any, make: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def world() -> int:
        district = factories.district()
        platform = factories.platform(district_id=district.id, name="一个月没开会的议事室",
                                      established_on=date(2020, 1, 1))
        held = utcnow() - timedelta(days=40)
        factories.event(platform_id=platform.id, status=EventStatus.HELD, starts_at=held,
                        ends_at=held + timedelta(hours=2))
        return district.id

    district_id = build(app, world)
    auth.login(make("user", role="district_admin", district_id=district_id).username)
    assert "一个月没开会的议事室" not in section(client.get("/dashboard").text, "inactive-h")
    monkeypatch.setitem(app.config, "INACTIVE_DAYS", 30)
    idle = section(client.get("/dashboard").text, "inactive-h")
    assert "一个月没开会的议事室" in idle and "30 天内没有举行活动" in idle


def test_city_staff_compare_districts_side_by_side(
    app: Flask, client: FlaskClient, auth: Any, make: Any
) -> None:
    def world() -> None:
        now = utcnow()
        for name, events in (("江岸区", 2), ("江汉区", 1)):
            district = factories.district(name=name)
            platform = factories.platform(district_id=district.id)
            for n in range(events):
                start = now - timedelta(minutes=30 + n)
                factories.event(platform_id=platform.id, status=EventStatus.HELD, starts_at=start,
                                ends_at=start + timedelta(minutes=20))
            overdue_issue(platform.id, days=2, department=factories.department(
                district_id=district.id, name=f"{name}民政局"))
        overdue_issue(platform.id, days=6, department=factories.department(name="市水务局"))

    build(app, world)
    auth.login(make("user", role="admin").username)
    html = client.get("/dashboard").text

    month = section(html, "month-h")
    cells = lambda name: re.search(  # noqa: E731
        rf"<th scope=\"row\">{name}</th>(.*?)</tr>", month, re.S).group(1)
    assert re.findall(r">(\d+)</td>", cells("江岸区"))[0] == "2"  # events held this month
    assert re.findall(r">(\d+)</td>", cells("江汉区"))[0] == "1"
    assert re.findall(r">(\d+)</td>", cells("全市"))[0] == "3"

    overdue = text_of(section(html, "overdue-h"))
    assert "市水务局 市级 1" in overdue  # a city department, first: its date is the oldest
    assert "江岸区民政局 江岸区 1" in overdue and "江汉区民政局 江汉区 1" in overdue
    assert "各区概况" in html and "不活跃平台" in section(html, "summary-h")


def test_month_figures_follow_the_local_calendar_and_the_monthly_tallies(app: Flask,
                                                                         ctx: None) -> None:
    # 2026-03-01 00:30 in Shanghai is still February in UTC.
    now = datetime(2026, 3, 20, 4, 0, tzinfo=UTC)
    start, _end = local_month_bounds(2026, 3)
    assert start == datetime(2026, 2, 28, 16, 0, tzinfo=UTC)
    district = factories.district()
    platform = factories.platform(district_id=district.id, established_on=date(2026, 3, 1))
    early = start + timedelta(minutes=30)
    factories.event(platform_id=platform.id, status=EventStatus.HELD, starts_at=early,
                    ends_at=early + timedelta(hours=1))
    late_feb = start - timedelta(minutes=30)
    factories.event(platform_id=platform.id, status=EventStatus.HELD, starts_at=late_feb,
                    ends_at=late_feb + timedelta(minutes=20))
    dept = factories.department()
    in_march = start + timedelta(days=2)

    def raised(title: str, when: datetime = in_march) -> Issue:
        return factories.issue(platform_id=platform.id, title=title, now=when)

    resolved = raised("已解决的")
    change_status(resolved, "resolve", actor_id=None, now=in_march + timedelta(days=1),
                  resolution="修好了")
    planned = raised("列入计划的")
    change_status(planned, "assign", actor_id=None, now=in_march, department=dept,
                  due_on=date(2026, 4, 1))
    change_status(planned, "plan", actor_id=None, now=in_march + timedelta(days=2),
                  planned_on=date(2026, 9, 1))
    constrained = raised("条件所限的", when=start - timedelta(days=20))  # raised in February
    change_status(constrained, "assign", actor_id=None, now=start - timedelta(days=19),
                  department=dept, due_on=date(2026, 3, 30))
    change_status(constrained, "constrain", actor_id=None, now=in_march, resolution="资金不足")
    rejected = raised("不予受理的")
    change_status(rejected, "reject", actor_id=None, now=in_march, reason="不属于受理范围")
    reopened = raised("办结后又重新办理的")
    change_status(reopened, "resolve", actor_id=None, now=in_march, resolution="已处理")
    change_status(reopened, "reopen", actor_id=None, now=in_march + timedelta(days=1),
                  reason="居民不满意")
    db.session.commit()

    admin = factories.user("admin")
    summary = queries.landing_summary(admin, now)
    board = queries.staff_board(admin, summary, now)
    figures = board.month_totals
    assert board.month == date(2026, 3, 1)
    assert (figures.events_held, figures.new_platforms) == (1, 1)
    assert (figures.issues_raised, figures.resolved, figures.planned, figures.constrained,
            figures.rejected) == (4, 1, 1, 1, 1)

    from consult_hub.tallies.compute import compute_month

    city = compute_month(date(2026, 3, 1))["city"][1]
    assert (city["events_held"], city["platforms_new"], city["issues_raised"],
            city["issues_resolved"], city["issues_planned"], city["issues_constrained"],
            city["issues_rejected"]) == (
        figures.events_held, figures.new_platforms, figures.issues_raised, figures.resolved,
        figures.planned, figures.constrained, figures.rejected)


# --- a fixed number of queries ----------------------------------------------------------------


def _grow(platforms: int) -> dict[str, Any]:
    """A district with ``platforms`` busy platforms and a coordinator of all of them."""
    now = utcnow()
    district = factories.district()
    ids = []
    for n in range(platforms):
        platform = factories.platform(district_id=district.id, established_on=date(2020, 1, 1))
        ids.append(platform.id)
        hour = timedelta(hours=1)
        factories.event(platform_id=platform.id, starts_at=now + timedelta(days=2),
                        ends_at=now + timedelta(days=2) + hour)
        factories.event(platform_id=platform.id, starts_at=now - 3 * hour, ends_at=now - 2 * hour)
        factories.event(platform_id=platform.id, status=EventStatus.HELD,
                        starts_at=now - timedelta(days=1), ends_at=now - timedelta(days=1) + hour)
        overdue_issue(platform.id, days=n % 5 + 1,
                      department=factories.department(district_id=district.id))
        factories.issue(platform_id=platform.id)
        factories.platform(district_id=district.id, established_on=date(2020, 1, 1))  # idle
    coordinator = factories.user("coordinator", platform_ids=ids)
    return {"district": district.id, "coordinator": coordinator.username}


def test_dashboards_send_the_same_number_of_queries_whatever_the_data(
    app: Flask, client: FlaskClient, auth: Any, make: Any
) -> None:
    admin = make("user", role="admin")

    def count(username: str) -> int:
        auth.login(username)
        with count_queries(app) as statements:
            page = client.get("/dashboard")
        assert page.status_code == 200
        auth.logout()
        return len(statements)

    small = build(app, lambda: _grow(2))
    small_counts = (count(small["coordinator"]), count(admin.username))
    large = build(app, lambda: _grow(20))
    large_counts = (count(large["coordinator"]), count(admin.username))
    assert large_counts == small_counts
    assert max(small_counts) <= 20
