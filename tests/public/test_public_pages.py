"""The residents' read-only pages: home lists, platform directory and page, events, outcomes."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from consult_hub.core.db import utcnow
from consult_hub.extensions import db
from consult_hub.issues.operations import change_status
from consult_hub.models import (
    Area,
    AreaLevel,
    Category,
    EventFormat,
    EventPhoto,
    EventStatus,
    Issue,
    Member,
    Platform,
    PlatformKind,
    PlatformStatus,
)
from tests.support import factories
from tests.support.pages import assert_in_layout, assert_no_inline_code
from tests.support.querycount import count_queries


def outcome(app: Flask, platform_id: int, action: str = "resolve", *, title: str = "一个问题",
            category: Category = Category.SOCIETY, event_id: int | None = None,
            **values: object) -> Issue:
    """A problem at ``platform_id`` taken to an outcome: resolve, plan, constrain, reject
    (or receive)."""
    with app.app_context():
        issue = factories.issue(platform_id=platform_id, title=title, category=category,
                                event_id=event_id)
        if action in ("plan", "constrain"):
            change_status(issue, "assign", actor_id=None, department=factories.department(),
                          due_on=utcnow().date() + timedelta(days=10))
        if action == "plan":
            values.setdefault("planned_on", utcnow().date() + timedelta(days=30))
        elif action == "reject":
            values.setdefault("reason", "不属于受理范围")
        elif action in ("resolve", "constrain"):
            values.setdefault("resolution", "已经处理完毕。")
        if action != "receive":
            change_status(issue, action, actor_id=None, **values)
        db.session.commit()
        db.session.refresh(issue)
        db.session.expunge(issue)
        return issue


def platform_of_kind(app: Flask, kind: PlatformKind, **values: object) -> int:
    """A platform of ``kind`` (the ``make`` fixture takes ``kind`` for itself)."""
    with app.app_context():
        platform = factories.platform(kind=kind, **values)
        db.session.commit()
        return platform.id


def street_with_platform(app: Flask, district_id: int, street_name: str, **platform_values):
    """A street of ``district_id`` with one community and one platform in it."""
    with app.app_context():
        district = db.session.get(Area, district_id)
        street = Area(code=f"ST-{street_name}", name=street_name, level=AreaLevel.STREET,
                      parent=district)
        community = Area(code=f"CM-{street_name}", name=f"{street_name}社区",
                         level=AreaLevel.COMMUNITY, parent=street)
        db.session.add_all([street, community])
        db.session.flush()
        platform = factories.platform(district_id=district_id, area_id=community.id,
                                      **platform_values)
        db.session.commit()
        return street.id, platform.id


# -- home -------------------------------------------------------------------------------------


def test_home_lists_upcoming_events_and_latest_outcomes(app: Flask, client: FlaskClient,
                                                        make) -> None:
    district = make("district", name="江岸区")
    platform = make("platform", district_id=district.id, name="百步亭社区协商议事室")
    make("event", platform_id=platform.id, topic="加装电梯协商会", format=EventFormat.HYBRID)
    make("event", platform_id=platform.id, topic="已经取消的会", status=EventStatus.CANCELLED,
         cancel_reason="暴雨")
    past = utcnow() - timedelta(days=3)
    make("event", platform_id=platform.id, topic="上周的会", starts_at=past,
         ends_at=past + timedelta(hours=2), status=EventStatus.HELD)
    outcome(app, platform.id, title="路灯不亮", resolution="已更换路灯 12 盏。")
    outcome(app, platform.id, "plan", title="停车难")
    outcome(app, platform.id, "reject", title="不该出现的问题")
    outcome(app, platform.id, "receive", title="刚受理的问题")

    html = client.get("/").text
    upcoming = html[html.index('id="upcoming-title"'):html.index('id="outcomes-title"')]
    assert "加装电梯协商会" in upcoming and "线上线下结合" in upcoming
    assert "百步亭社区协商议事室" in upcoming and "江岸区" in upcoming
    assert "已经取消的会" not in upcoming and "上周的会" not in upcoming
    latest = html[html.index('id="outcomes-title"'):]
    assert "路灯不亮" in latest and "已更换路灯 12 盏。" in latest and "已解决或采纳" in latest
    assert "停车难" in latest and "列入计划正在解决" in latest
    assert "不该出现的问题" not in latest and "刚受理的问题" not in latest
    assert re.search(r'<span class="pub-reference">WH\d\d-\d{5}</span>', latest)
    assert_no_inline_code(html)


def test_home_without_records_says_so(client: FlaskClient) -> None:
    html = client.get("/").text
    assert "近期没有计划中的协商议事活动。" in html and "还没有公开的办理成果。" in html


# -- platform directory -----------------------------------------------------------------------


def test_directory_filters_by_district_street_kind_and_demonstration(
    app: Flask, client: FlaskClient, make
) -> None:
    district, other = make("district", name="江岸区"), make("district", name="武昌区")
    street_id, in_street = street_with_platform(app, district.id, "后湖街",
                                                name="后湖街幸福社区议事室")
    platform_of_kind(app, PlatformKind.LIAISON_POINT, district_id=district.id, name="一元街议事室",
                     is_demonstration=True, demonstration_year=2024)
    make("platform", district_id=other.id, name="武昌示范点", is_demonstration=True,
         demonstration_year=2023)

    def names(query: str) -> set[str]:
        html = client.get(f"/platforms?{query}").text
        return set(re.findall(r'<h2 class="pub-item-title">'
                              r'<a href="/platforms/\d+">([^<]+)</a>', html))

    assert names("") == {"后湖街幸福社区议事室", "一元街议事室", "武昌示范点"}
    assert names(f"district={district.id}") == {"后湖街幸福社区议事室", "一元街议事室"}
    assert names(f"district={district.id}&street={street_id}") == {"后湖街幸福社区议事室"}
    assert names(f"street={street_id}") == names("")  # a street counts only under its district
    assert names("kind=liaison_point") == {"一元街议事室"}
    assert names("demo=1") == {"一元街议事室", "武昌示范点"}
    assert names("kind=nonsense&district=999999") == names("")
    html = client.get(f"/platforms?district={district.id}").text
    assert f'<option value="{street_id}">后湖街</option>' in html
    assert f'<option value="{district.id}" selected>江岸区</option>' in html


def test_directory_search_ignores_the_case_of_latin_letters_only_where_they_have_one(
    client: FlaskClient, make
) -> None:
    make("platform", name="CBD商圈议事厅", address="江汉区 Xinhua Road 8 号", code="WH-CBD-01")
    make("platform", name="光谷议事厅", address="东湖高新区光谷大道", code="WH-OV-02")

    def found(q: str) -> list[str]:
        return re.findall(r'<a href="/platforms/\d+">([^<]+)</a>',
                          client.get("/platforms", query_string={"q": q}).text)

    assert found("cbd") == found("CBD") == found("Cbd商圈") == ["CBD商圈议事厅"]
    assert found("xinhua road") == ["CBD商圈议事厅"]  # address, any case
    assert found("wh-ov") == ["光谷议事厅"]  # code, any case
    assert found("光谷") == ["光谷议事厅"] and found("8 号") == ["CBD商圈议事厅"]


def test_directory_search_matches_chinese_substrings_of_name_or_address(
    client: FlaskClient, make
) -> None:
    make("platform", name="百步亭社区协商议事室", address="江岸区百步亭花园路 1 号")
    make("platform", name="一元街议事室", address="江岸区解放大道 100% 号")
    make("platform", name="汉阳议事室", address="汉阳区鹦鹉大道")

    def found(q: str) -> list[str]:
        return re.findall(r'<a href="/platforms/\d+">([^<]+)</a>',
                          client.get("/platforms", query_string={"q": q}).text)

    assert found("百步") == ["百步亭社区协商议事室"]
    # Another two characters: the statement's compiled form is reused, with its own pattern.
    assert found("汉阳") == ["汉阳议事室"]
    assert found("解放大道") == ["一元街议事室"]  # address
    assert sorted(found("议事室")) == sorted(["百步亭社区协商议事室", "一元街议事室", "汉阳议事室"])
    assert found("100%") == ["一元街议事室"]
    assert found("0%") == ["一元街议事室"]  # two characters (PostgreSQL: the doubled text)
    assert found("%") == ["一元街议事室"]  # a literal percent sign, not "anything"
    assert found("_") == []
    html = client.get("/platforms", query_string={"q": "没有这样的平台"}).text
    assert "没有符合条件的平台" in html and "共找到 0 个平台" in html


def test_directory_pages_through_platforms_and_shows_their_status(
    app: Flask, client: FlaskClient, make, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "PER_PAGE", 2)
    district = make("district")
    for n in range(3):
        make("platform", district_id=district.id, name=f"平台{n}")
    make("platform", district_id=district.id, name="暂停的平台", status=PlatformStatus.SUSPENDED)
    first, second = client.get("/platforms").text, client.get("/platforms?page=2").text
    assert "共 4 条，第 1 / 2 页" in first and 'href="/platforms?page=2" rel="next"' in first
    assert "暂停的平台" in second and '<span class="badge badge-warning">暂停</span>' in second
    assert "暂停的平台" not in first  # active platforms come first
    assert client.get("/platforms?page=9").status_code == 200


# -- platform page ----------------------------------------------------------------------------


def test_platform_page_shows_place_people_events_and_outcomes_but_no_staff(
    app: Flask, client: FlaskClient, make
) -> None:
    district = make("district", name="江岸区")
    make("member", name="董晨芳", sector="经济界")
    make("member", name="退休委员", is_active=False)
    platform_id = platform_of_kind(
        app, PlatformKind.CONSULT_HOME, district_id=district.id, name="幸福社区协商议事室",
        address="江岸区幸福路 8 号", convener="林建磊", is_demonstration=True,
        demonstration_year=2024)
    with app.app_context():
        stored = db.session.get(Platform, platform_id)
        stored.members = list(db.session.scalars(db.select(Member)))
        db.session.commit()
    make("user", role="coordinator", name="联络员赵小红", email="zhao@example.org",
         platform_ids=[platform_id])
    make("event", platform_id=platform_id, topic="下周的协商会")
    past = utcnow() - timedelta(days=10)
    make("event", platform_id=platform_id, topic="上个月的协商会", starts_at=past,
         ends_at=past + timedelta(hours=2), status=EventStatus.CONCLUDED)
    outcome(app, platform_id, title="楼道堆物", resolution="已清理。")
    outcome(app, platform_id, "receive", title="还在办的问题")

    page = client.get(f"/platforms/{platform_id}")
    assert page.status_code == 200
    html = page.text
    assert_in_layout(html)
    assert_no_inline_code(html)
    for text in ("幸福社区协商议事室", "江岸区幸福路 8 号", "协商议事之家", "2024年示范点",
                 "林建磊", "董晨芳", "经济界", "下周的协商会", "上个月的协商会", "楼道堆物",
                 "已清理。"):
        assert text in html, text
    assert "退休委员" not in html
    assert "还在办的问题" not in html  # outcomes only
    assert "联络员赵小红" not in html and "zhao@example.org" not in html
    assert f'href="/submit?platform={platform_id}"' in html
    assert client.get("/platforms/999999").status_code == 404


def test_platform_page_lists_the_next_and_the_latest_events_in_order_in_one_statement(
    app: Flask, client: FlaskClient, make
) -> None:
    platform = make("platform")
    now = utcnow()
    for days in (5, 1, 12, 3, 8, 2, 11, 4, 9, 6, 7, 10, -5, -1, -12, -3, -8, -2, -11, -4, -9,
                 -6, -7, -10):
        starts = now + timedelta(days=days)
        make("event", platform_id=platform.id, topic=f"第{days}天的协商会", starts_at=starts,
             ends_at=starts + timedelta(hours=2),
             status=EventStatus.PLANNED if days > 0 else EventStatus.HELD, minutes="纪要")
    cancelled = now + timedelta(hours=12)
    make("event", platform_id=platform.id, topic="取消的协商会", starts_at=cancelled,
         ends_at=cancelled + timedelta(hours=2), status=EventStatus.CANCELLED,
         cancel_reason="天气")
    with count_queries(app) as sql:
        html = client.get(f"/platforms/{platform.id}").text

    def topics(section: str) -> list[str]:
        part = re.search(rf'<section aria-labelledby="{section}-title">(.*?)</section>', html,
                         re.S).group(1)
        return re.findall(r"第(-?\d+)天的协商会", part)

    # The next ten planned, soonest first; the latest ten past ones, latest first.
    assert topics("upcoming") == [str(d) for d in range(1, 11)]
    assert topics("past") == [str(-d) for d in range(1, 11)]
    assert "取消的协商会" not in html.split('id="past-title"')[0]
    assert len([s for s in sql if re.search(r"\bFROM events\b", s)]) == 1, sql


@pytest.mark.parametrize(("status", "label", "notice"), [
    (PlatformStatus.SUSPENDED, "暂停", "该平台暂停活动"),
    (PlatformStatus.CLOSED, "已撤销", "该平台已撤销"),
])
def test_suspended_and_closed_platforms_show_their_status_and_take_no_problems(
    client: FlaskClient, make, status: PlatformStatus, label: str, notice: str
) -> None:
    platform = make("platform", status=status)
    html = client.get(f"/platforms/{platform.id}").text
    assert notice in html and f">{label}</span>" in html
    assert "/submit?platform=" not in html


# -- events -----------------------------------------------------------------------------------


def test_event_list_has_upcoming_and_past_with_a_district_filter(
    client: FlaskClient, make
) -> None:
    district, other = make("district", name="江岸区"), make("district", name="武昌区")
    here, there = make("platform", district_id=district.id), make("platform", district_id=other.id)
    make("event", platform_id=here.id, topic="江岸的下次会")
    make("event", platform_id=there.id, topic="武昌的下次会")
    past = utcnow() - timedelta(days=5)
    make("event", platform_id=here.id, topic="江岸开过的会", starts_at=past,
         ends_at=past + timedelta(hours=1), status=EventStatus.HELD)

    upcoming = client.get("/events").text
    assert "江岸的下次会" in upcoming and "武昌的下次会" in upcoming
    assert "江岸开过的会" not in upcoming
    assert "江岸的下次会" not in client.get(f"/events?district={other.id}").text
    past_page = client.get(f"/events?when=past&district={district.id}").text
    assert "江岸开过的会" in past_page and "江岸的下次会" not in past_page
    assert f'href="/events?when=past&amp;district={district.id}" aria-current="page"' in past_page
    only_here = client.get(f"/events?when=past&platform={here.id}").text
    assert "江岸开过的会" in only_here


def test_held_event_shows_minutes_opinions_outcome_and_its_problems(
    app: Flask, client: FlaskClient, make
) -> None:
    platform = make("platform", name="花桥社区联系点")
    past = utcnow() - timedelta(days=2)
    event = make("event", platform_id=platform.id, topic="垃圾分类议事会", starts_at=past,
                 ends_at=past + timedelta(hours=2), status=EventStatus.CONCLUDED,
                 location="社区活动室", format=EventFormat.ONLINE, resident_count=13,
                 minutes="会议形成**三点共识**。\n\n<script>alert(1)</script>",
                 opinions="投放点远离住户窗户。", outcome="完成 3 个投放点改造。")
    outcome(app, platform.id, title="垃圾桶不够用", event_id=event.id)
    page = client.get(f"/events/{event.id}")
    assert page.status_code == 200
    html = page.text
    for text in ("垃圾分类议事会", "社区活动室", "线上", "花桥社区联系点", "居民代表 13 人",
                 "<strong>三点共识</strong>", "投放点远离住户窗户。", "完成 3 个投放点改造。",
                 "垃圾桶不够用", "已解决或采纳"):
        assert text in html, text
    assert "<script>alert(1)</script>" not in html
    assert_no_inline_code(html)
    assert client.get("/events/999999").status_code == 404


def test_planned_event_has_no_minutes_section_and_cancelled_one_says_why(
    client: FlaskClient, make
) -> None:
    planned = make("event", topic="下周的会", agenda="一、通报情况")
    html = client.get(f"/events/{planned.id}").text
    assert "一、通报情况" in html and "活动纪要" not in html
    cancelled = make("event", topic="取消的会", status=EventStatus.CANCELLED,
                     cancel_reason="暴雨红色预警", cancelled_at=utcnow())
    html = client.get(f"/events/{cancelled.id}").text
    assert "本次活动已取消。" in html and "暴雨红色预警" in html and ">已取消</span>" in html


# -- outcomes ---------------------------------------------------------------------------------


def test_outcomes_list_filters_by_status_district_and_category(
    app: Flask, client: FlaskClient, make
) -> None:
    district, other = make("district"), make("district")
    here, there = make("platform", district_id=district.id), make("platform", district_id=other.id)
    outcome(app, here.id, title="解决了的", category=Category.ECOLOGY)
    outcome(app, here.id, "plan", title="列入计划的")
    outcome(app, there.id, "constrain", title="暂时难办的", resolution="资金不足，明年再议。")
    outcome(app, here.id, "reject", title="不予受理的")
    outcome(app, here.id, "receive", title="刚受理的")

    def titles(query: str = "") -> set[str]:
        html = client.get(f"/outcomes?{query}").text
        return set(re.findall(r'<a href="/issues/[^"]+">([^<]+)</a>', html))

    assert titles() == {"解决了的", "列入计划的", "暂时难办的"}
    assert titles("status=planned") == {"列入计划的"}
    assert titles("status=rejected") == titles()  # not an outcome: the filter is ignored
    assert titles(f"district={other.id}") == {"暂时难办的"}
    assert titles("category=ecology") == {"解决了的"}
    assert titles(f"platform={here.id}") == {"解决了的", "列入计划的"}
    assert "资金不足，明年再议。" in client.get("/outcomes").text


# -- one problem ------------------------------------------------------------------------------


def test_issue_page_shows_the_public_timeline_only(app: Flask, client: FlaskClient, make) -> None:
    platform = make("platform", name="民主路议事室")
    issue = make("issue", platform_id=platform.id, title="井盖松动")
    with app.app_context():
        stored = db.session.get(Issue, issue.id)
        change_status(stored, "note", actor_id=None, note="已电话联系，居民说晚上最危险",
                      is_public=True)
        change_status(stored, "note", actor_id=None, note="内部：该路段归属有争议", is_public=False)
        change_status(stored, "resolve", actor_id=None, resolution="已更换新井盖。")
        db.session.commit()
    page = client.get(f"/issues/{issue.reference}")
    assert page.status_code == 200
    html = page.text
    assert_in_layout(html)
    for text in ("井盖松动", "已解决或采纳", "已更换新井盖。", "已电话联系，居民说晚上最危险",
                 "民主路议事室", "办理过程"):
        assert text in html, text
    assert "内部：该路段归属有争议" not in html
    assert "居民评价" not in html  # not rated yet


def test_issue_page_for_unknown_or_loosely_typed_references(client: FlaskClient, make) -> None:
    issue = make("issue")
    assert client.get("/issues/WH99-99999").status_code == 404
    assert client.get("/issues/not-a-reference").status_code == 404
    loose = client.get(f"/issues/{issue.reference.lower()}")
    assert loose.status_code == 301 and loose.headers["Location"] == f"/issues/{issue.reference}"


def test_description_is_public_only_once_staff_have_taken_the_problem_up(
    app: Flask, client: FlaskClient, make
) -> None:
    fresh = make("issue", description="刚提交、尚未审核的描述")
    assert "刚提交、尚未审核的描述" not in client.get(f"/issues/{fresh.reference}").text
    done = outcome(app, make("platform").id, title="已办结")
    assert "晚上车位不足" in client.get(f"/issues/{done.reference}").text


def test_held_event_shows_its_photos_and_a_planned_one_does_not(
    app: Flask, client: FlaskClient, make
) -> None:
    past = utcnow() - timedelta(days=1)
    held = make("event", starts_at=past, ends_at=past + timedelta(hours=1), status=EventStatus.HELD)
    planned = make("event")
    with app.app_context():
        for n, event_id in enumerate((held.id, planned.id)):
            db.session.add(EventPhoto(event_id=event_id, stored_name=f"photo{n}.jpg",
                                      original_name="张三的手机照片.jpg", caption="居民代表发言",
                                      content_type="image/jpeg", size=10, width=800, height=600))
        db.session.commit()
        held_photo = db.session.scalar(
            sa.select(EventPhoto.id).where(EventPhoto.event_id == held.id))
    html = client.get(f"/events/{held.id}").text
    assert f'src="/manage/events/photos/{held_photo}"' in html and "居民代表发言" in html
    assert "张三的手机照片" not in html  # the uploader's file name is never shown
    assert "/manage/events/photos/" not in client.get(f"/events/{planned.id}").text


@pytest.mark.parametrize("path", ["/", "/platforms", "/events", "/events?when=past", "/outcomes",
                                  "platform", "event"])
def test_public_pages_take_the_same_number_of_queries_for_more_rows(
    app: Flask, client: FlaskClient, make, path: str
) -> None:
    def grow(count: int) -> tuple[int, int]:
        platform = make("platform")
        past = utcnow() - timedelta(days=2)
        event = make("event", platform_id=platform.id, starts_at=past,
                     ends_at=past + timedelta(hours=1), status=EventStatus.HELD)
        for _ in range(count):
            other = make("platform", district_id=platform.district_id)
            make("event", platform_id=platform.id)
            make("event", platform_id=other.id, starts_at=past, ends_at=past + timedelta(hours=1),
                 status=EventStatus.HELD)
            outcome(app, platform.id, event_id=event.id)
            outcome(app, other.id)
        return platform.id, event.id

    def queries_for(platform_id: int, event_id: int) -> int:
        target = {"platform": f"/platforms/{platform_id}",
                  "event": f"/events/{event_id}"}.get(path, path)
        statements: list[str] = []

        def count(*args: object) -> None:
            statements.append(str(args[2]))

        with app.app_context():
            sa.event.listen(db.engine, "before_cursor_execute", count)
            try:
                assert client.get(target).status_code == 200
            finally:
                sa.event.remove(db.engine, "before_cursor_execute", count)
        return len(statements)

    few = queries_for(*grow(1))
    many = queries_for(*grow(4))
    assert many == few, (few, many)


def test_long_lists_are_counted_and_browsed_only_so_far(
        app: Flask, client: FlaskClient, make, monkeypatch: pytest.MonkeyPatch) -> None:
    """A nation's directory is counted to 10,000 ("10,000+") and browsed that far; the
    filters reach the rest."""
    from consult_hub.core import pagination

    monkeypatch.setitem(app.config, "PER_PAGE", 2)
    monkeypatch.setattr(pagination, "BROWSE_LIMIT", 6)
    district = make("district")
    for n in range(9):
        make("platform", district_id=district.id, name=f"议事厅{n:02d}")
    first = client.get("/platforms").text
    assert "共找到 6+ 个平台" in first and 'rel="next"' in first
    assert "第 1 / 3 页" in first
    last = client.get("/platforms?page=3").text
    assert "议事厅04" in last and "议事厅05" in last and 'rel="next"' not in last
    beyond = client.get("/platforms?page=4").text
    assert "议事厅06" not in beyond and "列表只列出最新的 6 条" in beyond
    found = client.get("/platforms?q=议事厅08").text  # a filter reaches what paging does not
    assert "议事厅08" in found and "共找到 1 个平台" in found


def test_deep_pages_list_the_same_rows_in_the_same_order(
        app: Flask, client: FlaskClient, make, monkeypatch: pytest.MonkeyPatch) -> None:
    """Past the first pages rows are fetched by id: the page must not change for it."""
    from consult_hub.core import pagination

    monkeypatch.setitem(app.config, "PER_PAGE", 3)
    district = make("district")
    for n in range(10):
        make("platform", district_id=district.id, name=f"议事厅{n:02d}")
    names = re.compile(r"议事厅\d\d")
    shallow = [names.findall(client.get(f"/platforms?page={n}").text) for n in (1, 2, 3, 4)]
    monkeypatch.setattr(pagination, "DEFERRED_FROM", 0)
    app.extensions["page_cache"].clear()  # render them again, the other way
    deep = [names.findall(client.get(f"/platforms?page={n}").text) for n in (1, 2, 3, 4)]
    assert deep == shallow
    assert [name for page in deep for name in dict.fromkeys(page)] == [
        f"议事厅{n:02d}" for n in range(10)]
