"""Spreadsheet import: every row checked first, errors by row and column, all or nothing,
re-import idempotent."""

from __future__ import annotations

import csv
import gc
import io
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from openpyxl import Workbook, load_workbook

from consult_hub.core.db import utcnow
from consult_hub.extensions import db
from consult_hub.issues.operations import change_status
from consult_hub.models import (
    Area,
    AreaLevel,
    AuditLog,
    Event,
    EventStatus,
    Issue,
    IssueStatus,
    IssueUpdate,
    Member,
    MemberLevel,
    Platform,
    PlatformKind,
    PlatformStatus,
    platform_members,
)
from tests.support import factories
from tests.support.auth import csrf_token

PLATFORM_HEADER = ["编码", "名称", "类型", "区", "街道", "社区", "地址", "纬度", "经度", "召集人",
                   "成立日期", "示范点", "示范年份", "状态"]


def csv_bytes(header: list[str], rows: list[list[Any]], encoding: str = "utf-8-sig") -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def xlsx_bytes(header: list[str], rows: list[list[Any]]) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def write(tmp_path: Path, name: str, data: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def run(runner, kind: str, path: str, *extra: str):
    return runner.invoke(args=["import", kind, path, *extra])


@pytest.fixture()
def city(app: Flask) -> dict[str, Any]:
    """Two districts (江岸区 with one street and community, 武昌区) and a department."""
    with app.app_context():
        jiangan = Area(code="420102", name="江岸区", level=AreaLevel.DISTRICT)
        wuchang = Area(code="420106", name="武昌区", level=AreaLevel.DISTRICT)
        street = Area(code="420102001000", name="二七街道", level=AreaLevel.STREET, parent=jiangan)
        community = Area(code="420102001001", name="二七社区", level=AreaLevel.COMMUNITY,
                         parent=street)
        db.session.add_all([jiangan, wuchang, street, community])
        db.session.flush()
        department = factories.department(district_id=jiangan.id, name="江岸区城管局",
                                          code="JA-CG")
        db.session.commit()
        return {"jiangan": jiangan.id, "wuchang": wuchang.id, "street": street.id,
                "community": community.id, "department": department.id}


def platform_row(code: str, **changes: Any) -> list[Any]:
    values = {"编码": code, "名称": f"协商议事室{code}", "类型": "协商议事室", "区": "江岸区",
              "街道": "二七街道", "社区": "二七社区", "地址": "二七路 100 号", "纬度": "30.616",
              "经度": "114.3055", "召集人": "张建国", "成立日期": "2023-05-01", "示范点": "否",
              "示范年份": "", "状态": ""}
    values.update(changes)
    return [values[h] for h in PLATFORM_HEADER]


def platforms(app: Flask) -> list[Platform]:
    with app.app_context():
        found = list(db.session.scalars(sa.select(Platform).order_by(Platform.code)))
        db.session.expunge_all()
        return found


# -- platforms --------------------------------------------------------------------------------


def test_one_bad_row_imports_nothing_then_the_fixed_file_imports_all_then_nothing_changes(
        app, runner, city, tmp_path):
    rows = [platform_row("420102-0001"), platform_row("420102-0002", 成立日期="2023/13/45"),
            platform_row("420102-0003"),
            platform_row("420102-0004", 成立日期="去年春天")]
    bad = run(runner, "platforms", write(tmp_path, "bad.csv", csv_bytes(PLATFORM_HEADER, rows)))
    assert bad.exit_code == 1
    assert "第 3 行「成立日期」：没有这个日期：2023/13/45" in bad.output
    assert "第 5 行「成立日期」：日期格式应为 2024-03-01" in bad.output
    assert platforms(app) == []

    rows[1] = platform_row("420102-0002", 成立日期="2023/3/1")
    rows[3] = platform_row("420102-0004", 成立日期="2023年4月1日", 示范点="是", 示范年份="2024")
    good_path = write(tmp_path, "good.csv", csv_bytes(PLATFORM_HEADER, rows))
    good = run(runner, "platforms", good_path)
    assert good.exit_code == 0, good.output
    assert "新增 4，更新 0，未变 0" in good.output
    stored = platforms(app)
    assert [p.code for p in stored] == ["420102-0001", "420102-0002", "420102-0003", "420102-0004"]
    assert stored[1].established_on == date(2023, 3, 1)
    assert stored[3].is_demonstration and stored[3].demonstration_year == 2024
    assert {p.area_id for p in stored} == {city["community"]}
    assert {p.district_id for p in stored} == {city["jiangan"]}
    assert stored[0].kind is PlatformKind.CONSULT_ROOM and stored[0].latitude == 30.616

    again = run(runner, "platforms", good_path)
    assert again.exit_code == 0, again.output
    assert "新增 0，更新 0，未变 4" in again.output
    assert [(p.version, p.updated_at) for p in platforms(app)] == \
        [(p.version, p.updated_at) for p in stored]


def test_reimport_updates_by_code_and_audits_the_change(app, runner, city, tmp_path):
    run(runner, "platforms", write(tmp_path, "a.csv", csv_bytes(
        PLATFORM_HEADER, [platform_row("420102-0001"), platform_row("420102-0002")])))
    changed = run(runner, "platforms", write(tmp_path, "b.csv", csv_bytes(PLATFORM_HEADER, [
        platform_row("420102-0001", 名称="二七协商议事之家", 状态="暂停"),
        platform_row("420102-0002"), platform_row("420102-0003")])))
    assert changed.exit_code == 0, changed.output
    assert "新增 1，更新 1，未变 1" in changed.output
    first = platforms(app)[0]
    assert first.name == "二七协商议事之家" and first.status is PlatformStatus.SUSPENDED
    assert first.version == 2
    with app.app_context():
        rows = db.session.scalars(sa.select(AuditLog).where(
            AuditLog.action == "platform_import")).all()
        assert [(r.entity_id, r.changes) for r in rows] == [
            (first.id, {"name": ["协商议事室420102-0001", "二七协商议事之家"],
                        "status": ["active", "suspended"]})]
        summary = db.session.scalars(sa.select(AuditLog).where(
            AuditLog.action == "import_platforms").order_by(AuditLog.id)).all()[-1]
        assert summary.changes == {"file": "b.csv", "rows": 3, "created": 1, "updated": 1,
                                   "unchanged": 1}


def test_status_changes_follow_the_platform_rules(app, runner, city, tmp_path):
    run(runner, "platforms", write(tmp_path, "a.csv", csv_bytes(
        PLATFORM_HEADER, [platform_row("420102-0001", 状态="已撤销")])))
    refused = run(runner, "platforms", write(tmp_path, "b.csv", csv_bytes(
        PLATFORM_HEADER, [platform_row("420102-0001", 状态="暂停")])))
    assert refused.exit_code == 1
    assert "第 2 行「状态」：不能从“已撤销”改为“暂停”" in refused.output


def test_streets_and_communities_are_created_under_the_named_district(app, runner, city, tmp_path):
    result = run(runner, "platforms", write(tmp_path, "a.csv", csv_bytes(PLATFORM_HEADER, [
        platform_row("420106-0001", 区="420106", 街道="中华路街道", 社区="粮道街社区"),
        platform_row("420106-0002", 区="武昌区", 街道="中华路街道", 社区=""),
    ])))
    assert result.exit_code == 0, result.output
    assert "新建区域 2 个" in result.output
    with app.app_context():
        street = db.session.scalar(sa.select(Area).where(Area.name == "中华路街道"))
        community = db.session.scalar(sa.select(Area).where(Area.name == "粮道街社区"))
        assert street.parent_id == city["wuchang"] and street.level is AreaLevel.STREET
        assert community.parent_id == street.id and community.level is AreaLevel.COMMUNITY
        placed = dict(db.session.execute(sa.select(Platform.code, Platform.area_id)).all())
        assert placed == {"420106-0001": community.id, "420106-0002": street.id}


def test_an_unknown_district_and_a_missing_column_are_named(app, runner, city, tmp_path):
    unknown = run(runner, "platforms", write(tmp_path, "a.csv", csv_bytes(
        PLATFORM_HEADER, [platform_row("420102-0001", 区="不存在区")])))
    assert "第 2 行「区」：找不到区“不存在区”" in unknown.output
    header = [h for h in PLATFORM_HEADER if h != "地址"] + ["备注栏"]
    rows = [[v for h, v in zip(PLATFORM_HEADER, platform_row("420102-0001"), strict=True)
             if h != "地址"] + ["x"]]
    missing = run(runner, "platforms", write(tmp_path, "b.csv", csv_bytes(header, rows)))
    assert missing.exit_code == 1
    assert "第 1 行：缺少必填列「地址」" in missing.output
    assert "第 1 行「备注栏」：不认识这个列名" in missing.output
    assert platforms(app) == []


def test_xlsx_gb18030_and_english_headers_are_read(app, runner, city, tmp_path):
    xlsx_rows = [platform_row("420102-0001")]
    xlsx_rows[0][10] = date(2023, 5, 1)  # a real date cell
    xlsx_rows[0][7], xlsx_rows[0][8] = 30.616, 114.3055  # numbers
    assert run(runner, "platforms", write(tmp_path, "a.xlsx", xlsx_bytes(
        PLATFORM_HEADER, xlsx_rows))).exit_code == 0
    gbk = csv_bytes(PLATFORM_HEADER, [platform_row("420102-0002")], encoding="gb18030")
    assert run(runner, "platforms", write(tmp_path, "b.csv", gbk)).exit_code == 0
    english = ["code", "name", "kind", "district", "street", "community", "address", "lat",
               "long", "convener", "established_on", "is_demonstration", "demonstration_year",
               "status"]
    result = run(runner, "platforms", write(tmp_path, "c.csv", csv_bytes(
        english, [platform_row("420102-0003", 类型="member_studio")], encoding="utf-8")))
    assert result.exit_code == 0, result.output
    stored = platforms(app)
    assert [p.name for p in stored] == ["协商议事室420102-0001", "协商议事室420102-0002",
                                        "协商议事室420102-0003"]
    assert stored[0].established_on == date(2023, 5, 1) and stored[0].latitude == 30.616
    assert stored[2].kind is PlatformKind.MEMBER_STUDIO


def test_dry_run_writes_nothing(app, runner, city, tmp_path):
    result = run(runner, "platforms", write(tmp_path, "a.csv", csv_bytes(
        PLATFORM_HEADER, [platform_row("420102-0001")])), "--dry-run")
    assert result.exit_code == 0 and "新增 1，更新 0，未变 0" in result.output
    assert platforms(app) == []
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(AuditLog.id))) == 0


