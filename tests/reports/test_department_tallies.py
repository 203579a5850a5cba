"""Per-department figures (docs/metrics.md § Departments): counted from the timeline, frozen with
the month, shown on staff reports and in the API."""

from __future__ import annotations

import csv
import io
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, date, datetime

import jsonschema_rs
import pytest
import sqlalchemy as sa

from consult_hub.api import openapi
from consult_hub.areas.models import Area
from consult_hub.audit.models import AuditLog
from consult_hub.extensions import db
from consult_hub.issues.models import Issue
from consult_hub.issues.operations import change_status, rate_issue
from consult_hub.tallies import compute, departments, queries
from consult_hub.tallies.models import MonthlyTally, TallyScope
from consult_hub.tallies.queries import ReportScope
from tests.support import factories
from tests.support.auth import signed_in

MARCH = date(2025, 3, 1)


def at(month: int, day: int, hour: int = 2, minute: int = 0) -> datetime:
    """A moment of 2025 in UTC (Wuhan is 8 hours ahead: 02:00 UTC is 10:00 there)."""
    return datetime(2025, month, day, hour, minute, tzinfo=UTC)


@dataclass
class March:
    district: int
    district_code: str
    own: int  # 江岸区住建局: answers quickly, once late
    returning: int  # 江岸区水务局: sends a problem back as not theirs
    city: int  # 市供电公司: holds an overdue problem at the month's end
    returned_issue: int


def _act(issue: Issue, action: str, when: datetime, **values) -> None:
    change_status(issue, action, actor_id=None, now=when, **values)


@pytest.fixture()
def march(app) -> March:
    """Problems handled in March 2025, each step at a known moment."""
    with app.app_context():
        district = factories.district(name="江岸区")
        other = factories.district(name="汉阳区")
        platform = factories.platform(district_id=district.id)
        own = factories.department(district_id=district.id, name="江岸区住建局")
        returning = factories.department(district_id=district.id, name="江岸区水务局")
        city = factories.department(name="市供电公司")
        factories.department(district_id=other.id, name="汉阳区住建局")
        factories.user("admin", username="dt_city")
        factories.user("district_admin", district_id=district.id, username="dt_district")
        factories.user("district_admin", district_id=other.id, username="dt_other")

        # Quick: assigned Monday 3 March, acknowledged Wednesday (the 2nd working day after),
        # answered on Friday before its due date, confirmed, rated satisfied.
        quick = factories.issue(platform_id=platform.id, title="楼道灯坏", now=at(3, 3, 1))
        _act(quick, "assign", at(3, 3), department=own, due_on=date(2025, 3, 10))
        _act(quick, "acknowledge", at(3, 5, 3))
        _act(quick, "reply", at(3, 7), reply="已更换。", proposed_status="resolved")
        _act(quick, "confirm", at(3, 8))
        rate_issue(quick, "satisfied", None, now=at(3, 10))

        # Late: assigned Friday 14 March, acknowledged Wednesday 19th (the deadline was
        # Tuesday 18th); an extension to the 25th approved; answered on the 26th, sent back
        # for rework, answered again on the 28th: still waiting for confirmation at the end.
        late = factories.issue(platform_id=platform.id, title="小区积水", now=at(3, 13))
        _act(late, "assign", at(3, 14), department=own, due_on=date(2025, 3, 20))
        _act(late, "acknowledge", at(3, 19))
        _act(late, "request_extension", at(3, 19, 5), requested_due_on=date(2025, 3, 25),
             reason="需要协调施工单位。")
        _act(late, "approve_extension", at(3, 20))
        _act(late, "reply", at(3, 26), reply="已疏通。", proposed_status="resolved")
        _act(late, "rework", at(3, 27), reason="居民反映仍有积水。")
        _act(late, "reply", at(3, 28), reply="已重新铺设管道。", proposed_status="resolved")

        # Returned: the water office sends it back; staff assign it to the city's power
        # company, which has done nothing by the end of the month (due the 12th: overdue).
        returned = factories.issue(platform_id=platform.id, title="电线私拉", now=at(3, 3))
        _act(returned, "assign", at(3, 4), department=returning, due_on=date(2025, 3, 14))
        _act(returned, "return", at(3, 5), reason="不属于本单位职责。")
        _act(returned, "assign", at(3, 6), department=city, due_on=date(2025, 3, 12))

        # From February: assigned on 25 February, answered on 3 March (counted in March).
        earlier = factories.issue(platform_id=platform.id, title="路灯不亮", now=at(2, 24))
        _act(earlier, "assign", at(2, 25), department=own, due_on=date(2025, 3, 5))
        _act(earlier, "reply", at(3, 3), reply="已修复。", proposed_status="resolved")

        # Assigned at 01:00 on 1 April, Wuhan time (still 31 March in UTC): April's.
        april = factories.issue(platform_id=platform.id, title="井盖缺失", now=at(3, 31, 1))
        _act(april, "assign", at(3, 31, 17), department=own, due_on=date(2025, 4, 10))
        db.session.commit()
        return March(district.id, district.code, own.id, returning.id, city.id, returned.id)


