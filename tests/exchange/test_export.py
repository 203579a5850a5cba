"""Staff exports: the lists a user can see, with the list's filters; contact details only when
asked, audited."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from consult_hub.core.db import utcnow
from consult_hub.extensions import db
from consult_hub.issues.operations import change_status
from consult_hub.models import AuditLog, EventStatus, Issue
from tests.support import factories
from tests.support.world import EXPORT_NAME, EXPORT_PHONE

NAME, PHONE = EXPORT_NAME, EXPORT_PHONE

# Two districts with a platform each, a resident's problem in each (tests/support/world.py).
pytestmark = pytest.mark.world("export")


def rows_of(response) -> list[dict[str, str]]:
    assert response.status_code == 200, response.text[:300]
    assert response.data.startswith("\ufeff".encode())  # Excel reads the Chinese headers
    return list(csv.DictReader(io.StringIO(response.data.decode("utf-8-sig"))))


def test_each_user_exports_what_their_list_shows(app, client, auth, make, world):
    district, mine, _theirs = world
    make("user", role="coordinator", platform_ids=[mine.id], username="co")
    auth.login("co")
    platforms = rows_of(client.get("/manage/export/platforms.csv"))
    assert [p["编码"] for p in platforms] == ["A-0001"]
    assert platforms[0]["区"] and platforms[0]["类型"] == "协商议事室"
    issues = rows_of(client.get("/manage/export/issues.csv"))
    assert sorted(i["标题"] for i in issues) == ["已解决的问题", "甲平台的问题"]
    events = rows_of(client.get("/manage/export/events.csv"))
    assert sorted(e["议题"] for e in events) == ["取消的活动", "甲平台的活动"]


def test_the_lists_filters_apply(app, client, auth, make, world):
    make("user", role="admin", username="city")
    auth.login("city")
    assert len(rows_of(client.get("/manage/export/issues.csv"))) == 3
    resolved = rows_of(client.get("/manage/export/issues.csv?status=resolved&page=2"))
    assert [(i["标题"], i["状态"], i["答复"]) for i in resolved] == \
        [("已解决的问题", "已解决或采纳", "已解决。")]
    assert [i["标题"] for i in rows_of(client.get("/manage/export/issues.csv?q=乙平台"))] == \
        ["乙平台的问题"]
    cancelled = rows_of(client.get("/manage/export/events.csv?status=cancelled"))
    assert [e["议题"] for e in cancelled] == ["取消的活动"]
    assert [p["名称"] for p in rows_of(client.get("/manage/export/platforms.csv?q=乙"))] == \
        ["乙平台"]


def test_contact_details_only_when_asked_and_audited(app, client, auth, make, world):
    district, mine, _theirs = world
    make("user", role="district_admin", district_id=district.id, username="da")
    auth.login("da")
    plain = client.get("/manage/export/issues.csv")
    assert (NAME not in plain.data.decode("utf-8-sig")
            and PHONE not in plain.data.decode("utf-8-sig"))
    with app.app_context():
        assert db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "export_contact")) \
            is None
    private = rows_of(client.get("/manage/export/issues.csv?contact=1"))
    name, phone = "反映人姓名（不公开）", "联系电话（不公开）"
    assert [(i["标题"], i[name], i[phone]) for i in private
            if i[name]] == [("甲平台的问题", NAME, PHONE)]  # never other districts'
    with app.app_context():
        audit = db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "export_contact"))
        assert audit.changes["list"] == "issues" and audit.actor_id is not None


def test_xlsx_export_holds_the_same_rows(app, client, auth, make, world):
    make("user", role="admin", username="city")
    auth.login("city")
    response = client.get("/manage/export/issues.xlsx?status=resolved")
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(response.data)).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("编号", "平台编码", "平台名称")
    assert [r[4] for r in rows[1:]] == ["已解决的问题"]


def test_problems_export_shows_staff_how_each_was_published_and_handled(app, client, auth,
                                                                       make, world):
    district, mine, _theirs = world
    with app.test_request_context():
        department = factories.department(district_id=district.id, name="甲区城管局")
        issue = db.session.scalar(sa.select(Issue).where(Issue.title == "甲平台的问题"))
        change_status(issue, "assign", actor_id=None, department=department,
                      due_on=utcnow().date() + timedelta(days=9))
        change_status(issue, "acknowledge", actor_id=None)
        change_status(issue, "reply", actor_id=None, reply="已修复路灯。",
                      proposed_status="resolved")
        factories.issue(platform_id=mine.id, source="resident", needs_review=True,
                        title="待审核的问题", description="我叫李四，电话13900009999。")
        db.session.commit()
    make("user", role="district_admin", district_id=district.id, username="da")
    auth.login("da")
    rows = {r["标题"]: r for r in rows_of(client.get("/manage/export/issues.csv"))}
    replied = rows["甲平台的问题"]
    assert replied["状态"] == "已答复待确认" and replied["公开时间"]
    assert replied["交办时间"] and replied["签收时间"] and replied["答复时间"]
    assert (replied["建议办理结果"], replied["承办单位答复"], replied["答复"]) == \
        ("已解决或采纳", "已修复路灯。", "")  # the reply is not the public answer yet
    waiting = rows["待审核的问题"]
    assert waiting["状态"] == "待受理" and waiting["公开时间"] == ""


def test_a_departments_contact_has_no_exports(app, client, auth, make, world):
    district, _mine, _theirs = world
    with app.test_request_context():
        department = factories.department(district_id=district.id)
        issue = db.session.scalar(sa.select(Issue).where(Issue.title == "甲平台的问题"))
        change_status(issue, "assign", actor_id=None, department=department,
                      due_on=utcnow().date() + timedelta(days=9))
        db.session.commit()
        department_id = department.id
    make("user", role="department", department_id=department_id, username="dept")
    auth.login("dept")
    assert client.get("/manage/export").status_code == 403
    for kind in ("issues", "platforms", "events"):
        assert client.get(f"/manage/export/{kind}.csv").status_code == 403
        assert client.get(f"/manage/export/{kind}.xlsx?contact=1").status_code == 403


def test_visitors_are_sent_to_sign_in(client):
    response = client.get("/manage/export/issues.csv")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_a_formula_in_a_title_is_not_run_by_a_spreadsheet(app, client, auth, make):
    platform = make("platform")
    with app.test_request_context():
        factories.issue(platform_id=platform.id, title="=HYPERLINK(\"http://x\")")
        db.session.commit()
    make("user", role="admin", username="city")
    auth.login("city")
    [row] = rows_of(client.get("/manage/export/issues.csv"))
    assert row["标题"] == "'=HYPERLINK(\"http://x\")"


def test_export_page_links_every_list(client, auth, make):
    make("user", role="coordinator", username="co")
    auth.login("co")
    page = client.get("/manage/export")
    assert page.status_code == 200
    for kind in ("platforms", "events", "issues"):
        assert f"/manage/export/{kind}.csv" in page.text
        assert f"/manage/export/{kind}.xlsx" in page.text
    assert "包含联系人信息（不公开）" in page.text


def test_events_export_imports_back_unchanged(app, client, auth, make, runner, tmp_path):
    platform = make("platform", code="A-0001")
    member = make("member", code="WY1")
    codeless = make("member")
    with app.test_request_context():
        from consult_hub.models import Event, Member, Platform

        place = db.session.get(Platform, platform.id)
        place.members = [db.session.get(Member, member.id), db.session.get(Member, codeless.id)]
        start = utcnow() - timedelta(days=3)
        held = factories.event(platform_id=platform.id, status=EventStatus.HELD,
                               minutes="会议纪要", starts_at=start,
                               ends_at=start + timedelta(hours=2))
        held.attendees = [db.session.get(Member, member.id), db.session.get(Member, codeless.id)]
        factories.event(platform_id=platform.id)
        db.session.commit()
        before = {e.id: e.version for e in db.session.scalars(sa.select(Event))}
    make("user", role="admin", username="city")
    auth.login("city")
    exported = client.get("/manage/export/events.csv")
    path = tmp_path / "events.csv"
    path.write_bytes(exported.data)
    result = runner.invoke(args=["import", "events", str(path)])
    assert result.exit_code == 0, result.output
    assert "新增 0，更新 0，未变 2" in result.output
    with app.app_context():
        assert {e.id: e.version for e in db.session.scalars(sa.select(Event))} == before
        assert db.session.scalar(sa.select(sa.func.count(Issue.id))) == 0


def test_problems_export_with_contact_imports_back_unchanged(app, client, auth, make, world,
                                                              runner, tmp_path):
    district, mine, _theirs = world
    with app.test_request_context():
        department = factories.department(district_id=district.id)
        issue = db.session.scalar(sa.select(Issue).where(Issue.title == "甲平台的问题"))
        change_status(issue, "assign", actor_id=None, department=department,
                      due_on=utcnow().date() + timedelta(days=9))
        db.session.commit()
        before = {i.reference: i.version for i in db.session.scalars(sa.select(Issue))}
    make("user", role="admin", username="city")
    auth.login("city")
    path = tmp_path / "issues.xlsx"
    path.write_bytes(client.get("/manage/export/issues.xlsx?contact=1").data)
    result = runner.invoke(args=["import", "issues", str(path)])
    assert result.exit_code == 0, result.output
    assert "新增 0，更新 0，未变 3" in result.output
    with app.app_context():
        assert {i.reference: i.version for i in db.session.scalars(sa.select(Issue))} == before


def test_command_line_exports_everything_and_builds_the_open_data(app, make, world, runner,
                                                                  tmp_path):
    path = tmp_path / "issues.csv"
    result = runner.invoke(args=["export", "list", "issues", str(path), "--include-contact"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    assert len(rows) == 3 and {r["联系电话（不公开）"] for r in rows} == {PHONE, ""}
    with app.app_context():
        audit = db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "export_contact"))
        assert audit.changes["via"] == "cli"
    built = runner.invoke(args=["export", "open-data"])
    assert built.exit_code == 0 and "outcomes.csv 3" in built.output