# -- the upload page --------------------------------------------------------------------------


def upload(client, data: bytes, name: str, kind: str = "platforms", dry_run: bool = False):
    form = {"csrf_token": csrf_token(client, "/manage/import"), "kind": kind,
            "file": (io.BytesIO(data), name)}
    if dry_run:
        form["dry_run"] = "y"
    return client.post("/manage/import", data=form, content_type="multipart/form-data")


def test_staff_upload_reports_errors_by_row_and_column_and_stores_nothing(
        app, client, auth, make, city):
    make("user", role="admin", username="city")
    auth.login("city")
    bad = upload(client, xlsx_bytes(PLATFORM_HEADER, [
        platform_row("420102-0001"), platform_row("420102-0002", 纬度="北纬30度")]), "p.xlsx")
    assert bad.status_code == 422
    assert "第 3 行「纬度」：应为数字，例如 30.5936" in bad.text
    assert "没有导入任何数据" in bad.text
    assert platforms(app) == []
    checked = upload(client, xlsx_bytes(PLATFORM_HEADER, [platform_row("420102-0001")]),
                     "p.xlsx", dry_run=True)
    assert checked.status_code == 200 and "新增 1，更新 0，未变 0" in checked.text
    assert platforms(app) == []
    done = upload(client, xlsx_bytes(PLATFORM_HEADER, [platform_row("420102-0001")]), "p.xlsx")
    assert done.status_code == 303
    assert "新增 1，更新 0，未变 0" in client.get(done.headers["Location"]).text
    assert [p.code for p in platforms(app)] == ["420102-0001"]


