"""Staff exports: the lists a user can see, with the list's filters; contact details only when
asked, audited."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from consult_hub.core.db import utcnow
from consult_hub.core.sheets import MAX_WIDTH, XLSX_TYPE
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


# -- issue 17, item 4: spreadsheets with real types --------------------------------------------


def xlsx_table(response) -> tuple[Any, dict[str, int], list[tuple[Any, ...]]]:
    """The first sheet of an XLSX download, its columns by name, and its rows of cells."""
    assert response.status_code == 200, response.text[:300]
    assert response.headers["Content-Type"] == XLSX_TYPE
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    sheets = [n for n in archive.namelist() if n.startswith("xl/worksheets/")]
    assert sheets and not [n for n in sheets if b"<f>" in archive.read(n)]  # no formula at all
    sheet = load_workbook(io.BytesIO(response.data)).worksheets[0]
    rows = list(sheet.iter_rows())
    return sheet, {cell.value: index for index, cell in enumerate(rows[0])}, rows[1:]


@pytest.fixture()
def typed(app, make, auth) -> dict[str, Any]:
    """A platform whose texts look like formulas and errors, and two events with local times
    that fall on another day than in UTC (one of them at local midnight)."""
    platform = make("platform", code="A-0001", name='=HYPERLINK("http://x","看")',
                    description="#N/A", latitude=30.5936, longitude=114.3055,
                    established_on=date(2019, 5, 4), demonstration_year=2021,
                    is_demonstration=True)
    held_start = datetime(2024, 3, 1, 16, 30, 45, tzinfo=UTC)  # 2024-03-02 00:30 in Shanghai
    make("event", platform_id=platform.id, topic="+1 号楼加装电梯", starts_at=held_start,
         ends_at=held_start + timedelta(hours=2), status=EventStatus.HELD, minutes="纪要",
         resident_count=12)
    midnight = datetime.combine(date.today() + timedelta(days=30), time(0),
                                tzinfo=ZoneInfo("Asia/Shanghai"))
    make("event", platform_id=platform.id, topic="零点开始的活动", starts_at=midnight,
         ends_at=midnight + timedelta(hours=1))
    make("user", role="admin", username="city")
    auth.login("city")
    return {"platform": platform, "midnight": midnight.replace(tzinfo=None)}


def test_xlsx_cells_are_dates_numbers_and_text_never_formulas(client, typed):
    sheet, column, rows = xlsx_table(client.get("/manage/export/platforms.xlsx"))
    [row] = rows
    founded = row[column["成立日期"]]
    assert founded.is_date and founded.value == datetime(2019, 5, 4)
    assert founded.number_format == "yyyy-mm-dd"
    assert [(row[column[name]].data_type, row[column[name]].value)
            for name in ("纬度", "经度", "示范年份")] == [("n", 30.5936), ("n", 114.3055),
                                                        ("n", 2021)]
    # Text is a string cell as it is: no apostrophe, never a formula or an error value.
    assert [(row[column[name]].data_type, row[column[name]].value)
            for name in ("编码", "名称", "简介")] == [
        ("s", "A-0001"), ("s", '=HYPERLINK("http://x","看")'), ("s", "#N/A")]

    sheet, column, rows = xlsx_table(client.get("/manage/export/events.xlsx"))
    by_topic = {row[column["议题"]].value: row for row in rows}
    held = by_topic["+1 号楼加装电梯"]
    start = held[column["开始时间"]]
    # Shanghai's wall-clock time, to the minute, in a date-and-time cell (Excel has no zones).
    assert start.is_date and start.value == datetime(2024, 3, 2, 0, 30)
    assert start.number_format == "yyyy-mm-dd hh:mm"
    assert held[column["结束时间"]].value == datetime(2024, 3, 2, 2, 30)
    assert (held[column["居民代表人数"]].data_type, held[column["居民代表人数"]].value) == ("n", 12)
    assert held[column["系统编号"]].data_type == "n"
    assert by_topic["零点开始的活动"][column["开始时间"]].value == typed["midnight"]
    assert held[column["取消原因"]].value is None  # empty is an empty cell, not ""


def test_csv_keeps_the_formula_guard_and_the_same_times(client, typed):
    response = client.get("/manage/export/events.csv")
    [held] = [r for r in rows_of(response) if "号楼" in r["议题"]]
    assert (held["议题"], held["开始时间"], held["结束时间"]) == \
        ("'+1 号楼加装电梯", "2024-03-02 00:30", "2024-03-02 02:30")
    [platform] = rows_of(client.get("/manage/export/platforms.csv"))
    assert (platform["名称"], platform["成立日期"]) == ("'=HYPERLINK(\"http://x\",\"看\")",
                                                         "2019-05-04")


def test_csv_downloads_say_their_charset_once(client, typed):
    for path in ("/manage/export/issues.csv", "/manage/export/events.csv",
                 "/manage/import/template/platforms.csv"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.headers.getlist("Content-Type") == ["text/csv; charset=utf-8"], path


def test_xlsx_columns_fit_what_they_hold(app, client, make, auth):
    long_name = "百步亭花园社区居民议事协商平台第一议事室"  # 20 CJK characters: 40 units
    make("platform", code="A-0001", name=long_name, description="很长的简介。" * 1000,
         address="Wuhan Road 1")
    make("user", role="admin", username="city")
    auth.login("city")
    sheet, column, _rows = xlsx_table(client.get("/manage/export/platforms.xlsx"))

    def width(name: str) -> float:
        return sheet.column_dimensions[get_column_letter(column[name] + 1)].width

    assert 40 <= width("名称") <= 46  # CJK characters count double
    assert width("编码") < 12  # "A-0001": six Latin characters
    assert 12 <= width("地址") < 20  # "Wuhan Road 1" is wider than its header 地址
    assert width("简介") == MAX_WIDTH  # 6,000 characters: capped


def test_xlsx_export_with_dates_and_a_midnight_start_imports_back_unchanged(
        app, client, typed, runner, tmp_path):
    for kind in ("events", "platforms"):
        path = tmp_path / f"{kind}.xlsx"
        path.write_bytes(client.get(f"/manage/export/{kind}.xlsx").data)
        result = runner.invoke(args=["import", kind, str(path)])
        assert result.exit_code == 0, result.output
        assert "新增 0，更新 0，未变" in result.output, result.output


def test_open_data_files_unpack_readable_by_everyone(app, client, world):
    with app.app_context():
        from consult_hub.exchange.open_data import archive_path

        archive_path().unlink(missing_ok=True)
    with client.get("/open-data/consult_hub_open_data.zip") as response:  # a file: closed
        assert response.status_code == 200
        with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
            members = archive.infolist()
    assert members and {(m.filename, m.external_attr >> 16) for m in members} == \
        {(m.filename, 0o100644) for m in members}  # a regular file, rw-r--r--
