"""Opinion reports and proposals on the report pages and in every download: the sentences,
tables and charts, CSV/XLSX, the JSON API, the open-data archive and the Word document."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
import zipfile
from datetime import date
from pathlib import Path

import docx
import pytest
from flask import Flask
from openpyxl import load_workbook

from consult_hub.core.db import utcnow
from consult_hub.exchange.open_data import archive_path, build_open_data
from consult_hub.extensions import db
from consult_hub.tallies import compute
from consult_hub.tallies.chart_png import render_png
from consult_hub.tallies.tables import cppcc_year_tables
from tests.reports import cppcc_records as rec
from tests.support import factories
from tests.support.reports import City, build_city, csv_rows, page_tables

OPINION_SENTENCE = ("2024年，全市报送社情民意信息4篇，全年报送涉及民生实事的社情民意信息3条，"
                    "占全年报送信息总数的75%。")
PROPOSAL_OPENING = ("2024年，共提出提案4件，经审查立案3件，其中委员个人或联名提案2件，占66.7%；"
                    "集体提案1件，占33.3%。")


@pytest.fixture()
def city(app: Flask) -> City:
    """The report tests' small city, with reports and proposals of 2024 in March and May."""
    built = build_city(app)
    with app.app_context():
        from consult_hub.areas.models import Area

        district = db.session.query(Area).filter_by(code=built.district_code).one()
        member = factories.member(district_id=district.id)
        for day in (3, 4, 5):
            rec.report(district_id=district.id, livelihood=True, submitted=rec.at(2024, 3, day))
        rec.report(submitted=rec.at(2024, 5, 6), category="ecology", source="member")
        rec.proposal("closed", member=member, outcome="resolved", category="economy",
                     submitted=rec.at(2024, 1, 20), reviewed=rec.at(2024, 3, 1),
                     replied=rec.at(2024, 5, 2), rating="satisfied", is_key=True)
        rec.proposal("replied", member=member, kind="joint", outcome="planned",
                     category="society", submitted=rec.at(2024, 1, 20),
                     reviewed=rec.at(2024, 3, 1), replied=rec.at(2024, 5, 3))
        rec.proposal("replied", kind="collective", outcome="constrained", category="society",
                     submitted=rec.at(2024, 1, 20), reviewed=rec.at(2024, 3, 1),
                     replied=rec.at(2024, 5, 4))
        rec.proposal("not_accepted", member=member, submitted=rec.at(2024, 1, 20),
                     reviewed=rec.at(2024, 3, 2))
        db.session.commit()
    return built


def freeze_2024(app: Flask) -> None:
    with app.app_context():
        for month in range(1, 13):
            compute.freeze_month(date(2024, month, 1))


def test_the_year_page_prints_the_sentences_tables_and_charts(app, client, city):
    freeze_2024(app)
    page = client.get("/reports/2024")
    assert page.status_code == 200
    text = page.text
    assert OPINION_SENTENCE in text
    assert PROPOSAL_OPENING in text
    assert ("立案提案已全部办复，其中已解决或采纳的1件，占33.3%；列入计划正在解决的1件，占33.3%；"
            "因条件所限一时难以解决的1件，占33.3%。") in text
    assert "经济建设方面1件，政治建设方面0件，文化建设方面0件，社会建设方面2件" in text
    tables = page_tables(text)
    review = {row[0]: row[1:] for row in tables["proposal_review"][1:]}
    assert review["提出提案"] == ["4", "—"] and review["立案"] == ["3", "100.0%"]
    assert review["其中：委员个人或联名提案"] == ["2", "66.7%"]
    assert review["不予立案"] == ["1", "—"] and review["重点提案"] == ["1", "33.3%"]
    monthly = {row[0]: row[1:] for row in tables["opinions_monthly"][1:]}
    assert monthly["3月"][1:4] == ["3", "3", "100.0%"] and monthly["全年"][1] == "4"
    assert tables["proposal_outcomes"][-1] == ["已办复", "3", "100.0%"]
    assert 'id="chart-proposal_outcomes-title"' in text  # drawn beside its table
    # A district's page: its reports and its members' proposals only.
    district = client.get(f"/reports/2024?district={city.district_code}").text
    assert ("2024年，全区报送社情民意信息3篇，全年报送涉及民生实事的社情民意信息3条，"
            "占全年报送信息总数的100%。") in district
    assert "共提出提案3件，经审查立案2件，其中委员个人或联名提案2件，占100.0%" in district
    # Another district has none: no sentence, no paragraph.
    other = client.get(f"/reports/2024?district={city.other_code}").text
    assert "全区报送社情民意信息" not in other
    assert "提案办理回顾</h3>" not in other


