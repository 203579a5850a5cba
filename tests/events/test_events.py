"""Staff event pages: the list, planning, the detail page and editing (with edit conflicts)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from consult_hub.core.db import utcnow
from consult_hub.extensions import db
from consult_hub.models import Event, EventStatus, Platform, PlatformStatus
from tests.support import factories
from tests.support.access_events import local_input
from tests.support.auth import signed_in
from tests.support.events import coordinator_of, plan_data
from tests.support.pages import field_errors, input_value, post
from tests.support.querycount import count_queries
from tests.support.records import audit_rows, count, load

# --- helpers shared by the event test modules -------------------------------------------------




# --- list -------------------------------------------------------------------------------------

def test_list_shows_only_the_coordinators_platforms_upcoming_first(app, make):
    mine, theirs = make("platform"), make("platform")
    now = utcnow()
    make("event", platform_id=mine.id, topic="明天的活动", starts_at=now + timedelta(days=1),
         ends_at=now + timedelta(days=1, hours=2))
    make("event", platform_id=mine.id, topic="下周的活动", starts_at=now + timedelta(days=7),
         ends_at=now + timedelta(days=7, hours=2))
    make("event", platform_id=mine.id, topic="上周的活动", status=EventStatus.HELD,
         starts_at=now - timedelta(days=7), ends_at=now - timedelta(days=7) + timedelta(hours=2))
    make("event", platform_id=mine.id, topic="上个月的活动", status=EventStatus.HELD,
         starts_at=now - timedelta(days=30), ends_at=now - timedelta(days=30) + timedelta(hours=2))
    make("event", platform_id=theirs.id, topic="别的平台的活动")
    user = coordinator_of(make, mine.id)
    page = signed_in(app, user.username).get("/manage/events/").text
    assert "别的平台的活动" not in page
    order = [page.index(topic)
             for topic in ("明天的活动", "下周的活动", "上周的活动", "上个月的活动")]
    assert order == sorted(order)


def test_list_filters_by_status_category_and_local_dates(app, make):
    platform = make("platform")
    # 00:30 on 1 Jan 2030 in Shanghai is still 31 Dec 2029 in UTC.
    new_year = datetime(2029, 12, 31, 16, 30, tzinfo=UTC)
    make("event", platform_id=platform.id, topic="新年第一场", category="culture",
         starts_at=new_year, ends_at=new_year + timedelta(hours=1))
    make("event", platform_id=platform.id, topic="年底的一场", category="society",
         starts_at=new_year - timedelta(hours=2), ends_at=new_year - timedelta(hours=1))
    make("event", platform_id=platform.id, topic="取消的一场", status=EventStatus.CANCELLED,
         cancel_reason="下雨")
    client = signed_in(app, make("user", role="admin").username)

    page = client.get("/manage/events/?date_from=2030-01-01&date_to=2030-01-01").text
    assert "新年第一场" in page and "年底的一场" not in page
    page = client.get("/manage/events/?date_to=2029-12-31").text
    assert "年底的一场" in page and "新年第一场" not in page
    page = client.get("/manage/events/?category=culture").text
    assert "新年第一场" in page and "年底的一场" not in page
    page = client.get("/manage/events/?status=cancelled").text
    assert "取消的一场" in page and "新年第一场" not in page
    page = client.get("/manage/events/?date_from=not-a-date").text  # ignored, not a crash
    assert "新年第一场" in page


def test_missing_minutes_filter_lists_planned_events_that_have_ended(app, make):
    platform = make("platform")
    past = utcnow() - timedelta(days=3)
    make("event", platform_id=platform.id, topic="忘了记录的活动", starts_at=past,
         ends_at=past + timedelta(hours=2))
    make("event", platform_id=platform.id, topic="已经记录的活动", starts_at=past,
         ends_at=past + timedelta(hours=2), status=EventStatus.HELD)
    make("event", platform_id=platform.id, topic="还没开始的活动")
    client = signed_in(app, coordinator_of(make, platform.id).username)
    page = client.get("/manage/events/?missing=y").text
    assert "忘了记录的活动" in page
    assert "已经记录的活动" not in page and "还没开始的活动" not in page
    assert "待补纪要" in page


def test_list_is_paginated_and_keeps_its_filters(app, make):
    platform = make("platform")
    with app.app_context():
        start = utcnow() + timedelta(days=1)
        for n in range(app.config["PER_PAGE"] + 2):
            db.session.add(Event(platform_id=platform.id, topic=f"第{n:02d}场", category="society",
                                 starts_at=start + timedelta(hours=n),
                                 ends_at=start + timedelta(hours=n, minutes=30), location="会议室"))
        db.session.commit()
    client = signed_in(app, make("user", role="admin").username)
    first = client.get("/manage/events/?category=society").text
    assert "第00场" in first and "第31场" not in first
    assert "category=society" in first and "page=2" in first
    second = client.get("/manage/events/?category=society&page=2").text
    assert "第31场" in second and "第00场" not in second


def test_list_search_finds_topics_and_platform_names_in_list_order(app, make):
    """The page's ids are sorted apart from its rows: the order and the search still hold."""
    near, far = make("platform", name="花桥社区议事厅"), make("platform", name="百步亭议事室")
    now = utcnow()
    for platform, topic, days in ((near, "加装电梯协商", 3), (far, "花桥停车协商", -2),
                                  (far, "垃圾分类协商", -9), (far, "花桥路灯协商", 1)):
        make("event", platform_id=platform.id, topic=topic,
             status=EventStatus.PLANNED if days > 0 else EventStatus.HELD,
             starts_at=now + timedelta(days=days), ends_at=now + timedelta(days=days, hours=2))
    client = signed_in(app, make("user", role="admin").username)
    page = client.get("/manage/events/?q=花桥").text
    assert "垃圾分类协商" not in page
    # Upcoming soonest first (by its topic, by its platform's name), then the past.
    order = [page.index(topic) for topic in ("花桥路灯协商", "加装电梯协商", "花桥停车协商")]
    assert order == sorted(order)
    assert "百步亭议事室" in page and "花桥社区议事厅" in page


