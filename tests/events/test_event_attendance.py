"""Whether and how residents can come to a planned event: entered on the plan and edit forms,
shown on the public page, in the calendars, in the API and in the event files."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from typing import Any

import icalendar
import sqlalchemy as sa

from consult_hub.core.db import utcnow
from consult_hub.extensions import db
from consult_hub.models import Event, User
from tests.events.test_events import edit_data
from tests.support.api import bearer, token_for
from tests.support.auth import signed_in
from tests.support.events import coordinator_of, plan_data
from tests.support.pages import field_errors, page_text, post
from tests.support.records import load

HOW = "到百步亭社区居委会一楼报名，或拨打平台公开电话 027-82880000"


def plan(app, make, **changes: Any) -> tuple[Any, Any, Any]:
    """A coordinator plans an event through the form; the saved event, the platform, the client."""
    platform = make("platform", code="A-0001", name="百步亭协商议事室")
    user = coordinator_of(make, platform.id)
    client = signed_in(app, user.username)
    answer = post(client, f"/manage/events/new?platform={platform.id}",
                  plan_data(utcnow() + timedelta(days=4), topic="加装电梯协商", **changes))
    assert answer.status_code == 303, field_errors(answer.text, "attendance_note")
    with app.app_context():
        event = db.session.scalars(sa.select(Event)).one()
        db.session.expunge(event)
    return event, platform, client


def calendar_description(client, platform_id: int) -> str:
    body = client.get(f"/feeds/platforms/{platform_id}.ics").data
    [vevent] = icalendar.Calendar.from_ical(body).walk("VEVENT")
    return str(vevent["DESCRIPTION"])


def api_event(app, client, event_id: int) -> dict[str, Any]:
    with app.app_context():
        admin = db.session.scalar(sa.select(User).where(User.role == "admin"))
        token = token_for(admin)
        db.session.commit()
    answer = client.get(f"/api/v1/events/{event_id}", headers=bearer(token))
    assert answer.status_code == 200, answer.text[:300]
    return answer.json


def test_attendance_travels_from_the_form_to_the_page_calendar_api_and_file(
        app, client, make, runner, tmp_path):
    event, platform, staff = plan(app, make, attendance="open", attendance_note=HOW)
    assert (event.attendance.value, event.attendance_note) == ("open", HOW)

    page = page_text(client.get(f"/events/{event.id}").text)
    assert "居民能否参加 欢迎居民参加" in page and HOW in page

    description = calendar_description(client, platform.id)
    assert "居民能否参加：欢迎居民参加" in description
    assert f"参加方式：{HOW}" in description

    make("user", role="admin", username="city")
    found = api_event(app, client, event.id)
    assert (found["attendance"], found["attendance_label"], found["attendance_note"]) == (
        "open", "欢迎居民参加", HOW)

    exported = staff.get("/manage/export/events.csv")
    [row] = list(csv.DictReader(io.StringIO(exported.data.decode("utf-8-sig"))))
    assert (row["居民能否参加"], row["参加方式"]) == ("欢迎居民参加", HOW)

    # The file corrected and imported back: by invitation now, and how to be invited.
    row.update({"居民能否参加": "邀请参加", "参加方式": "由社区居委会邀请居民代表"})
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(row))
    writer.writeheader()
    writer.writerow(row)
    path = tmp_path / "events.csv"
    path.write_bytes(out.getvalue().encode("utf-8-sig"))
    result = runner.invoke(args=["import", "events", str(path)])
    assert result.exit_code == 0, result.output
    assert "更新 1" in result.output
    stored = load(app, Event, event.id)
    assert (stored.attendance.value, stored.attendance_note) == (
        "invited", "由社区居委会邀请居民代表")
    assert "居民能否参加 邀请参加" in page_text(client.get(f"/events/{event.id}").text)


def test_the_edit_form_changes_and_clears_it(app, client, make):
    event, _platform, staff = plan(app, make, attendance="open", attendance_note=HOW)
    path = f"/manage/events/{event.id}/edit"
    form = staff.get(path).text
    assert re.search(r'<option selected value="open">欢迎居民参加</option>', form)
    assert HOW in form
    saved = post(staff, path, edit_data(form, attendance="invited", attendance_note=""))
    assert saved.status_code == 303
    stored = load(app, Event, event.id)
    assert (stored.attendance.value, stored.attendance_note) == ("invited", None)
    saved = post(staff, path, edit_data(staff.get(path).text, attendance="", attendance_note=""))
    assert saved.status_code == 303
    assert load(app, Event, event.id).attendance is None
    assert "居民能否参加" not in client.get(f"/events/{event.id}").text


def test_an_event_that_never_said_shows_nothing_rather_than_a_guess(app, client, make):
    platform = make("platform")
    event = make("event", platform_id=platform.id, topic="老活动")
    assert "居民能否参加" not in client.get(f"/events/{event.id}").text
    assert "居民能否参加" not in calendar_description(client, platform.id)
    make("user", role="admin")
    found = api_event(app, client, event.id)
    assert (found["attendance"], found["attendance_label"], found["attendance_note"]) == (
        None, None, None)


def test_a_personal_mobile_number_is_refused_everywhere_it_could_be_entered(
        app, client, make, runner, tmp_path):
    platform = make("platform", code="A-0001")
    user = coordinator_of(make, platform.id)
    staff = signed_in(app, user.username)
    answer = post(staff, f"/manage/events/new?platform={platform.id}",
                  plan_data(utcnow() + timedelta(days=4), attendance="open",
                            attendance_note="联系王主任 138 0013 8000"))
    assert answer.status_code == 422
    assert "个人手机号" in field_errors(answer.text, "attendance_note")
    assert "138 0013 8000" in answer.text  # what was typed stays in the form
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Event.id))) == 0

    with app.app_context():
        token = token_for(db.session.get(User, user.id))
        db.session.commit()
    start = utcnow() + timedelta(days=5)
    refused = client.post("/api/v1/events", headers=bearer(token), json={
        "platform_id": platform.id, "topic": "加装电梯协商", "category": "society",
        "starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=1)).isoformat(),
        "attendance": "open", "attendance_note": "电话13800138000"})
    assert refused.status_code == 422
    assert "attendance_note" in refused.json["error"]["fields"]
    bad_choice = client.post("/api/v1/events", headers=bearer(token), json={
        "platform_id": platform.id, "topic": "加装电梯协商", "category": "society",
        "starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=1)).isoformat(),
        "attendance": "everyone"})
    assert bad_choice.status_code == 422 and "attendance" in bad_choice.json["error"]["fields"]

    path = tmp_path / "events.csv"
    path.write_bytes("平台编码,议题,类别,开始时间,结束时间,居民能否参加,报名方式\n"
                     f"A-0001,停车协商,社会建设,{(start + timedelta(days=1)):%Y-%m-%d %H:%M},"
                     f"{(start + timedelta(days=1, hours=1)):%Y-%m-%d %H:%M},谁都行,"
                     "找13800138000\n".encode("utf-8-sig"))
    result = runner.invoke(args=["import", "events", str(path)])
    assert result.exit_code != 0
    assert "居民能否参加" in result.output and "个人手机号" in result.output
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Event.id))) == 0


def test_the_api_plans_with_attendance_and_a_patch_without_it_keeps_it(app, client, make):
    platform = make("platform")
    user = coordinator_of(make, platform.id)
    with app.app_context():
        token = token_for(db.session.get(User, user.id))
        db.session.commit()
    start = utcnow() + timedelta(days=5)
    created = client.post("/api/v1/events", headers=bearer(token), json={
        "platform_id": platform.id, "topic": "加装电梯协商", "category": "society",
        "starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=1)).isoformat(),
        "attendance": "invited", "attendance_note": "由居委会邀请"})
    assert created.status_code == 201, created.text
    assert created.json["attendance_label"] == "邀请参加"
    changed = client.patch(f"/api/v1/events/{created.json['id']}", headers=bearer(token),
                           json={"topic": "加装电梯再协商", "version": created.json["version"]})
    assert changed.status_code == 200, changed.text
    assert (changed.json["attendance"], changed.json["attendance_note"]) == (
        "invited", "由居委会邀请")