def test_district_staff_import_only_into_their_district(app, client, auth, make, city):
    make("user", role="district_admin", district_id=city["jiangan"], username="ja")
    auth.login("ja")
    refused = upload(client, csv_bytes(PLATFORM_HEADER, [
        platform_row("420102-0001"), platform_row("420106-0001", 区="武昌区", 街道="中华路街道")]),
        "p.csv")
    assert refused.status_code == 422
    assert "第 3 行「区」：只能导入本区的平台，不能导入武昌区的" in refused.text
    assert platforms(app) == []
    assert upload(client, csv_bytes(PLATFORM_HEADER, [platform_row("420102-0001")]),
                  "p.csv").status_code == 303


def test_coordinators_and_visitors_cannot_import(app, client, auth, make, city):
    assert client.get("/manage/import").status_code == 302
    platform = make("platform", district_id=city["jiangan"])
    make("user", role="coordinator", platform_ids=[platform.id], username="co")
    auth.login("co")
    assert client.get("/manage/import").status_code == 403
    assert client.get("/manage/import/template/platforms.xlsx").status_code == 403


def test_templates_have_the_columns_and_an_explanation_sheet(client, auth, make):
    make("user", role="admin", username="city")
    auth.login("city")
    response = client.get("/manage/import/template/issues.xlsx")
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.data))
    assert book.sheetnames == ["问题导入", "填写说明"]
    headers = [c.value for c in book.worksheets[0][1]]
    assert headers[:3] == ["编号", "平台编码", "标题"]
    guide = {row[0]: row for row in book.worksheets[1].iter_rows(min_row=2, values_only=True)}
    assert set(guide) >= set(headers)
    assert guide["状态"][1] == "" or guide["状态"][1] is None
    assert "已受理（received）" in guide["状态"][3]
    blank = client.get("/manage/import/template/platforms.csv")
    assert blank.data.startswith("\ufeff".encode()) and "编码,名称,类型,区" in blank.data.decode(
        "utf-8-sig")


# -- members ----------------------------------------------------------------------------------

MEMBER_HEADER = ["编码", "姓名", "界别", "级别", "区", "所联系平台编码"]


