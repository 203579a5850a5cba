"""The small city the report tests read; reading its pages, charts and downloads as a user would."""

from __future__ import annotations

import csv
import io
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from typing import Any

from flask import Flask

from consult_hub.events.models import EventStatus
from consult_hub.extensions import db
from consult_hub.issues.models import IssueKind
from consult_hub.issues.operations import change_status
from tests.support import factories

SVG = "{http://www.w3.org/2000/svg}"


SENTENCE = ("{year}年，{whole}共建成一线协商平台、社情民意联系点{platforms}个，"
            "开展协商议事活动{events}场次，"
            "促进了{issues}个群众急难愁盼问题、房前屋后实事、基层治理难事得到解决。")


class _Tables(HTMLParser):
    """The text of every report table on a page, by name (from ``aria-labelledby="h-name"``)."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._name: str | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "table" and (values.get("aria-labelledby") or "").startswith("h-"):
            self._name = values["aria-labelledby"][2:]
            self.tables[self._name] = []
        elif self._name and tag == "tr":
            self.tables[self._name].append([])
        elif self._name and tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._name = None
        elif self._name and tag in ("td", "th") and self._cell is not None:
            self.tables[self._name][-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def page_tables(html: str) -> dict[str, list[list[str]]]:
    parser = _Tables()
    parser.feed(html)
    return parser.tables


def csv_rows(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf"), "CSV needs a BOM for Excel"
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def svgs(html: str) -> list[ET.Element]:
    return [ET.fromstring(chunk) for chunk in re.findall(r"<svg\b.*?</svg>", html, re.S)]


def check_chart(svg: ET.Element) -> None:
    assert svg.get("role") == "img" and svg.get("viewBox") and svg.get("width") == "100%"
    title = svg.find(f"{SVG}title")
    assert title is not None and title.text
    ids = {el.get("id") for el in svg.iter() if el.get("id")}
    assert set(svg.get("aria-labelledby", "").split()) <= ids
    assert title.get("id") in svg.get("aria-labelledby", "").split()
    assert all(el.get("style") is None for el in svg.iter())


def plain(text: str) -> str:
    return "" if text == "—" else text.replace(",", "")


@dataclass
class City:
    district_code: str = ""
    district_name: str = ""
    other_code: str = ""
    other_name: str = ""
    platform_name: str = ""


def at(year: int, month: int, day: int = 10) -> datetime:
    return datetime(year, month, day, 4, tzinfo=UTC)


def held(platform_id: int, when: datetime, **kwargs: Any) -> None:
    factories.event(platform_id=platform_id, starts_at=when, ends_at=when + timedelta(hours=2),
                    status=EventStatus.HELD, **kwargs)


def resolved(platform_id: int, raised: datetime, done: datetime, **kwargs: Any) -> None:
    issue = factories.issue(platform_id=platform_id, now=raised, **kwargs)
    change_status(issue, "resolve", actor_id=None, resolution="已处理。", now=done)


def build_city(app: Flask, extra_districts: int = 0, *, with_users: bool = True) -> City:
    """Two districts with activity through 2024, and the accounts that read about them."""
    city = City()
    with app.app_context():
        d1 = factories.district(name="江岸区")
        d2 = factories.district(name="江汉区")
        p1 = factories.platform(district_id=d1.id, established_on=date(2023, 5, 1))
        p2 = factories.platform(district_id=d1.id, established_on=date(2024, 6, 15))
        p3 = factories.platform(district_id=d2.id, established_on=date(2023, 5, 1))
        for month in range(1, 13):
            held(p1.id, at(2024, month))
            held(p3.id, at(2024, month, 20), category="economy")
            resolved(p3.id, at(2024, month, 2), at(2024, month, 25), kind=IssueKind.URGENT)
        held(p2.id, at(2024, 7))
        resolved(p1.id, at(2024, 3), at(2024, 4))
        for _ in range(extra_districts):
            extra = factories.district()
            platform = factories.platform(district_id=extra.id)
            held(platform.id, at(2024, 5))
        if with_users:
            factories.user("admin", username="cityadmin")
            factories.user("district_admin", username="jiangan", district_id=d1.id)
            factories.user("coordinator", username="coord", platform_ids=[p1.id])
        db.session.commit()
        city.district_code, city.district_name = d1.code, d1.name
        city.other_code, city.other_name = d2.code, d2.name
        city.platform_name = p1.name
    return city