# --- plan -------------------------------------------------------------------------------------

def test_plan_stores_the_event_with_the_platform_address_and_audits_it(app, make):
    platform = make("platform", address="江岸区胜利街 1 号")
    user = coordinator_of(make, platform.id)
    client = signed_in(app, user.username)
    path = f"/manage/events/new?platform={platform.id}"
    form = client.get(path).text
    assert input_value(form, "location") == "江岸区胜利街 1 号"
    answer = post(client, path, plan_data(utcnow() + timedelta(days=2)))
    assert answer.status_code == 303
    with app.app_context():
        event = db.session.scalars(sa.select(Event)).one()
        assert answer.headers["Location"] == f"/manage/events/{event.id}"
        assert (event.location, event.status, event.format.value) == (
            "江岸区胜利街 1 号", EventStatus.PLANNED, "hybrid")
        assert event.created_by_id == user.id and event.sequence == 0
    [row] = audit_rows(app, "event_create")
    assert row.actor_id == user.id and row.changes["topic"] == [None, "社区停车位规划"]


def test_platform_chooser_lists_only_the_users_active_platforms(app, make):
    first, second = make("platform", name="甲协商议事室"), make("platform", name="乙协商议事室")
    paused = make("platform", name="丙协商议事室", status=PlatformStatus.SUSPENDED)
    make("platform", name="别人的协商议事室")
    user = make("user", role="coordinator", platform_ids=[first.id, second.id, paused.id])
    page = signed_in(app, user.username).get("/manage/events/new").text
    assert f"/manage/events/new?platform={first.id}" in page
    assert f"/manage/events/new?platform={second.id}" in page
    assert "丙协商议事室" not in page and "别人的协商议事室" not in page


def test_a_coordinator_of_one_platform_goes_straight_to_the_form(app, make):
    platform = make("platform")
    client = signed_in(app, coordinator_of(make, platform.id).username)
    answer = client.get("/manage/events/new")
    assert answer.status_code == 302
    assert answer.headers["Location"] == f"/manage/events/new?platform={platform.id}"


def test_plan_refuses_an_end_before_the_start(app, make):
    platform = make("platform")
    client = signed_in(app, coordinator_of(make, platform.id).username)
    start = utcnow() + timedelta(days=2)
    answer = post(client, f"/manage/events/new?platform={platform.id}",
                  plan_data(start, ends_at=local_input(start - timedelta(hours=1))))
    assert answer.status_code == 422
    assert "结束时间应晚于开始时间" in field_errors(answer.text, "ends_at")
    assert input_value(answer.text, "topic") == "社区停车位规划"  # the input is kept
    assert count(app, Event) == 0


def test_plan_refuses_a_start_in_the_past_and_says_how_to_log_a_past_event(app, make):
    platform = make("platform")
    client = signed_in(app, coordinator_of(make, platform.id).username)
    answer = post(client, f"/manage/events/new?platform={platform.id}",
                  plan_data(utcnow() - timedelta(days=1)))
    assert answer.status_code == 422
    assert "开始时间已经过去" in field_errors(answer.text, "starts_at")
    assert "补录已经举行的活动" in field_errors(answer.text, "starts_at")
    assert count(app, Event) == 0


def test_a_past_event_can_be_logged_and_goes_on_to_its_minutes(app, make):
    platform = make("platform")
    client = signed_in(app, coordinator_of(make, platform.id).username)
    answer = post(client, f"/manage/events/new?platform={platform.id}",
                  {**plan_data(utcnow() - timedelta(hours=3)), "is_past": "y"})
    assert answer.status_code == 303
    with app.app_context():
        event = db.session.scalars(sa.select(Event)).one()
    assert answer.headers["Location"] == f"/manage/events/{event.id}/record"