def test_the_month_page_lists_the_months_figures(client, city):
    page = client.get("/reports/2024/03")
    assert "报送社情民意信息3篇，其中涉及民生实事3篇；立案提案3件，办复提案0件。" in page.text
    figures = {row[0]: row[1] for row in page_tables(page.text)["cppcc"][1:]}
    assert figures["报送社情民意信息"] == "3" and figures["立案"] == "3"
    assert figures["委员个人或联名提案"] == "2" and figures["不予立案"] == "1"
    assert figures["民生实事占比"] == "100.0%"
    may = page_tables(client.get("/reports/2024/05").text)["proposal_splits"]
    assert ["已解决或采纳", "1", "33.3%"] in may


def test_csv_and_xlsx_carry_the_figures(app, client, city):
    freeze_2024(app)
    rows = csv_rows(client.get("/reports/2024/download.csv?table=proposal_review").data)
    assert rows[0] == ["项目", "提案（件）", "占立案提案"]
    assert ["其中：集体提案", "1", "33.3%"] in rows
    book = load_workbook(io.BytesIO(client.get("/reports/2024/download.xlsx").data))
    for title in ("各月社情民意信息", "提案办理回顾", "立案提案办复结果", "立案提案按类别",
                  "各月提案办理", "报送的社情民意信息按类别"):
        assert title in book.sheetnames
    sheet = book["提案办理回顾"]
    values = {row[0]: row[1:] for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert values["立案"] == (3, 1.0) and sheet["C3"].number_format == "0.0%"
    month = load_workbook(io.BytesIO(client.get("/reports/2024/03/download.xlsx").data))
    figures = {row[0]: row[1] for row in month["社情民意信息和提案"].iter_rows(
        min_row=2, values_only=True)}
    assert figures["报送社情民意信息"] == 3 and figures["民生实事占比"] == 1.0


def test_the_api_carries_the_monthly_figures_and_the_year(client, city):
    month = client.get("/api/v1/tallies/2024-03").get_json()
    assert month["metrics"]["opinions_submitted"] == 3
    assert month["metrics"]["proposals_accepted_collective"] == 1
    district = next(d for d in month["districts"] if d["district"]["code"] == city.district_code)
    assert district["metrics"]["proposals_accepted"] == 2
    year = client.get("/api/v1/tallies/years/2024").get_json()
    assert year["scope"] == "city" and year["district"] is None
    assert year["opinions"]["opinions_submitted"] == 4
    assert year["opinions"]["rounded"] == {"submitted": "4", "livelihood": "3",
                                           "livelihood_share": "75%"}
    proposals = year["proposals"]
    assert (proposals["submitted"], proposals["accepted"], proposals["replied"]) == (4, 3, 3)
    assert proposals["outcome"] == {"resolved": 1, "planned": 1, "constrained": 1}
    assert proposals["shares"]["accepted_member"] == 0.6667
    assert year["sentences"]["opinions"] == OPINION_SENTENCE
    assert year["sentences"]["proposals"][0] == PROPOSAL_OPENING
    one = client.get(f"/api/v1/tallies/years/2024/districts/{city.district_code}").get_json()
    assert one["scope"] == "district" and one["proposals"]["accepted"] == 2
    assert client.get("/api/v1/tallies/years/1999").status_code == 404
    assert client.get("/api/v1/tallies/years/2024/districts/nope").status_code == 404
    schema = client.get("/api/v1/openapi.json").get_json()
    assert "/tallies/years/{year}" in schema["paths"]


def test_the_open_data_archive_carries_the_figures(app, city):
    freeze_2024(app)
    with app.app_context():
        build_open_data()
        with zipfile.ZipFile(archive_path()) as archive:
            tallies = list(csv.DictReader(io.StringIO(
                archive.read("monthly_tallies.csv").decode("utf-8-sig"))))
            reviews = list(csv.DictReader(io.StringIO(
                archive.read("proposal_reviews.csv").decode("utf-8-sig"))))
            readme = archive.read("README.md").decode()
    march = next(r for r in tallies if r["month"] == "2024-03" and r["scope"] == "city")
    assert march["opinions_submitted"] == "3" and march["proposals_accepted"] == "3"
    assert march["opinions_submitted.source.platform"] == "3"
    city_row = next(r for r in reviews if r["scope"] == "city")
    assert (city_row["year"], city_row["submitted"], city_row["accepted"],
            city_row["accepted_collective"], city_row["outcome_constrained"],
            city_row["category_society"]) == ("2024", "4", "3", "1", "1", "2")
    district_row = next(r for r in reviews if r["scope"] == "district")
    assert district_row["district_code"] == city.district_code
    assert district_row["accepted"] == "2"
    assert "`opinions_livelihood`" in readme and "`accepted_member`" in readme
    assert "proposal_reviews.csv" in readme


def _document(data: bytes) -> docx.document.Document:
    return docx.Document(io.BytesIO(data))


def test_the_year_report_downloads_as_a_word_document(app, client, city, tmp_path: Path):
    freeze_2024(app)
    answer = client.get("/reports/2024/download.docx")
    assert answer.status_code == 200
    assert answer.mimetype == ("application/vnd.openxmlformats-officedocument."
                               "wordprocessingml.document")
    assert 'filename="report-2024-city.docx"' in answer.headers["Content-Disposition"]
    document = _document(answer.data)
    text = "\n".join(p.text for p in document.paragraphs)
    assert document.paragraphs[0].text == "武汉市2024年度报告"
    assert "一、数读" in text and "二、统计表和图" in text
    assert "全市共建成一线协商平台、社情民意联系点3个" in text
    assert OPINION_SENTENCE in text and PROPOSAL_OPENING in text
    with app.test_request_context():
        from consult_hub.tallies import queries
        from consult_hub.tallies.tables import year_tables

        report = queries.load_year(2024, queries.ReportScope(), utcnow())
        tables = year_tables(report)
    assert len(document.tables) == len(tables)
    assert len(document.inline_shapes) == sum(1 for t in tables if t.chart)
    review = next(t for t in document.tables if t.rows[0].cells[0].text == "项目")
    assert [c.text for c in review.rows[2].cells] == ["立案", "3", "100.0%"]
    section = document.sections[0]
    assert round(section.page_width.cm, 1) == 21.0 and round(section.top_margin.cm, 1) == 3.7
    if shutil.which("soffice"):  # LibreOffice opens it too, where it is installed
        path = tmp_path / "report.docx"
        path.write_bytes(answer.data)
        subprocess.run(["soffice", "--headless", "--convert-to", "pdf", "--outdir",
                        str(tmp_path), str(path)], check=True, timeout=120,
                       capture_output=True)
        assert (tmp_path / "report.pdf").stat().st_size > 0


def test_a_month_report_downloads_as_a_word_document_for_staff(client, auth, city):
    auth.login("cityadmin")
    answer = client.get("/manage/reports/2024-03/download.docx")
    assert answer.status_code == 200
    document = _document(answer.data)
    text = "\n".join(p.text for p in document.paragraphs)
    assert document.paragraphs[0].text == "武汉市2024年3月统计"
    assert "2024年3月，全市开展协商议事活动" in text
    assert "报送社情民意信息3篇，其中涉及民生实事3篇；立案提案3件" in text
    assert len(document.inline_shapes) >= 4 and len(document.tables) >= 8
    assert "含未归档月份" in text  # not frozen: said so under the title
    auth.logout()
    assert client.get("/manage/reports/2024-03/download.docx").status_code in (302, 303)


def test_charts_render_as_png_images(app, city):
    with app.test_request_context():
        from consult_hub.tallies import queries

        report = queries.load_year(2024, queries.ReportScope(), utcnow())
        for table in cppcc_year_tables(report):
            image = render_png(table)
            if table.chart is None:
                assert image is None
            else:
                assert image.startswith(b"\x89PNG\r\n\x1a\n") and len(image) > 1000


def test_the_report_pages_have_a_print_stylesheet(client, city):
    page = client.get("/reports/2024").text
    assert "css/reports.css" in page and 'class="report-word"' in page
    css = client.get("/static/css/reports.css").text
    print_rules = css[css.index("@media print"):]
    for selector in (".site-header", ".site-footer", ".report-tools", ".report-downloads",
                     "@page", "table-header-group", "break-inside: avoid"):
        assert selector in print_rules


def test_the_home_page_partial_prints_a_years_sentences(app, city):
    from flask import render_template

    from consult_hub.tallies import cppcc

    with app.test_request_context("/"):
        summary = cppcc.year_summary(2024)
        included = render_template("tallies/_cppcc_sentences.html", cppcc_summary=summary)
        assert OPINION_SENTENCE in included and PROPOSAL_OPENING in included
        assert "2024年提案办理回顾" in included
        empty = render_template("tallies/_cppcc_sentences.html",
                                cppcc_summary=cppcc.year_summary(2023))
        assert "cppcc-sentences" not in empty