def test_members_link_their_platforms_and_reimport_changes_nothing(app, runner, city, tmp_path):
    run(runner, "platforms", write(tmp_path, "p.csv", csv_bytes(
        PLATFORM_HEADER, [platform_row("420102-0001"), platform_row("420102-0002")])))
    rows = [["WY0001", "李明", "社会福利和社会保障界", "区政协委员", "江岸区",
             "420102-0001;420102-0002"],
            ["WY0002", "王芳", "经济界", "市", "", ""]]
    path = write(tmp_path, "m.csv", csv_bytes(MEMBER_HEADER, rows))
    first = run(runner, "members", path)
    assert first.exit_code == 0, first.output
    assert "新增 2，更新 0，未变 0" in first.output
    with app.app_context():
        li = db.session.scalar(sa.select(Member).where(Member.code == "WY0001"))
        assert li.level is MemberLevel.DISTRICT and li.district_id == city["jiangan"]
        assert sorted(p.code for p in li.platforms) == ["420102-0001", "420102-0002"]
    assert "新增 0，更新 0，未变 2" in run(runner, "members", path).output
    rows[0][5] = "420102-0002"
    rows[1][4] = "不存在区"
    bad = run(runner, "members", write(tmp_path, "m2.csv", csv_bytes(MEMBER_HEADER, rows)))
    assert "第 3 行「区」：找不到区“不存在区”" in bad.output
    rows[1][4] = ""
    fixed = run(runner, "members", write(tmp_path, "m3.csv", csv_bytes(MEMBER_HEADER, rows)))
    assert "新增 0，更新 1，未变 1" in fixed.output
    with app.app_context():
        links = db.session.execute(sa.select(platform_members.c.platform_id)).scalars().all()
        assert len(links) == 1


def test_a_district_member_needs_a_district(runner, city, tmp_path):
    result = run(runner, "members", write(tmp_path, "m.csv", csv_bytes(
        MEMBER_HEADER, [["WY0001", "李明", "经济界", "区政协委员", "", ""]])))
    assert "第 2 行「区」：区政协委员必须填写所属的区" in result.output


# -- events -----------------------------------------------------------------------------------

EVENT_HEADER = ["编码", "平台编码", "议题", "类别", "开始时间", "结束时间", "地点", "形式", "状态",
                "纪要", "协商意见", "居民代表人数", "参加委员编码"]


def test_events_import_held_and_planned_and_refuse_a_held_event_without_minutes(
        app, runner, city, tmp_path):
    run(runner, "platforms", write(tmp_path, "p.csv", csv_bytes(
        PLATFORM_HEADER, [platform_row("420102-0001")])))
    run(runner, "members", write(tmp_path, "m.csv", csv_bytes(
        MEMBER_HEADER, [["WY0001", "李明", "经济界", "区", "江岸区", "420102-0001"],
                        ["WY0009", "赵六", "经济界", "市", "", ""]])))
    future = (utcnow() + timedelta(days=10)).strftime("%Y-%m-%d")
    rows = [["HD-1", "420102-0001", "加装电梯", "社会建设", "2024-03-01 14:30", "2024-03-01 16:30",
             "", "现场", "已举行", "", "同意分户出资", "12", "WY0001"],
            ["HD-2", "420102-0001", "垃圾分类", "生态文明建设", f"{future} 09:00",
             f"{future} 08:00",
             "社区广场", "", "", "", "", "", ""],
            ["HD-3", "420102-0001", "停车", "社会建设", "2024-03-02 09:00", "2024-03-02 10:00",
             "", "", "已举行", "纪要", "", "3", "WY0009"]]
    bad = run(runner, "events", write(tmp_path, "e.csv", csv_bytes(EVENT_HEADER, rows)))
    assert bad.exit_code == 1
    assert "第 2 行「纪要」：已举行的活动请填写纪要" in bad.output
    assert "第 3 行「结束时间」：结束时间应晚于开始时间" in bad.output
    assert "第 4 行「参加委员编码」：委员 WY0009 不是本平台的下沉委员" in bad.output
    rows[0][9] = "居民同意分户出资加装电梯。"
    rows[1][5] = f"{future} 11:00"
    rows[2][12] = ""
    path = write(tmp_path, "e2.csv", csv_bytes(EVENT_HEADER, rows))
    good = run(runner, "events", path)
    assert good.exit_code == 0, good.output
    assert "新增 3，更新 0，未变 0" in good.output
    with app.app_context():
        held = db.session.scalar(sa.select(Event).where(Event.code == "HD-1"))
        assert held.status is EventStatus.HELD and held.held_at is not None
        assert held.resident_count == 12 and [m.code for m in held.attendees] == ["WY0001"]
        assert held.location == "二七路 100 号"  # the platform's address
        assert held.starts_at.isoformat() == "2024-03-01T06:30:00+00:00"  # 14:30 in Wuhan
        planned = db.session.scalar(sa.select(Event).where(Event.code == "HD-2"))
        assert planned.status is EventStatus.PLANNED and planned.location == "社区广场"
        # Markdown fields come with their HTML, as when typed in a form (core/prose.py).
        assert held.minutes_html == "<p>居民同意分户出资加装电梯。</p>"
        assert held.opinions_html == "<p>同意分户出资</p>" and planned.minutes_html is None
    assert "新增 0，更新 0，未变 3" in run(runner, "events", path).output
    for row in rows:
        row[0] = ""  # without codes, events are recognised by platform, topic and start
    uncoded = write(tmp_path, "e4.csv", csv_bytes(EVENT_HEADER, rows))
    assert "新增 0，更新 0，未变 3" in run(runner, "events", uncoded).output
    rows[0][9] = "居民**同意**分户出资。"
    changed = run(runner, "events", write(tmp_path, "e5.csv", csv_bytes(EVENT_HEADER, rows)))
    assert "新增 0，更新 1，未变 2" in changed.output, changed.output
    with app.app_context():
        held = db.session.scalar(sa.select(Event).where(Event.topic == "加装电梯"))
        assert held.minutes_html == "<p>居民<strong>同意</strong>分户出资。</p>"
    rows[0][8] = "计划中"
    back = run(runner, "events", write(tmp_path, "e3.csv", csv_bytes(EVENT_HEADER, rows)))
    assert "第 2 行「状态」：不能从“已举行”改为“计划中”" in back.output