ZERO = departments.finish({}, 0.0)


def expected(**figures) -> dict:
    return departments.finish(figures, figures.pop("reply_days_total", 0.0))


def test_department_figures_follow_the_definitions(app, march):
    with app.app_context():
        figures = departments.compute_departments(MARCH)
    assert figures[march.own] == expected(
        assigned=2, acknowledged_in_time=1, replied=4, replied_on_time=2, confirmed=1,
        reworked=1, extensions_requested=1, extensions_approved=1, rated=1,
        rated_satisfied=1, open_end=2, overdue_end=0,  # two replies await confirmation
        reply_days_total=4.0 + 12.0 + 14.0 + 6.0)
    assert figures[march.own]["average_days_to_reply"] == 9.0
    assert figures[march.own]["acknowledged_share"] == 0.5
    assert figures[march.own]["on_time_share"] == 0.5
    assert figures[march.own]["satisfaction_share"] == 1.0
    # The return is counted for the department that was assigned the problem at the time,
    # though the problem now belongs to another.
    assert figures[march.returning] == expected(assigned=1)
    assert figures[march.city] == expected(assigned=1, open_end=1, overdue_end=1)
    assert set(figures) == {march.own, march.returning, march.city}


def test_the_end_of_the_month_is_wuhan_time(app, march):
    with app.app_context():
        april = departments.compute_departments(date(2025, 4, 1))
    assert april[march.own]["assigned"] == 1  # 01:00 on 1 April in Wuhan
    assert april[march.own]["open_end"] == 3  # two replies waiting, the April assignment
    assert april[march.city]["overdue_end"] == 1


def test_a_problem_sent_back_counts_its_return_for_one_department_and_the_rest_for_the_next(app):
    """Water acknowledges at once, asks for more time, then sends the problem back as not
    theirs; staff assign it to housing, which acknowledges late, answers by its own due date
    (not water's, which had passed) and is confirmed and rated. Each keeps its own part."""
    with app.app_context():
        district = factories.district(name="江岸区")
        platform = factories.platform(district_id=district.id)
        water = factories.department(district_id=district.id, name="江岸区水务局")
        housing = factories.department(district_id=district.id, name="江岸区住建局")
        issue = factories.issue(platform_id=platform.id, title="外墙脱落", now=at(7, 7, 0))
        _act(issue, "assign", at(7, 7), department=water, due_on=date(2025, 7, 18))  # Monday
        _act(issue, "acknowledge", at(7, 8))
        _act(issue, "request_extension", at(7, 9), requested_due_on=date(2025, 7, 25),
             reason="需要现场勘查。")
        _act(issue, "return", at(7, 10), reason="外墙维修不属于本单位职责。")
        _act(issue, "assign", at(7, 11), department=housing, due_on=date(2025, 7, 21))  # Friday
        _act(issue, "acknowledge", at(7, 16))  # Wednesday: the deadline was Tuesday the 15th
        _act(issue, "reply", at(7, 21), reply="已修复外墙。", proposed_status="resolved")
        _act(issue, "confirm", at(7, 22))
        rate_issue(issue, "basically", None, now=at(7, 23))
        db.session.commit()
        figures = departments.compute_departments(date(2025, 7, 1))
        water_id, housing_id = water.id, housing.id
        assert issue.department_id == housing_id  # the problem itself knows only the last
    assert figures[water_id] == expected(assigned=1, acknowledged_in_time=1,
                                         extensions_requested=1)
    assert figures[housing_id] == expected(
        assigned=1, replied=1, replied_on_time=1, confirmed=1, rated=1, rated_basically=1,
        reply_days_total=10.0)  # from housing's assignment on the 11th, not water's on the 7th


