"""Exports and open data as analysts' tools read them (issue 17, items 4 and 6).

pandas reads the XLSX with openpyxl (dates come back as datetimes, numbers as numbers, text
as it is) and the CSV as text; LibreOffice, where installed, converts an XLSX export to CSV
headless and must agree with the site's own CSV.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import zipfile
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from consult_hub.exchange.open_data import archive_path
from consult_hub.models import EventStatus

pd = pytest.importorskip("pandas", reason="pandas missing (pip install -e '.[dev]')")

TRAP = '=HYPERLINK("http://x","看")'


@pytest.fixture()
def staff(client: FlaskClient, make: Callable[..., Any], auth: Any) -> dict[str, Any]:
    """A platform named like a formula and two events in it, read by a city administrator."""
    platform = make("platform", code="A-0001", name=TRAP, latitude=30.5936,
                    longitude=114.3055, established_on=date(2019, 5, 4))
    start = datetime(2024, 3, 1, 16, 30, tzinfo=UTC)  # 2024-03-02 00:30 in Shanghai
    make("event", platform_id=platform.id, topic="-1 层车库协商", starts_at=start,
         ends_at=start + timedelta(hours=2), status=EventStatus.HELD, minutes="纪要",
         resident_count=12)
    later = start + timedelta(days=3, hours=-10)  # 2024-03-04 14:30 in Shanghai
    make("event", platform_id=platform.id, topic="加装电梯协商", starts_at=later,
         ends_at=later + timedelta(hours=1), status=EventStatus.HELD, minutes="纪要",
         resident_count=7)
    make("user", role="admin", username="city")
    auth.login("city")
    return {"platform": platform}


def download(client: FlaskClient, path: str) -> bytes:
    answer = client.get(path)
    assert answer.status_code == 200, answer.text[:300]
    return answer.data


def test_pandas_reads_dates_numbers_and_text_from_the_xlsx(client: FlaskClient,
                                                           staff: dict[str, Any]) -> None:
    events = pd.read_excel(io.BytesIO(download(client, "/manage/export/events.xlsx")),
                           engine="openpyxl").set_index("议题")
    assert pd.api.types.is_datetime64_any_dtype(events["开始时间"])
    assert pd.api.types.is_datetime64_any_dtype(events["结束时间"])
    assert events.loc["-1 层车库协商", "开始时间"] == pd.Timestamp("2024-03-02 00:30")
    assert events.loc["加装电梯协商", "开始时间"] == pd.Timestamp("2024-03-04 14:30")
    assert pd.api.types.is_integer_dtype(events["居民代表人数"])
    assert sorted(events["居民代表人数"]) == [7, 12]
    assert set(events["平台名称"]) == {TRAP}  # the text itself: no apostrophe, no formula

    platforms = pd.read_excel(io.BytesIO(download(client, "/manage/export/platforms.xlsx")),
                              engine="openpyxl", dtype={"编码": str})
    [row] = platforms.to_dict("records")
    assert row["成立日期"] == pd.Timestamp("2019-05-04")
    assert (row["纬度"], row["经度"]) == (30.5936, 114.3055)
    assert (row["编码"], row["名称"]) == ("A-0001", TRAP)


def test_pandas_reads_the_csv_as_the_xlsx_less_the_formula_guard(
        client: FlaskClient, staff: dict[str, Any]) -> None:
    xlsx = pd.read_excel(io.BytesIO(download(client, "/manage/export/events.xlsx")),
                         engine="openpyxl")
    csv = pd.read_csv(io.BytesIO(download(client, "/manage/export/events.csv")),
                      encoding="utf-8-sig", parse_dates=["开始时间", "结束时间"])
    assert list(csv.columns) == list(xlsx.columns)
    for column in ("开始时间", "结束时间", "居民代表人数", "系统编号"):
        assert list(csv[column]) == list(xlsx[column]), column
    # A CSV cell has no type: text a spreadsheet would run keeps its apostrophe there.
    assert set(csv["平台名称"]) == {"'" + TRAP}
    assert set(csv["议题"]) == {"'-1 层车库协商", "加装电梯协商"}
    assert set(xlsx["议题"]) == {"-1 层车库协商", "加装电梯协商"}


def test_pandas_reads_every_open_data_file(app: Flask, client: FlaskClient,
                                          staff: dict[str, Any]) -> None:
    with app.app_context():
        archive_path().unlink(missing_ok=True)  # built afresh, with these rows
    with client.get("/open-data/consult_hub_open_data.zip") as answer:
        assert answer.status_code == 200
        with zipfile.ZipFile(io.BytesIO(answer.data)) as archive:
            tables = {name: pd.read_csv(archive.open(name), encoding="utf-8-sig")
                      for name in archive.namelist() if name.endswith(".csv")}
    assert {"platforms.csv", "events.csv", "outcomes.csv"} <= set(tables)
    assert len(tables["events.csv"]) == 2
    assert len(tables["platforms.csv"]) == 1


def test_libreoffice_converts_the_xlsx_to_the_sites_own_csv(
        client: FlaskClient, staff: dict[str, Any], tmp_path: Path) -> None:
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        pytest.skip("LibreOffice (soffice) not installed: optional")
    (tmp_path / "events.xlsx").write_bytes(download(client, "/manage/export/events.xlsx"))
    subprocess.run([soffice, "--headless", f"-env:UserInstallation=file://{tmp_path}/profile",
                    "--convert-to", "csv:Text - txt - csv (StarCalc):44,34,76",
                    "--outdir", str(tmp_path), str(tmp_path / "events.xlsx")],
                   check=True, capture_output=True, timeout=120)
    converted = pd.read_csv(tmp_path / "events.csv", encoding="utf-8-sig", dtype=str,
                            keep_default_na=False)
    ours = pd.read_csv(io.BytesIO(download(client, "/manage/export/events.csv")),
                       encoding="utf-8-sig", dtype=str, keep_default_na=False)
    for column in ("开始时间", "结束时间", "居民代表人数", "平台编码"):
        assert list(converted[column]) == list(ours[column]), column
    assert set(converted["平台名称"]) == {TRAP}  # a string cell: LibreOffice never ran it
