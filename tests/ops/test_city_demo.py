"""The city demo (`flask demo load --scale city --seed 1 --year 2024`, loaded once for the
module): the seed's scale, the year's tallies adding up to the seed's figures, and the 2024
report as a resident and as staff see it.

Loading the city takes longer than any of these checks, and each check used to load it
itself (three loads per database run); now the module loads it once through the command,
inside a transaction that is never committed (tests/support/rollback.py), and each test
starts from it exactly: what a test writes (the frozen months) is rolled back after it.
"""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from click.testing import Result
from flask import Flask
from openpyxl import load_workbook

from consult_hub.core.timefmt import local_today, to_local
from consult_hub.events.models import event_attendees
from consult_hub.extensions import db
from consult_hub.issues.models import DEPARTMENT_STATUSES, DUE_STATUSES
from consult_hub.main.queries import headline_figures
from consult_hub.models import (
    Area,
    AreaLevel,
    Event,
    EventStatus,
    Issue,
    IssueStatus,
    IssueUpdate,
    Member,
    Platform,
    PlatformKind,
    PlatformStatus,
    User,
    platform_coordinators,
)
from consult_hub.tallies import compute
from consult_hub.tallies.models import MonthlyTally
from tests.support.auth import AuthActions
from tests.support.reports import SENTENCE, check_chart, csv_rows, page_tables, plain, svgs
from tests.support.rollback import RolledBack

pytestmark = [pytest.mark.rolled_back, pytest.mark.slow]

WUHAN_DISTRICTS = {"420102", "420103", "420104", "420105", "420106", "420107", "420111", "420112",
                   "420113", "420114", "420115", "420116", "420117"}


@pytest.fixture(scope="module")
def _city(app: Flask) -> Iterator[tuple[RolledBack, Result]]:
    rolled_back = RolledBack(app)
    try:
        result = app.test_cli_runner().invoke(
            args=["demo", "load", "--scale", "city", "--seed", "1", "--year", "2024"])
        yield rolled_back, result
    finally:
        rolled_back.close()


@pytest.fixture()
def city(app: Flask, _city: tuple[RolledBack, Result]) -> Iterator[Result]:
    """What `flask demo load` answered; the city as it loaded, for this test alone."""
    rolled_back, result = _city
    with rolled_back.case():
        yield result


def count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_city_scale_matches_the_seed(app: Flask, city: Result) -> None:
    assert city.exit_code == 0, city.output
    with app.app_context():
        figures = headline_figures(2024)
        assert (figures.platforms, figures.events_held) == (1006, 1220)
        assert figures.issues_resolved >= 1300
        check_city_platforms()
        check_city_issues()
        check_city_events()


def check_city_platforms() -> None:
    districts = db.session.scalars(sa.select(Area.code).where(Area.level == AreaLevel.DISTRICT))
    assert set(districts) == WUHAN_DISTRICTS
    kinds = db.session.scalars(sa.select(Platform.kind).distinct())
    assert set(kinds) == set(PlatformKind)
    closed = sa.select(Platform.id).where(Platform.status == PlatformStatus.CLOSED)
    assert count(closed.subquery()) == 0
    assert count(sa.select(Platform.id).where(Platform.is_demonstration).subquery()) > 30
    latest, south, north, west, east = db.session.execute(sa.select(
        sa.func.max(Platform.established_on), sa.func.min(Platform.latitude),
        sa.func.max(Platform.latitude), sa.func.min(Platform.longitude),
        sa.func.max(Platform.longitude))).one()
    assert latest <= date(2024, 12, 31)
    assert 30.3 <= south < north <= 30.9 and 113.9 <= west < east <= 114.6
    assert count(Member) >= 300


def check_city_issues() -> None:
    today = local_today(datetime.now(UTC))
    by_status = dict(db.session.execute(
        sa.select(Issue.status, sa.func.count()).group_by(Issue.status)).all())
    for status in IssueStatus:
        assert by_status.get(status, 0) > 0, status
    overdue = sa.select(Issue.id).where(Issue.status.in_(DUE_STATUSES), Issue.due_on < today)
    assert count(overdue.subquery()) > 0
    assert count(sa.select(Issue.id).where(Issue.duplicate_of_id.is_not(None)).subquery()) > 0
    assert count(sa.select(Issue.id).where(Issue.rated_at.is_not(None)).subquery()) > 0
    check_city_handling()


def check_city_handling() -> None:
    """Departments mostly acknowledge within two days and reply; staff mostly confirm."""
    actions = Counter(db.session.scalars(sa.select(IssueUpdate.action)))
    assigned = actions["assign"]
    assert 0.03 <= actions["rework"] / actions["reply"] <= 0.15
    assert 0.02 <= actions["request_extension"] / assigned <= 0.1
    assert actions["approve_extension"] > 2 * actions["refuse_extension"] > 0
    assert 0.005 <= actions["return"] / assigned <= 0.05
    by_staff = count(sa.select(IssueUpdate.id).where(
        IssueUpdate.action.in_(("resolve", "plan", "constrain")),
        IssueUpdate.from_status.in_(DEPARTMENT_STATUSES)).subquery())
    assert actions["confirm"] > 4 * by_staff > 0  # most outcomes are replies staff confirm
    times = db.session.execute(sa.select(Issue.assigned_at, Issue.acknowledged_at).where(
        Issue.acknowledged_at.is_not(None))).all()
    soon = sum(acknowledged - assigned <= timedelta(days=2) for assigned, acknowledged in times)
    assert soon >= 0.75 * len(times)
    unpublished = sa.select(Issue.id).where(Issue.published_at.is_(None))
    assert count(unpublished.subquery()) < 0.02 * count(Issue)


def check_city_events() -> None:
    now = datetime.now(UTC)
    upcoming = sa.select(Event.id).where(Event.status == EventStatus.PLANNED, Event.starts_at > now)
    assert count(upcoming.subquery()) > 50
    coordinator = db.session.scalar(sa.select(User.id).where(User.username == "coordinator"))
    mine = sa.select(platform_coordinators.c.platform_id).where(
        platform_coordinators.c.user_id == coordinator)
    soon = upcoming.where(Event.platform_id.in_(mine), Event.starts_at <= now + timedelta(hours=72))
    assert count(soon.subquery()) >= 3
    cancelled = sa.select(Event.starts_at).where(Event.status == EventStatus.CANCELLED)
    assert any(to_local(t).year == 2024 for t in db.session.scalars(cancelled))


def test_city_demo_year_adds_up_to_the_seed(app, city: Result):
    assert city.exit_code == 0, city.output
    with app.app_context():
        totals = {"events_held": 0, "issues_resolved": 0}
        for month in range(1, 13):
            figures = compute.freeze_month(date(2024, month, 1))
            for key in totals:
                totals[key] += figures[key]
        assert figures["platforms_total"] == 1006
        assert totals["events_held"] == 1220 and totals["issues_resolved"] >= 1300
        assert compute.freeze_month(date(2024, 12, 1)) == figures  # recomputing changes nothing
        assert db.session.scalar(sa.select(sa.func.count()).select_from(event_attendees)) > 0


def test_city_demo_2024_report(app: Flask, runner, city: Result) -> None:
    assert city.exit_code == 0, city.output
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