# -- problems ---------------------------------------------------------------------------------

ISSUE_HEADER = ["编号", "平台编码", "标题", "描述", "类型", "类别", "来源", "状态", "承办单位",
                "办理期限", "答复", "联系电话"]


def issue_rows(due: str) -> list[list[str]]:
    return [
        ["", "420102-0001", "路灯坏了", "东门路灯不亮", "房前屋后实事", "社会建设",
         "社情民意联系点", "", "", "", "", "13900001234"],
        ["WH24-00500", "420102-0001", "停车难", "夜间车位不足", "房前屋后实事", "社会建设",
         "委员反映", "已交办", "江岸区城管局", due, "", ""],
        ["WH24-00501", "420102-0001", "加装电梯", "老旧小区", "群众急难愁盼问题", "社会建设",
         "协商议事活动", "已解决或采纳", "", "", "已加装两部电梯。", ""],
    ]


def test_problems_are_created_in_a_consistent_status_with_one_import_entry(
        app, runner, city, tmp_path):
    run(runner, "platforms", write(tmp_path, "p.csv", csv_bytes(
        PLATFORM_HEADER, [platform_row("420102-0001")])))
    due = (utcnow() + timedelta(days=20)).date().isoformat()
    rows = issue_rows(due)
    rows[1][8] = ""  # assigned without a department
    rows[2][10] = ""  # resolved without an answer
    rows[0][11] = "12345"
    bad = run(runner, "issues", write(tmp_path, "i.csv", csv_bytes(ISSUE_HEADER, rows)))
    assert bad.exit_code == 1
    assert "第 2 行「联系电话」：请填写有效的手机号（11 位）或带区号的固定电话" in bad.output
    assert "第 3 行「承办单位」：“已交办”的问题须填写承办单位" in bad.output
    assert "第 4 行「答复」：“已解决或采纳”的问题须填写答复" in bad.output
    path = write(tmp_path, "i2.csv", csv_bytes(ISSUE_HEADER, issue_rows(due)))
    good = run(runner, "issues", path)
    assert good.exit_code == 0, good.output
    assert "新增 3，更新 0，未变 0" in good.output
    with app.app_context():
        stored = {i.reference: i for i in db.session.scalars(sa.select(Issue))}
        # Given references are kept (and move their year's counter past them); a new one is
        # numbered in the year it is received.
        year = utcnow().year % 100
        received = "WH24-00502" if year == 24 else f"WH{year:02d}-00001"
        assert set(stored) == {"WH24-00500", "WH24-00501", received}
        assigned = stored["WH24-00500"]
        assert assigned.status is IssueStatus.ASSIGNED
        assert assigned.department_id == city["department"]
        assert stored["WH24-00501"].status is IssueStatus.RESOLVED
        assert stored["WH24-00501"].resolved_at is not None
        new = next(i for i in stored.values() if i.title == "路灯坏了")
        assert new.submitter_phone == "13900001234" and new.tracking_token
        updates = db.session.execute(sa.select(IssueUpdate.action, IssueUpdate.to_status)).all()
        assert sorted(u.action for u in updates) == ["import"] * 3
    # The same file again — the new row still without its number — changes nothing.
    again = run(runner, "issues", path)
    assert "新增 0，更新 0，未变 3" in again.output, again.output
    numbered = run(runner, "issues", write(tmp_path, "i3.csv", csv_bytes(ISSUE_HEADER, [
        [new.reference, *row[1:]] if row[0] == "" else row for row in issue_rows(due)])))
    assert "新增 0，更新 0，未变 3" in numbered.output, numbered.output
    twice = issue_rows(due)[:1] * 2
    doubled = run(runner, "issues", write(tmp_path, "i4.csv", csv_bytes(ISSUE_HEADER, twice)))
    assert "第 3 行「标题」：与第 2 行是同一平台、相同标题和描述的问题" in doubled.output