def test_plan_refuses_a_suspended_platform(app, make):
    platform = make("platform", status=PlatformStatus.SUSPENDED)
    client = signed_in(app, make("user", role="admin").username)
    path = f"/manage/events/new?platform={platform.id}"
    assert "不能安排新活动" in client.get(path).text
    answer = post(client, path, plan_data(utcnow() + timedelta(days=2)))
    assert answer.status_code == 422 and "不能安排新活动" in answer.text
    assert count(app, Event) == 0


def test_plan_on_someone_elses_platform_is_forbidden(app, make):
    mine, theirs = make("platform"), make("platform")
    client = signed_in(app, coordinator_of(make, mine.id).username)
    assert client.get(f"/manage/events/new?platform={theirs.id}").status_code == 403


# --- detail -----------------------------------------------------------------------------------

def test_detail_renders_markdown_safely_and_offers_the_allowed_actions(app, make):
    platform = make("platform")
    event = make("event", platform_id=platform.id,
                 agenda="**停车**问题\n\n<script>alert(1)</script>")
    client = signed_in(app, coordinator_of(make, platform.id).username)
    page = client.get(f"/manage/events/{event.id}").text
    assert "<strong>停车</strong>" in page and "<script>alert" not in page
    assert f"/manage/events/{event.id}/edit" in page and f"/manage/events/{event.id}/cancel" in page
    assert f"/manage/events/{event.id}/record" not in page  # it has not started yet
    assert f"/manage/events/{event.id}/conclude" not in page


def test_detail_of_another_platforms_event_is_forbidden(app, make):
    mine, theirs = make("platform"), make("platform")
    event = make("event", platform_id=theirs.id)
    client = signed_in(app, coordinator_of(make, mine.id).username)
    assert client.get(f"/manage/events/{event.id}").status_code == 403
    assert client.get("/manage/events/999999").status_code == 404


def test_district_staff_see_their_district_only(app, make):
    district, other = make("district"), make("district")
    here, there = make("platform", district_id=district.id), make("platform", district_id=other.id)
    event_here = make("event", platform_id=here.id, topic="本区活动")
    event_there = make("event", platform_id=there.id, topic="外区活动")
    client = signed_in(app, make("user", role="district_admin", district_id=district.id).username)
    page = client.get("/manage/events/").text
    assert "本区活动" in page and "外区活动" not in page
    assert client.get(f"/manage/events/{event_here.id}").status_code == 200
    assert client.get(f"/manage/events/{event_there.id}").status_code == 403


# --- edit -------------------------------------------------------------------------------------

def edit_data(page: str, **changes: Any) -> dict[str, Any]:
    """The edit form as the page filled it in, with ``changes`` typed over it."""
    names = ("topic", "starts_at", "ends_at", "location", "version", "original")
    values: dict[str, Any] = {name: input_value(page, name) for name in names}
    values["category"] = re.search(r'<select[^>]*name="category"'
                                   r'.*?<option selected value="([^"]*)"',
                                   page, re.S).group(1)
    values["format"] = re.search(r'<select[^>]*name="format".*?<option selected value="([^"]*)"',
                                 page, re.S).group(1)
    values["agenda"] = ""
    values.update(changes)
    return values


def test_rescheduling_bumps_the_sequence_but_a_new_topic_does_not(app, make):
    platform = make("platform")
    event = make("event", platform_id=platform.id)
    client = signed_in(app, coordinator_of(make, platform.id).username)
    path = f"/manage/events/{event.id}/edit"
    answer = post(client, path, edit_data(client.get(path).text, topic="新的议题"))
    assert answer.status_code == 303
    assert load(app, Event, event.id).sequence == 0
    later = event.starts_at + timedelta(days=1)
    answer = post(client, path, edit_data(client.get(path).text, starts_at=local_input(later),
                                          ends_at=local_input(later + timedelta(hours=2))))
    assert answer.status_code == 303
    stored = load(app, Event, event.id)
    assert (stored.topic, stored.sequence, stored.starts_at) == (
        "新的议题", 1, later.replace(second=0, microsecond=0))
    answer = post(client, path, edit_data(client.get(path).text, location="另一个会议室"))
    assert load(app, Event, event.id).sequence == 2
    update = audit_rows(app, "event_update")[-1]
    assert update.changes["location"] == ["社区党群服务中心", "另一个会议室"]
    assert update.changes["sequence"] == [1, 2]