def test_the_figures_do_not_depend_on_the_audit_log(app, march):
    """The timeline records each entry's department and due date: the audit trail (which
    may be pruned, and which imported or generated history lacks) is not needed."""
    with app.app_context():
        before = {month: departments.compute_departments(month)
                  for month in (date(2025, 2, 1), MARCH, date(2025, 4, 1))}
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditLog)) > 0
        db.session.execute(sa.delete(AuditLog))
        db.session.commit()
        after = {month: departments.compute_departments(month) for month in before}
    assert after == before
    assert after[MARCH][march.returning] == expected(assigned=1)


def test_freezing_stores_a_row_per_department_idempotently(app, march):
    with app.app_context():
        computed = departments.compute_departments(MARCH)
        compute.freeze_month(MARCH)
        compute.freeze_month(MARCH)
        rows = db.session.scalars(sa.select(MonthlyTally).where(
            MonthlyTally.month == MARCH, MonthlyTally.scope == TallyScope.DEPARTMENT)).all()
        assert sorted(r.scope_key for r in rows) == sorted(
            f"department:{i}" for i in (march.own, march.returning, march.city))
        by_id = {r.department_id: r for r in rows}
        assert by_id[march.own].area_id == march.district and by_id[march.city].area_id is None
        for department_id, row in by_id.items():  # read back as every reader reads it
            assert queries._stored_department(row.metrics) == computed[department_id]
        # Records change and the month is frozen again: a department with nothing left to
        # count loses its row.
        db.session.delete(db.session.get(Issue, march.returned_issue))
        db.session.commit()
        compute.freeze_month(MARCH)
        keys = set(db.session.scalars(sa.select(MonthlyTally.scope_key).where(
            MonthlyTally.month == MARCH, MonthlyTally.scope == TallyScope.DEPARTMENT)))
        assert keys == {f"department:{march.own}"}


def test_catching_up_freezes_the_departments_too(app, march):
    with app.app_context():
        done = compute.catch_up(at(5, 2))
        assert MARCH in done and date(2025, 4, 1) in done
        months = set(db.session.scalars(sa.select(MonthlyTally.month).where(
            MonthlyTally.department_id == march.own)))
        assert {date(2025, 2, 1), MARCH, date(2025, 4, 1)} <= months


# --- reports ----------------------------------------------------------------------------------


def _table(page_text: str) -> str:
    start = page_text.index('id="h-departments"')
    return page_text[start:page_text.index("</section>", start)]


def test_staff_month_report_shows_each_department(app, march):
    with app.app_context():
        compute.freeze_month(MARCH)
    city = signed_in(app, "dt_city").get("/manage/reports/2025-03")
    assert city.status_code == 200
    table = _table(city.text)
    for name in ("江岸区住建局", "江岸区水务局", "市供电公司"):
        assert name in table
    assert "市直单位" in table and "汉阳区住建局" not in table  # nothing to count there
    assert 'href="#defs-departments"' in table and "2 个工作日内" in table  # definitions
    district = signed_in(app, "dt_district").get("/manage/reports/2025-03")
    table = _table(district.text)
    assert "江岸区住建局" in table and "市供电公司" not in table  # its own departments
    public = app.test_client().get("/reports/2025/03")
    assert public.status_code == 200 and "各承办单位办理情况" not in public.text