def test_a_status_change_takes_one_lifecycle_step(app, runner, city, tmp_path):
    run(runner, "platforms", write(tmp_path, "p.csv", csv_bytes(
        PLATFORM_HEADER, [platform_row("420102-0001")])))
    due = (utcnow() + timedelta(days=20)).date().isoformat()
    rows = issue_rows(due)
    run(runner, "issues", write(tmp_path, "i.csv", csv_bytes(ISSUE_HEADER, rows[1:])))
    rows[1][7] = "办理中"  # assigned → in progress: "start"
    rows[2][7] = "办理中"  # resolved → in progress: not one step
    jump = run(runner, "issues", write(tmp_path, "i2.csv", csv_bytes(ISSUE_HEADER, rows[1:])))
    assert "第 3 行「状态」：不能从“已解决或采纳”直接改为“办理中”（可改为：已受理）" in jump.output
    rows[2][7] = "已解决或采纳"
    rows[1][8] = "别的单位"
    other = run(runner, "issues", write(tmp_path, "i3.csv", csv_bytes(ISSUE_HEADER, rows[1:])))
    assert "第 2 行「承办单位」：找不到承办单位“别的单位”" in other.output
    rows[1][8] = "JA-CG"  # the department's code works too
    moved = run(runner, "issues", write(tmp_path, "i4.csv", csv_bytes(ISSUE_HEADER, rows[1:])))
    assert moved.exit_code == 0, moved.output
    assert "新增 0，更新 1，未变 1" in moved.output
    with app.app_context():
        issue = db.session.scalar(sa.select(Issue).where(Issue.reference == "WH24-00500"))
        assert issue.status is IssueStatus.IN_PROGRESS
        assert [u.action for u in issue.updates] == ["import", "start"]
        assert db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "issue_start"))


def test_imported_problems_are_public_at_once_and_never_wait_for_review(
        app, runner, city, tmp_path):
    run(runner, "platforms", write(tmp_path, "p.csv", csv_bytes(
        PLATFORM_HEADER, [platform_row("420102-0001")])))
    due = (utcnow() + timedelta(days=20)).date().isoformat()
    rows = issue_rows(due)
    rows[0][7] = "待受理"  # a resident's submission waiting for review: not by import
    rows[1][7] = "已答复待确认"  # a reply is confirmed in the system
    rows[2][3] = "已加装电梯，请联系王师傅 13800001234。"  # would publish a phone number
    refused = run(runner, "issues", write(tmp_path, "i.csv", csv_bytes(ISSUE_HEADER, rows)))
    assert refused.exit_code == 1
    assert "第 2 行「状态」：导入的问题由工作人员录入，导入即受理并公开，不能导入为“待受理”" \
        in refused.output
    assert "第 3 行「状态」：“已答复待确认”的答复须在系统中确认" in refused.output
    assert "第 4 行「描述」：公开内容中含有电话号码，请删除后再公开" in refused.output
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Issue.id))) == 0
    rows = issue_rows(due)
    rows[1][7] = "已签收"  # a department that acknowledged on the phone, in the old system
    done = run(runner, "issues", write(tmp_path, "i2.csv", csv_bytes(ISSUE_HEADER, rows)))
    assert done.exit_code == 0, done.output
    with app.app_context():
        stored = db.session.scalars(sa.select(Issue)).all()
        assert len(stored) == 3 and all(i.published_at is not None for i in stored)
        acknowledged = next(i for i in stored if i.reference == "WH24-00500")
        assert acknowledged.status is IssueStatus.ACKNOWLEDGED
        assert acknowledged.department_id == city["department"]
    acknowledged_row = ["", "420102-0001", "另一个问题", "描述", "房前屋后实事", "社会建设",
                        "委员反映", "已签收", "", due, "", ""]  # without its department
    missing = run(runner, "issues", write(tmp_path, "i3.csv", csv_bytes(ISSUE_HEADER,
                                                                        [acknowledged_row])))
    assert "第 2 行「承办单位」：“已签收”的问题须填写承办单位" in missing.output


def pending_problem(app: Flask, **kwargs: Any) -> str:
    """A resident's submission waiting for review on platform 420102-0001; its reference."""
    with app.test_request_context():
        platform = db.session.scalar(sa.select(Platform).where(Platform.code == "420102-0001"))
        issue = factories.issue(platform_id=platform.id, source="resident", needs_review=True,
                                title="楼道灯坏了", description="我是张女士，电话13900001234。",
                                **kwargs)
        db.session.commit()
        return issue.reference


def test_a_submission_waiting_for_review_is_not_accepted_by_import(app, runner, city,
                                                                    tmp_path):
    run(runner, "platforms", write(tmp_path, "p.csv", csv_bytes(
        PLATFORM_HEADER, [platform_row("420102-0001")])))
    reference = pending_problem(app)
    row = [reference, "420102-0001", "楼道灯坏了", "我是张女士，电话13900001234。", "房前屋后实事",
           "社会建设", "居民提交", "待受理", "", "", "", ""]
    same = run(runner, "issues", write(tmp_path, "i.csv", csv_bytes(ISSUE_HEADER, [row])))
    assert "新增 0，更新 0，未变 1" in same.output, same.output
    row[7] = "已受理"
    accept = run(runner, "issues", write(tmp_path, "i2.csv", csv_bytes(ISSUE_HEADER, [row])))
    assert accept.exit_code == 1
    assert "第 2 行「状态」：居民提交的问题须在问题页面受理" in accept.output
    row[7], row[10] = "不予受理", "不属于受理范围。"  # refusing it is fine: never published
    rejected = run(runner, "issues", write(tmp_path, "i3.csv", csv_bytes(ISSUE_HEADER, [row])))
    assert rejected.exit_code == 0, rejected.output
    with app.app_context():
        issue = db.session.scalar(sa.select(Issue).where(Issue.reference == reference))
        assert issue.status is IssueStatus.REJECTED and issue.published_at is None
        assert issue.updates[-1].action == "reject"