def test_edit_refuses_bad_input_and_keeps_what_was_typed(app, make):
    platform = make("platform")
    event = make("event", platform_id=platform.id)
    client = signed_in(app, coordinator_of(make, platform.id).username)
    path = f"/manage/events/{event.id}/edit"
    answer = post(client, path, edit_data(client.get(path).text, topic="改了但没保存",
                                          starts_at=local_input(utcnow() - timedelta(days=1))))
    assert answer.status_code == 422
    assert "新的开始时间已经过去" in field_errors(answer.text, "starts_at")
    assert input_value(answer.text, "topic") == "改了但没保存"
    assert load(app, Event, event.id).topic == event.topic


def test_a_held_event_cannot_be_edited(app, make):
    platform = make("platform")
    event = make("event", platform_id=platform.id, status=EventStatus.HELD,
                 starts_at=utcnow() - timedelta(days=1), ends_at=utcnow() - timedelta(hours=20))
    client = signed_in(app, coordinator_of(make, platform.id).username)
    answer = client.get(f"/manage/events/{event.id}/edit")
    assert answer.status_code == 302 and answer.headers["Location"] == f"/manage/events/{event.id}"


def test_two_people_editing_at_once_get_a_conflict_not_a_lost_update(app, make):
    platform = make("platform")
    event = make("event", platform_id=platform.id, topic="原来的议题")
    coordinator = coordinator_of(make, platform.id, name="李联络员")
    staff = make("user", role="district_admin", district_id=platform.district_id, name="王科长")
    path = f"/manage/events/{event.id}/edit"
    first, second = signed_in(app, coordinator.username), signed_in(app, staff.username)
    first_page, second_page = first.get(path).text, second.get(path).text

    later = event.starts_at + timedelta(days=2)
    saved = post(second, path, edit_data(second_page, topic="王科长改的议题",
                                          starts_at=local_input(later),
                                          ends_at=local_input(later + timedelta(hours=2))))
    assert saved.status_code == 303

    clash = post(first, path, edit_data(first_page, topic="李联络员改的议题"))
    assert clash.status_code == 409
    assert "保存失败：这条记录已被他人修改" in clash.text and "王科长" in clash.text
    assert "王科长改的议题" in clash.text  # what the other person changed
    assert input_value(clash.text, "topic") == "李联络员改的议题"  # what this person typed
    stored = load(app, Event, event.id)
    assert stored.topic == "王科长改的议题" and stored.sequence == 1

    # Having seen the other change, saving again is deliberate and wins.
    resaved = post(first, path, edit_data(clash.text))
    assert resaved.status_code == 303
    stored = load(app, Event, event.id)
    assert stored.topic == "李联络员改的议题"
    assert stored.starts_at == event.starts_at.replace(second=0, microsecond=0)
    assert stored.sequence == 2  # moved back: calendars must hear about it again


# --- queries ----------------------------------------------------------------------------------

def test_list_and_detail_send_as_many_statements_for_many_events_as_for_few(app, make):
    def add(platform_id: int, n: int) -> int:
        with app.app_context():
            start = utcnow() - timedelta(days=1)
            platform = db.session.get(Platform, platform_id)
            members = [factories.member() for _ in range(n)]
            platform.members.extend(members)
            last = None
            for i in range(n):
                last = factories.event(platform_id=platform_id, status=EventStatus.HELD,
                                       starts_at=start - timedelta(days=i),
                                       ends_at=start - timedelta(days=i) + timedelta(hours=1),
                                       minutes="纪要")
                last.attendees = members
                factories.issue(platform_id=platform_id, event_id=last.id)
            db.session.commit()
            return last.id

    admin = make("user", role="admin")
    client = signed_in(app, admin.username)
    seen = []
    for n in (2, 6):
        platform = make("platform")
        event_id = add(platform.id, n)
        with count_queries(app) as listing:
            assert client.get("/manage/events/").status_code == 200
        with count_queries(app) as detail:
            assert client.get(f"/manage/events/{event_id}").status_code == 200
        seen.append((len(listing), len(detail)))
    assert seen[0] == seen[1], seen


def test_editing_the_agenda_renders_it_again_and_emptying_it_clears_it(app, make):
    platform = make("platform")
    event = make("event", platform_id=platform.id, agenda="一、**通报**情况")
    assert load(app, Event, event.id).agenda_html == "<p>一、<strong>通报</strong>情况</p>"
    staff = signed_in(app, coordinator_of(make, platform.id).username)
    path = f"/manage/events/{event.id}/edit"
    answer = post(staff, path, edit_data(staff.get(path).text, agenda="二、居民*发言*"))
    assert answer.status_code == 303
    assert load(app, Event, event.id).agenda_html == "<p>二、居民<em>发言</em></p>"
    answer = post(staff, path, edit_data(staff.get(path).text, agenda=""))
    assert answer.status_code == 303
    stored = load(app, Event, event.id)
    assert not stored.agenda and stored.agenda_html is None
