"""The city demo's 2024 report: the seed's figures, as a resident and as staff see them."""

from __future__ import annotations

import io
from datetime import date

import pytest
import sqlalchemy as sa
from flask import Flask
from openpyxl import load_workbook

from consult_hub.extensions import db
from consult_hub.tallies import compute
from consult_hub.tallies.models import MonthlyTally
from tests.support.auth import AuthActions
from tests.support.reports import (
    SENTENCE,
    check_chart,
    csv_rows,
    page_tables,
    plain,
    svgs,
)

pytestmark = pytest.mark.slow


def test_city_demo_2024_report(app: Flask, runner) -> None:
    assert runner.invoke(args=["demo", "load", "--scale", "city"]).exit_code == 0
    with app.app_context():
        for month in range(1, 13):
            compute.freeze_month(date(2024, month, 1))
        frozen = db.session.scalars(sa.select(MonthlyTally.metrics).where(
            MonthlyTally.scope_key == "city", MonthlyTally.month.between(
                date(2024, 1, 1), date(2024, 12, 1)))).all()
    resolved = sum(m["issues_resolved"] for m in frozen)
    assert len(frozen) == 12 and resolved == 1330

    resident = app.test_client()
    page = resident.get("/reports/2024")
    assert page.status_code == 200
    assert SENTENCE.format(year=2024, whole="全市", platforms="1,006", events="1,220",
                           issues="1,330") in page.text
    for svg in svgs(page.text):
        check_chart(svg)
    tables = page_tables(page.text)
    assert tables["monthly"][-1] == ["全年", "1,220", "1,330"]
    assert len(tables["districts"]) == 1 + 13 + 1  # header, 13 districts, the city
    city_row = tables["districts"][-1]
    assert (city_row[0], city_row[1], city_row[2], city_row[4]) == ("全市", "1,006", "1,220",
                                                                    "1,330")
    for name in ("monthly", "districts", "outcomes"):
        data = resident.get(f"/reports/2024/download.csv?table={name}").data
        shown = tables[name]
        assert csv_rows(data) == [shown[0]] + [[plain(c) for c in row] for row in shown[1:]]
    book = load_workbook(io.BytesIO(resident.get("/reports/2024/download.xlsx").data))
    districts = [list(row) for row in book["各区对比"].iter_rows(values_only=True)]
    assert districts[-1][:3] == ["全市", 1006, 1220] and districts[-1][4] == 1330

    staff = AuthActions(app.test_client())
    assert staff.login("district", "district-demo-2024").status_code == 302
    mine = staff.client.get("/manage/reports/year/2024")
    assert mine.status_code == 200 and "江岸区 2024年度报告" in mine.text
    assert "全区共建成一线协商平台" in mine.text and "江汉区" not in mine.text
    assert staff.client.get("/manage/reports/2024-06").status_code == 200

    coordinator = AuthActions(app.test_client())
    assert coordinator.login("coordinator", "coordinator-demo-2024").status_code == 302
    assert coordinator.client.get("/manage/reports/year/2024").status_code == 403