def test_a_reply_is_confirmed_by_import_and_public_text_stays_clean(app, runner, city,
                                                                     tmp_path):
    run(runner, "platforms", write(tmp_path, "p.csv", csv_bytes(
        PLATFORM_HEADER, [platform_row("420102-0001")])))
    due = (utcnow() + timedelta(days=20)).date().isoformat()
    run(runner, "issues", write(tmp_path, "i.csv", csv_bytes(ISSUE_HEADER, issue_rows(due)[1:2])))
    with app.test_request_context():
        issue = db.session.scalar(sa.select(Issue).where(Issue.reference == "WH24-00500"))
        change_status(issue, "reply", actor_id=None, reply="已在夜间增设临时停车位。",
                      proposed_status="resolved")
        db.session.commit()
    row = issue_rows(due)[1]
    row[7] = "已答复待确认"
    assert "未变 1" in run(runner, "issues", write(tmp_path, "i2.csv", csv_bytes(
        ISSUE_HEADER, [row]))).output
    row[2] = "停车难，联系电话 027-82345678"  # a published title: checked like publishing
    phone = run(runner, "issues", write(tmp_path, "i3.csv", csv_bytes(ISSUE_HEADER, [row])))
    assert "第 2 行「标题」：公开内容中含有电话号码" in phone.output
    row[2], row[7] = "停车难", "列入计划正在解决"  # not what the department proposed
    other = run(runner, "issues", write(tmp_path, "i4.csv", csv_bytes(ISSUE_HEADER, [row])))
    assert "不能从“已答复待确认”直接改为“列入计划正在解决”（可改为：已交办、已解决或采纳）" \
        in other.output
    row[7] = "已解决或采纳"
    confirmed = run(runner, "issues", write(tmp_path, "i5.csv", csv_bytes(ISSUE_HEADER, [row])))
    assert confirmed.exit_code == 0, confirmed.output
    with app.app_context():
        issue = db.session.scalar(sa.select(Issue).where(Issue.reference == "WH24-00500"))
        assert issue.status is IssueStatus.RESOLVED
        assert issue.resolution == "已在夜间增设临时停车位。"  # the reply, now public
        assert db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "issue_confirm"))


def test_export_of_platforms_imports_back_unchanged(app, client, auth, make, runner, city,
                                                     tmp_path):
    run(runner, "platforms", write(tmp_path, "p.csv", csv_bytes(PLATFORM_HEADER, [
        platform_row("420102-0001", 示范点="是", 示范年份="2024"),
        platform_row("420102-0002", 社区="", 纬度="", 经度="")])))
    make("user", role="admin", username="city")
    auth.login("city")
    exported = client.get("/manage/export/platforms.xlsx")
    assert exported.status_code == 200
    again = run(runner, "platforms", write(tmp_path, "back.xlsx", exported.data))
    assert again.exit_code == 0, again.output
    assert "新增 0，更新 0，未变 2" in again.output


def test_docs_describe_every_import_column():
    from consult_hub.config import PROJECT_ROOT
    from consult_hub.exchange.importers import IMPORTERS

    docs = (PROJECT_ROOT / "docs" / "import.md").read_text(encoding="utf-8")
    for importer in IMPORTERS.values():
        for column in importer.columns:
            assert f"| {column.header} |" in docs, f"{importer.kind}: {column.header}"


# -- bounded imports (issue 12, item 7) -------------------------------------------------------