def test_the_department_table_downloads_like_the_others(app, march):
    client = signed_in(app, "dt_district")
    download = client.get("/manage/reports/2025-03/download.csv?table=departments")
    assert download.status_code == 200
    rows = list(csv.reader(io.StringIO(download.data.decode("utf-8-sig"))))
    header, body = rows[0], {row[0]: row for row in rows[1:]}
    own = dict(zip(header, body["江岸区住建局"], strict=True))
    assert own["交办（件）"] == "2" and own["按时签收率"] == "50.0%"
    assert own["按期答复（件）"] == "2" and own["平均答复用时（天）"] == "9.0"
    assert own["月末在办（件）"] == "2" and own["月末逾期（件）"] == "0"
    workbook = client.get("/manage/reports/2025-03/download.xlsx")
    assert workbook.status_code == 200


def test_the_year_adds_the_months_up(app, march):
    with app.app_context():
        district = db.session.get(Area, march.district)
        report = queries.load_year(2025, ReportScope(district), at(12, 31, 12),
                                   with_departments=True)
        own = {d.id: m for d, m in report.departments}[march.own]
    assert own["assigned"] == 4 and own["replied"] == 4  # February's, March's, April's
    assert own["open_end"] == 3  # December's: two replies awaiting confirmation, April's
    page = signed_in(app, "dt_district").get("/manage/reports/year/2025")
    assert page.status_code == 200 and "年末在办" in _table(page.text)


# --- the API ----------------------------------------------------------------------------------


def _validator():
    document = openapi.document()
    return jsonschema_rs.validator_for({
        "$ref": "#/components/schemas/DepartmentTally",
        "components": document["components"]})


def test_api_returns_a_departments_month_as_documented(app, client, march):
    live = client.get(f"/api/v1/tallies/2025-03/departments/{march.own}")
    assert live.status_code == 200
    _validator().validate(live.json)
    assert live.json["is_live"] is True and live.json["metrics"]["assigned"] == 2
    assert live.json["department"]["name"] == "江岸区住建局"
    with app.app_context():
        compute.freeze_month(MARCH)
    frozen = client.get(f"/api/v1/tallies/2025-03/departments/{march.city}").json
    _validator().validate(frozen)
    assert frozen["is_live"] is False and frozen["metrics"]["overdue_end"] == 1
    quiet = client.get(f"/api/v1/tallies/2025-01/departments/{march.city}").json
    assert quiet["metrics"] == ZERO
    assert client.get("/api/v1/tallies/2025-03/departments/999999").status_code == 404
    paths = openapi.document()["paths"]
    assert "/tallies/{month}/departments/{department_id}" in paths


# --- reading a year fast (issue 18) -----------------------------------------------------------


def _by_id(report) -> dict:
    return {department.id: figures for department, figures in report.departments}


def test_a_years_frozen_months_are_added_up_once_until_one_is_frozen_again(app, march):
    now = at(12, 31, 12)  # December is counted live
    with app.app_context():
        for month in range(1, 12):
            compute.freeze_month(date(2025, month, 1), now=at(12, 2))
        report = queries.load_year(2025, ReportScope(), now, with_departments=True)
        months = [queries.load_month(date(2025, month, 1), ReportScope(), now,
                                     with_departments=True) for month in range(1, 13)]
        by_month = [_by_id(month) for month in months]
        ids = sorted({i for figures in by_month for i in figures})
        assert _by_id(report) == {i: departments.sum_months([m.get(i, {}) for m in by_month])
                                  for i in ids}
        districts = {area.id: figures for area, figures in report.districts}
        for area, _figures in months[0].districts:
            assert districts[area.id] == queries.year_totals(
                [dict((a.id, f) for a, f in month.districts)[area.id] for month in months])
        assert len(app.extensions[compute.FINAL_PARTS]) == 1  # January to November, kept
        assert _by_id(queries.load_year(2025, ReportScope(), now,
                                        with_departments=True)) == _by_id(report)
        assert len(app.extensions[compute.FINAL_PARTS]) == 1

        # Another process freezes March again after a new assignment: the freeze time in
        # the key retires this process's sums although it never saw the freeze.
        kept = list(app.extensions[compute.FINAL_PARTS].items())
        platform_id = db.session.scalar(sa.select(Issue.platform_id).limit(1))
        extra = factories.issue(platform_id=platform_id, title="树枝挡路", now=at(3, 20))
        _act(extra, "assign", at(3, 21),
             department=db.session.get(departments.Department, march.own),
             due_on=date(2025, 3, 31))
        compute.freeze_month(MARCH, now=at(12, 3))
        app.extensions[compute.FINAL_PARTS] = OrderedDict(kept)
        again = _by_id(queries.load_year(2025, ReportScope(), now, with_departments=True))
    assert again[march.own]["assigned"] == _by_id(report)[march.own]["assigned"] + 1


