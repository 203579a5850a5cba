"""After the event: record it as held (minutes, attendance, problems raised), conclude, cancel."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from consult_hub.core.db import utcnow
from consult_hub.core.markdown import render_markdown
from consult_hub.extensions import db
from consult_hub.models import Event, EventStatus, Issue, IssueSource, Member, Platform
from tests.support.access_events import local_input
from tests.support.auth import csrf_token, signed_in
from tests.support.events import coordinator_of
from tests.support.pages import field_errors, input_value, post
from tests.support.records import audit_rows, count, load


@pytest.fixture()
def started(app, make):
    """A planned event that began three hours ago, two members linked to its platform."""
    platform = make("platform")
    start = utcnow() - timedelta(hours=3)
    event = make("event", platform_id=platform.id, starts_at=start,
                 ends_at=start + timedelta(hours=2), category="ecology")
    with app.app_context():
        linked = [Member(name=name, sector="经济界", level="district")
                  for name in ("张委员", "赵委员")]
        target = db.session.get(Platform, platform.id)
        target.members.extend(linked)
        db.session.commit()
        member_ids = [m.id for m in linked]
    return {"platform": platform, "event": event, "members": member_ids,
            "user": coordinator_of(make, platform.id)}


def record_data(event: Any, **changes: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "starts_at": local_input(event.starts_at), "ends_at": local_input(event.ends_at),
        "minutes": "## 议定事项\n\n- 增设非机动车棚", "resident_count": "15",
        "department_count": "2", "expert_count": "1", "opinions": "建议街道牵头协调。",
    }
    for n in range(3):
        values.update({f"problems-{n}-title": "", f"problems-{n}-description": "",
                       f"problems-{n}-kind": "", f"problems-{n}-category": ""})
    values.update(changes)
    return values


def problem(n: int, **values: str) -> dict[str, str]:
    row = {"title": "楼道堆物", "description": "三单元楼道堆放杂物，影响消防通道。",
           "kind": "doorstep", "category": "society"}
    row.update(values)
    return {f"problems-{n}-{name}": value for name, value in row.items()}


def test_record_page_lists_the_platforms_members_as_check_boxes(app, started):
    client = signed_in(app, started["user"].username)
    page = client.get(f"/manage/events/{started['event'].id}/record").text
    for member_id in started["members"]:
        assert f'type="checkbox" value="{member_id}"' in page
    assert "张委员（经济界）" in page
    assert page.count('<fieldset class="problem-row">') == 3
    assert input_value(page, "starts_at") == local_input(started["event"].starts_at)


def test_record_as_held_stores_minutes_attendance_and_the_problems_raised(app, started):
    event, user = started["event"], started["user"]
    client = signed_in(app, user.username)
    data = record_data(event, attendees=started["members"][:1], **problem(0),
                       **problem(2, title="路灯不亮", kind="urgent", category="ecology"))
    answer = post(client, f"/manage/events/{event.id}/record", data)
    assert answer.status_code == 303 and answer.headers["Location"] == f"/manage/events/{event.id}"
    with app.app_context():
        stored = db.session.get(Event, event.id)
        assert stored.status is EventStatus.HELD and stored.held_at is not None
        assert stored.minutes.startswith("## 议定事项")
        assert (stored.resident_count, stored.department_count, stored.expert_count) == (15, 2, 1)
        assert [m.id for m in stored.attendees] == started["members"][:1]
        assert stored.opinions == "建议街道牵头协调。"
        assert stored.sequence == 0  # same times: not a reschedule
        issues = list(db.session.scalars(sa.select(Issue).order_by(Issue.id)))
        assert [(i.title, i.kind.value, i.source, i.event_id, i.created_by_id) for i in issues] == [
            ("楼道堆物", "doorstep", IssueSource.EVENT, event.id, user.id),
            ("路灯不亮", "urgent", IssueSource.EVENT, event.id, user.id),
        ]
    [row] = audit_rows(app, "event_record")
    assert row.changes["status"] == ["planned", "held"]
    assert row.changes["attendees"] == [[], started["members"][:1]]
    page = client.get(f"/manage/events/{event.id}").text
    assert "<li>增设非机动车棚</li>" in page
    assert "楼道堆物" in page and "路灯不亮" in page and "张委员" in page
    assert f"/manage/events/{event.id}/conclude" in page


def test_a_half_filled_problem_row_stores_nothing_and_names_the_row(app, started):
    event = started["event"]
    client = signed_in(app, started["user"].username)
    data = record_data(event, **problem(0), **problem(1, description="", kind=""))
    answer = post(client, f"/manage/events/{event.id}/record", data)
    assert answer.status_code == 422
    assert "第 2 个问题：请填写“问题描述”" in field_errors(answer.text, "problems-1-description")
    assert "第 2 个问题：请填写“问题类型”" in field_errors(answer.text, "problems-1-kind")
    assert "有 2 处需要修改" in answer.text
    assert input_value(answer.text, "problems-0-title") == "楼道堆物"  # the rest is kept
    stored = load(app, Event, event.id)
    assert stored.status is EventStatus.PLANNED and stored.minutes is None
    assert count(app, Issue) == 0
    assert audit_rows(app, "event_record") == []


def test_missing_minutes_and_a_half_filled_row_are_reported_together(app, started):
    event = started["event"]
    client = signed_in(app, started["user"].username)
    answer = post(client, f"/manage/events/{event.id}/record",
                  record_data(event, minutes="", resident_count="-3", **problem(2, title="")))
    assert answer.status_code == 422
    assert "请填写纪要" in field_errors(answer.text, "minutes")
    assert "0 或正整数" in field_errors(answer.text, "resident_count")
    assert "第 3 个问题：请填写“问题标题”" in field_errors(answer.text, "problems-2-title")
    assert load(app, Event, event.id).status is EventStatus.PLANNED
    assert count(app, Issue) == 0


def test_an_attendee_from_another_platform_is_refused(app, make, started):
    stranger = make("member", name="外平台委员")
    event = started["event"]
    client = signed_in(app, started["user"].username)
    answer = post(client, f"/manage/events/{event.id}/record",
                  record_data(event, attendees=[started["members"][0], stranger.id]))
    assert answer.status_code == 422
    assert "不是本平台的下沉委员" in field_errors(answer.text, "attendees")
    assert load(app, Event, event.id).status is EventStatus.PLANNED


def test_an_event_cannot_be_recorded_before_it_has_started(app, make):
    platform = make("platform")
    event = make("event", platform_id=platform.id)  # starts in three days
    client = signed_in(app, coordinator_of(make, platform.id).username)
    path = f"/manage/events/{event.id}/record"
    answer = post(client, path, record_data(event))
    assert answer.status_code == 422
    assert "活动还没有开始" in field_errors(answer.text, "starts_at")
    assert load(app, Event, event.id).status is EventStatus.PLANNED
    # Held earlier than planned: the actual start is entered and accepted.
    earlier = utcnow() - timedelta(hours=1)
    answer = post(client, path, record_data(event, starts_at=local_input(earlier),
                                            ends_at=local_input(earlier + timedelta(minutes=50))))
    assert answer.status_code == 303
    stored = load(app, Event, event.id)
    assert stored.status is EventStatus.HELD and stored.sequence == 1


def test_more_problem_rows_can_be_added_without_script(app, started):
    event = started["event"]
    client = signed_in(app, started["user"].username)
    answer = post(client, f"/manage/events/{event.id}/record",
                  record_data(event, more_rows="1", **problem(0)))
    assert answer.status_code == 200
    assert answer.text.count('<fieldset class="problem-row">') == 6
    assert input_value(answer.text, "problems-0-title") == "楼道堆物"
    assert load(app, Event, event.id).status is EventStatus.PLANNED


def test_recording_twice_is_refused(app, started):
    event = started["event"]
    client = signed_in(app, started["user"].username)
    path = f"/manage/events/{event.id}/record"
    token_page = client.get(path)
    assert post(client, path, record_data(event)).status_code == 303
    again = client.get(path)
    assert token_page.status_code == 200 and again.status_code == 302


# --- conclude and cancel --------------------------------------------------------------------

def test_conclude_records_the_outcome(app, make):
    platform = make("platform")
    event = make("event", platform_id=platform.id, status=EventStatus.HELD, minutes="纪要",
                 starts_at=utcnow() - timedelta(days=9), ends_at=utcnow() - timedelta(days=8))
    client = signed_in(app, coordinator_of(make, platform.id).username)
    path = f"/manage/events/{event.id}/conclude"
    empty = post(client, path, {"outcome": "  "})
    assert empty.status_code == 422 and "请填写成果转化情况" in field_errors(empty.text, "outcome")
    assert post(client, path, {"outcome": "新建车棚 **2** 处"}).status_code == 303
    stored = load(app, Event, event.id)
    assert stored.status is EventStatus.CONCLUDED and stored.concluded_at is not None
    assert "<strong>2</strong>" in client.get(f"/manage/events/{event.id}").text
    [row] = audit_rows(app, "event_conclude")
    assert row.changes["status"] == ["held", "concluded"]


def test_a_planned_event_cannot_be_concluded(app, make):
    platform = make("platform")
    event = make("event", platform_id=platform.id)
    client = signed_in(app, coordinator_of(make, platform.id).username)
    answer = post_directly(client, f"/manage/events/{event.id}/conclude", {"outcome": "x"})
    assert answer.status_code == 302
    assert load(app, Event, event.id).status is EventStatus.PLANNED


def test_cancel_needs_a_reason_and_tells_calendars(app, make):
    platform = make("platform")
    event = make("event", platform_id=platform.id)
    client = signed_in(app, coordinator_of(make, platform.id).username)
    path = f"/manage/events/{event.id}/cancel"
    empty = post(client, path, {"cancel_reason": ""})
    assert empty.status_code == 422
    assert "请填写取消原因" in field_errors(empty.text, "cancel_reason")
    assert load(app, Event, event.id).status is EventStatus.PLANNED
    assert post(client, path, {"cancel_reason": "暴雨预警"}).status_code == 303
    stored = load(app, Event, event.id)
    assert (stored.status, stored.cancel_reason, stored.sequence) == (
        EventStatus.CANCELLED, "暴雨预警", 1)
    assert stored.cancelled_at is not None
    assert "暴雨预警" in client.get(f"/manage/events/{event.id}").text
    # Cancelled is final: no second cancel, no record.
    assert client.get(path).status_code == 302
    assert client.get(f"/manage/events/{event.id}/record").status_code == 302


def test_another_coordinator_cannot_record_or_cancel(app, make, started):
    other = coordinator_of(make, make("platform").id)
    client = signed_in(app, other.username)
    event = started["event"]
    assert client.get(f"/manage/events/{event.id}/record").status_code == 403
    answer = post_directly(client, f"/manage/events/{event.id}/cancel", {"cancel_reason": "x"})
    assert answer.status_code == 403
    assert load(app, Event, event.id).status is EventStatus.PLANNED


def post_directly(client, path: str, data: dict[str, Any]):
    """Post without opening the form first (its page may refuse or redirect)."""
    return client.post(path, data={"csrf_token": csrf_token(client, "/"), **data})


MINUTES = "议定**两件事**：\n\n- 增设非机动车棚\n- 清理楼道\n\n<script>alert(1)</script>"


def test_recording_stores_the_minutes_html_and_both_sites_show_it(app, client, started):
    event, user = started["event"], started["user"]
    staff = signed_in(app, user.username)
    answer = post(staff, f"/manage/events/{event.id}/record",
                  record_data(event, minutes=MINUTES, opinions="建议*街道*牵头。"))
    assert answer.status_code == 303
    stored = load(app, Event, event.id)
    assert stored.minutes_html == str(render_markdown(MINUTES))
    assert "<strong>两件事</strong>" in stored.minutes_html
    assert "<li>增设非机动车棚</li>" in stored.minutes_html
    assert "<script" not in stored.minutes_html and "alert(1)" not in stored.minutes_html
    assert stored.opinions_html == "<p>建议<em>街道</em>牵头。</p>"
    assert stored.outcome is None and stored.outcome_html is None
    for page in (staff.get(f"/manage/events/{event.id}").text,
                 client.get(f"/events/{event.id}").text):
        assert "<strong>两件事</strong>" in page and "<em>街道</em>" in page
        assert "alert(1)" not in page