def raw_xlsx(rows: int, *, dimension: str | None = None, extra: dict[str, bytes] | None = None,
             far_cell: str | None = None) -> bytes:
    """A minimal XLSX written as XML by hand: 200,000 rows take under a second to build.

    ``dimension`` forges the sheet's size claim; ``far_cell`` puts a value in that column of
    row 3; ``extra`` adds parts to the archive (a zip bomb's padding).
    """
    import zipfile

    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    pkg = "http://schemas.openxmlformats.org/package/2006/relationships"
    kinds = "application/vnd.openxmlformats-officedocument.spreadsheetml"

    def row(number: int, values: list[str]) -> str:
        cells = "".join(f'<c r="{chr(65 + i)}{number}" t="inlineStr"><is><t>{v}</t></is></c>'
                        for i, v in enumerate(values))
        if far_cell and number == 3:
            cells += f'<c r="{far_cell}3" t="inlineStr"><is><t>备注</t></is></c>'
        return f'<row r="{number}">{cells}</row>'

    parts = [f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{main}">']
    if dimension:
        parts.append(f'<dimension ref="{dimension}"/>')
    parts.append("<sheetData>")
    parts.append(row(1, ["编码", "名称", "类型", "区"]))
    parts.extend(row(n + 2, [f"420102-{n:06d}", f"议事室{n}", "协商议事室", "江岸区"])
                 for n in range(rows))
    parts.append("</sheetData></worksheet>")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", (
            '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
            'package/2006/content-types"><Default Extension="rels" ContentType="application/'
            'vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" '
            'ContentType="application/xml"/><Override PartName="/xl/workbook.xml" '
            f'ContentType="{kinds}.sheet.main+xml"/><Override PartName="/xl/worksheets/'
            f'sheet1.xml" ContentType="{kinds}.worksheet+xml"/></Types>'))
        archive.writestr("_rels/.rels", (
            f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{pkg}"><Relationship '
            f'Id="rId1" Type="{rel}/officeDocument" Target="xl/workbook.xml"/></Relationships>'))
        archive.writestr("xl/workbook.xml", (
            f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{main}" xmlns:r="{rel}">'
            '<sheets><sheet name="平台" sheetId="1" r:id="rId1"/></sheets></workbook>'))
        archive.writestr("xl/_rels/workbook.xml.rels", (
            f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{pkg}"><Relationship '
            f'Id="rId1" Type="{rel}/worksheet" Target="worksheets/sheet1.xml"/></Relationships>'))
        archive.writestr("xl/worksheets/sheet1.xml", "".join(parts))
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return out.getvalue()


def test_a_file_past_the_row_limit_is_refused_whole_naming_the_limit(
        app, runner, client, auth, make, city, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "IMPORT_MAX_ROWS", 3)
    rows = [platform_row(f"420102-000{n}") for n in range(1, 5)]
    result = run(runner, "platforms", write(tmp_path, "p.csv", csv_bytes(PLATFORM_HEADER, rows)))
    assert result.exit_code == 1
    assert "文件超过 3 行数据；一次最多导入 3 行" in result.output
    assert platforms(app) == []
    make("user", role="admin", username="city")
    auth.login("city")
    answer = upload(client, xlsx_bytes(PLATFORM_HEADER, rows), "p.xlsx")
    assert answer.status_code == 413
    assert "文件超过 3 行数据；一次最多导入 3 行，请分成几个文件导入" in answer.text
    assert "没有导入任何数据" in answer.text
    assert platforms(app) == []
    # Blank lines do not count; three rows are welcome.
    fitting = rows[:3] + [[""] * len(PLATFORM_HEADER)] * 5
    done = upload(client, xlsx_bytes(PLATFORM_HEADER, fitting), "p.xlsx")
    assert done.status_code == 303
    assert len(platforms(app)) == 3


# An upload over 500 KB is spooled to a temporary file that the test client's request
# leaves to the garbage collector (already so before this test): collected here, not blamed
# on a later test.
@pytest.mark.filterwarnings("ignore::ResourceWarning",
                            "ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_200000_row_sheet_is_refused_after_the_first_20000(
        app, client, auth, make, city):
    """The issue's sheet: it used to be read whole and take a worker past its timeout.

    Its size claim is forged as well (every column, every row): read as claimed, each row
    would be padded to 16,384 cells. Refused in about 0.6 s here (not asserted: see the
    README's figures); the refusal reads 20,001 rows and stops.
    """
    assert app.config["IMPORT_MAX_ROWS"] == 20_000
    make("user", role="admin", username="city")
    auth.login("city")
    answer = upload(client, raw_xlsx(200_000, dimension="A1:XFD1048576"), "平台.xlsx")
    assert answer.status_code == 413
    assert "文件超过 20,000 行数据；一次最多导入 20,000 行" in answer.text
    assert platforms(app) == []
    del answer
    gc.collect()


def test_an_xlsx_that_unpacks_to_far_more_than_its_rows_need_is_refused_unread(
        app, client, auth, make, city, monkeypatch):
    """A zip bomb: 40 MiB of padding packs into 40 KiB; it is refused before it is inflated."""
    monkeypatch.setitem(app.config, "IMPORT_MAX_ROWS", 10)
    bomb = raw_xlsx(2, extra={"xl/sharedStrings.xml": b" " * (40 * 1024 * 1024)})
    assert len(bomb) < 100_000
    make("user", role="admin", username="city")
    auth.login("city")
    answer = upload(client, bomb, "p.xlsx")
    assert answer.status_code == 413
    assert "解压后过大" in answer.text and "一次最多导入 10 行" in answer.text


def test_content_far_to_the_right_is_named_not_padded(app, runner, city, tmp_path):
    """A value in column XFD (16,384) used to make every row a 16,384-cell list."""
    result = run(runner, "platforms", write(tmp_path, "p.xlsx", raw_xlsx(3, far_cell="XFD")))
    assert result.exit_code == 1
    assert "第 3 行在第 200 列以后还有内容" in result.output
    from consult_hub.core.sheets import read_sheet

    near = read_sheet("q.xlsx", raw_xlsx(3, far_cell="F"))
    assert near.rows[1] == (3, ["420102-000001", "议事室1", "协商议事室", "江岸区", "", "备注"])