def test_a_complete_years_districts_are_its_months_added_up_on_every_read(app, march):
    """A past year, every month frozen: each district's and department's year is worked out
    from the kept part once, and every later read gives the same figures as adding up its
    months."""
    now = datetime(2026, 1, 3, 2, tzinfo=UTC)
    with app.app_context():
        for month in range(1, 13):
            compute.freeze_month(date(2025, month, 1), now=datetime(2026, 1, 2, tzinfo=UTC))
        months = [queries.load_month(date(2025, month, 1), ReportScope(), now,
                                     with_departments=True) for month in range(1, 13)]
        expected = {area.id: queries.year_totals(
            [dict((a.id, f) for a, f in month.districts)[area.id] for month in months])
            for area, _figures in months[0].districts}
        assert any(figures["issues_raised"] for figures in expected.values())
        by_month = [_by_id(month) for month in months]
        handled = {i: departments.sum_months([m.get(i, {}) for m in by_month])
                   for i in sorted({i for figures in by_month for i in figures})}
        assert any(figures["assigned"] for figures in handled.values())
        for _read in range(2):  # the second from the years kept with the part
            report = queries.load_year(2025, ReportScope(), now, with_departments=True)
            assert report.is_complete
            assert {area.id: figures for area, figures in report.districts} == expected
            assert _by_id(report) == handled
        assert len(app.extensions[compute.FINAL_PARTS]) == 1


def test_report_tables_escape_names(app, march):
    with app.app_context():
        db.session.get(departments.Department, march.own).name = "<b>住建&局</b>"
        db.session.get(Area, march.district).name = "江岸<i>区"
        db.session.commit()
    page = signed_in(app, "dt_city").get("/manage/reports/2025-03").text
    table = _table(page)
    assert "&lt;b&gt;住建&amp;局&lt;/b&gt;" in table and "<b>住建" not in page
    assert "江岸&lt;i&gt;区" in table and "<i>区" not in page


def test_the_schedulers_count_of_the_current_month_is_read_until_it_counts_again(app, march):
    with app.app_context():
        for month in range(1, 12):
            compute.freeze_month(date(2025, month, 1), now=at(12, 2))
        compute.refresh_current_month(at(12, 10, 2, 0))  # the current_tally job
        before = _by_id(queries.load_year(2025, ReportScope(), at(12, 10, 2, 5),
                                          with_departments=True))
        platform_id = db.session.scalar(sa.select(Issue.platform_id).limit(1))
        extra = factories.issue(platform_id=platform_id, title="垃圾满溢", now=at(12, 10, 2, 6))
        _act(extra, "assign", at(12, 10, 2, 7),
             department=db.session.get(departments.Department, march.own),
             due_on=date(2025, 12, 20))
        # Not counted again yet: the page reads the job's count (a few minutes old).
        assert _by_id(queries.load_year(2025, ReportScope(), at(12, 10, 2, 8),
                                        with_departments=True)) == before
        compute.refresh_current_month(at(12, 10, 2, 9))
        after = _by_id(queries.load_year(2025, ReportScope(), at(12, 10, 2, 10),
                                         with_departments=True))
    assert after[march.own]["assigned"] == before[march.own]["assigned"] + 1
