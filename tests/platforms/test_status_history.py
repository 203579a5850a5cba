"""A platform's status history and closing date: written by every path that changes a status,
and read by the monthly tallies so that a past month is recomputed as it was."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from consult_hub.areas.models import Area, AreaLevel
from consult_hub.core.errors import ValidationFailed
from consult_hub.core.timefmt import local_today
from consult_hub.events.models import EventStatus
from consult_hub.extensions import db
from consult_hub.models import Platform, PlatformStatus, PlatformStatusChange
from consult_hub.platforms import operations
from consult_hub.tallies import compute
from consult_hub.tallies.models import MonthlyTally
from tests.exchange.test_import import PLATFORM_HEADER, csv_bytes, platform_row
from tests.support import factories
from tests.support.pages import field_errors, post

MARCH, JUNE, JULY = date(2024, 3, 1), date(2024, 6, 1), date(2024, 7, 1)


def history(platform_id: int) -> list[tuple[Any, ...]]:
    return [(row.from_status and row.from_status.value, row.to_status.value, row.effective_on)
            for row in db.session.scalars(
                sa.select(PlatformStatusChange)
                .where(PlatformStatusChange.platform_id == platform_id)
                .order_by(PlatformStatusChange.effective_on, PlatformStatusChange.id))]


def city_figures(month: date) -> dict[str, Any]:
    return compute.compute_month(month)["city"][1]


@pytest.fixture()
def closed_in_june(ctx) -> Platform:
    """A demonstration platform opened in January 2024 that held an event in March and was
    closed on 10 June (recorded in August), beside one that stays open."""
    district = factories.district()
    platform = operations.create_platform(
        today=date(2024, 1, 10), code="P-CLOSE", name="后来撤销的协商议事室", kind="consult_room",
        district_id=district.id, area_id=factories.community(district.id).id,
        address="解放大道 1 号", established_on=date(2024, 1, 8), is_demonstration=True,
        demonstration_year=2024)
    factories.platform(district_id=district.id, established_on=date(2023, 1, 1))
    when = datetime(2024, 3, 12, 2, tzinfo=UTC)
    factories.event(platform_id=platform.id, starts_at=when, ends_at=when + timedelta(hours=2),
                    status=EventStatus.HELD)
    db.session.commit()
    operations.change_status(platform, "close", reason="社区合并", confirm="P-CLOSE",
                             effective_on=date(2024, 6, 10), today=date(2024, 8, 20))
    db.session.commit()
    return platform


def test_a_platform_closed_later_still_counts_in_the_months_it_was_open(closed_in_june):
    platform = closed_in_june
    assert platform.status is PlatformStatus.CLOSED and platform.closed_on == date(2024, 6, 10)
    assert history(platform.id) == [(None, "active", date(2024, 1, 8)),
                                    ("active", "closed", date(2024, 6, 10))]
    march, june, july = city_figures(MARCH), city_figures(JUNE), city_figures(JULY)
    assert (march["platforms_total"], march["platforms_demonstration"],
            march["platforms_active"]) == (2, 1, 1)
    # Closed on 10 June: not counted at June's end, nor after.
    assert (june["platforms_total"], june["platforms_demonstration"]) == (1, 0)
    assert (july["platforms_total"], july["platforms_demonstration"],
            july["platforms_active"]) == (1, 0, 0)
    # The platform's own row and its district's agree with the city.
    result = compute.compute_month(MARCH)
    assert result[f"platform:{platform.id}"][1]["platforms_total"] == 1
    assert result[f"district:{platform.district_id}"][1]["platforms_total"] == 2
    # Freezing the past month again (recomputation) keeps it.
    compute.freeze_month(MARCH)
    compute.freeze_month(JULY)
    stored = dict(db.session.execute(sa.select(MonthlyTally.month, MonthlyTally.metrics)
                                     .where(MonthlyTally.scope_key == "city")).all())
    assert stored[MARCH]["platforms_total"] == 2 and stored[JULY]["platforms_total"] == 1


def test_reactivating_counts_it_again_from_that_month(closed_in_june):
    platform = closed_in_june
    operations.change_status(platform, "reactivate", reason="恢复设立",
                             effective_on=date(2024, 8, 5), today=date(2024, 8, 20))
    db.session.commit()
    assert platform.status is PlatformStatus.ACTIVE and platform.closed_on is None
    assert [city_figures(m)["platforms_total"] for m in (MARCH, JULY, date(2024, 8, 1))] == \
        [2, 1, 2]
    # Suspended platforms exist: they count.
    operations.change_status(platform, "suspend", reason="装修", today=date(2024, 9, 2))
    db.session.commit()
    assert city_figures(date(2024, 9, 1))["platforms_total"] == 2


def test_the_opening_follows_a_corrected_founding_day(closed_in_june):
    platform = closed_in_june
    values = {name: getattr(platform, name) for name in operations.FIELDS}
    operations.update_platform(platform, version=None, original=None, today=date(2024, 8, 20),
                               **{**values, "established_on": date(2023, 11, 1),
                                  "kind": platform.kind.value})
    db.session.commit()
    assert history(platform.id)[0] == (None, "active", date(2023, 11, 1))
    assert city_figures(date(2023, 12, 1))["platforms_total"] == 2


def test_a_platform_without_history_counts_by_its_status(ctx):
    """Rows written before the history existed (or by hand) fall back to the status now."""
    factories.platform(established_on=date(2023, 1, 1), status=PlatformStatus.CLOSED)
    factories.platform(established_on=date(2023, 1, 1))
    db.session.commit()
    assert city_figures(MARCH)["platforms_total"] == 1


def test_the_effective_date_is_checked(closed_in_june):
    platform = closed_in_june
    for day, message in ((date(2024, 9, 1), "生效日期不能晚于今天"),
                         (date(2024, 6, 9), "生效日期不能早于 2024-06-10")):
        with pytest.raises(ValidationFailed) as refused:
            operations.change_status(platform, "reactivate", reason="恢复", effective_on=day,
                                     today=date(2024, 8, 20))
        assert message in refused.value.errors["effective_on"]
    db.session.rollback()
    assert len(history(platform.id)) == 2


def test_the_status_page_records_the_day_and_refuses_a_future_one(app, client, auth, make):
    platform = make("platform", code="P-WEB", established_on=date(2023, 5, 1))
    auth.login(make("user", role="admin").username)
    path = f"/manage/platforms/{platform.id}/close"
    assert 'name="effective_on"' in client.get(path).text
    future = (date.today() + timedelta(days=40)).isoformat()  # after today wherever it is
    refused = post(client, path, {"reason": "社区合并", "confirm": "P-WEB",
                                  "effective_on": future})
    assert refused.status_code == 422
    assert "生效日期不能晚于今天" in field_errors(refused.text, "effective_on")
    done = post(client, path, {"reason": "社区合并", "confirm": "P-WEB",
                               "effective_on": "2024-06-10"})
    assert done.status_code == 303
    with app.app_context():
        stored = db.session.get(Platform, platform.id)
        assert (stored.status, stored.closed_on) == (PlatformStatus.CLOSED, date(2024, 6, 10))
        [row] = db.session.scalars(sa.select(PlatformStatusChange).where(
            PlatformStatusChange.platform_id == platform.id)).all()
        assert (row.to_status, row.effective_on, row.reason) == (
            PlatformStatus.CLOSED, date(2024, 6, 10), "社区合并")
        assert row.actor is not None and row.actor.role.value == "admin"
    assert "撤销日期：2024-06-10" in client.get(f"/manage/platforms/{platform.id}").text
    # Without a date: today.
    assert post(client, f"/manage/platforms/{platform.id}/reactivate",
                {"reason": "恢复设立"}).status_code == 303
    with app.app_context():
        assert history(platform.id)[-1][1:] == ("active", local_today(datetime.now(UTC)))


@pytest.fixture()
def jiangan(app) -> None:
    with app.app_context():
        district = Area(code="420102", name="江岸区", level=AreaLevel.DISTRICT)
        street = Area(code="420102001000", name="二七街道", level=AreaLevel.STREET,
                      parent=district)
        db.session.add_all([district, street, Area(code="420102001001", name="二七社区",
                                                   level=AreaLevel.COMMUNITY, parent=street)])
        db.session.commit()


def test_the_import_writes_the_history(app, runner, jiangan, tmp_path: Path):
    def run(name: str, rows: list[list[Any]]) -> None:
        path = tmp_path / name
        path.write_bytes(csv_bytes(PLATFORM_HEADER, rows))
        result = runner.invoke(args=["import", "platforms", str(path)])
        assert result.exit_code == 0, result.output

    run("a.csv", [platform_row("420102-0001"), platform_row("420102-0002", 状态="已撤销")])
    with app.app_context():
        first, second = db.session.scalars(sa.select(Platform).order_by(Platform.code)).all()
        today = local_today(datetime.now(UTC))
        assert history(first.id) == [(None, "active", date(2023, 5, 1))]
        assert history(second.id) == [(None, "active", date(2023, 5, 1)),
                                      ("active", "closed", today)]
        assert (first.closed_on, second.closed_on) == (None, today)
    run("b.csv", [platform_row("420102-0001", 状态="暂停"), platform_row("420102-0002")])
    run("c.csv", [platform_row("420102-0001", 状态="运行中")])
    with app.app_context():
        assert [row[:2] for row in history(first.id)] == [
            (None, "active"), ("active", "suspended"), ("suspended", "active")]
        assert len(history(second.id)) == 2  # the status column left alone: no change


def test_the_import_takes_the_day_a_status_took_effect(app, runner, client, auth, make, jiangan,
                                                       tmp_path: Path):
    header = [*PLATFORM_HEADER, "状态日期"]

    def run(name: str, rows: list[list[Any]]):
        path = tmp_path / name
        path.write_bytes(csv_bytes(header, rows))
        return runner.invoke(args=["import", "platforms", str(path)])

    def row(code: str, status: str, day: str) -> list[Any]:
        return [*platform_row(code, 状态=status), day]

    done = run("a.csv", [row("420102-0001", "已撤销", "2024-06-10"),
                         row("420102-0002", "运行中", "")])
    assert done.exit_code == 0, done.output
    refused = run("b.csv", [row("420102-0002", "暂停", "2023-04-30"),
                            row("420102-0001", "运行中", "2099-01-01")])
    assert refused.exit_code == 1
    assert "第 2 行「状态日期」：状态日期不能早于 2023-05-01（成立或上一次状态变更的日期）" in \
        refused.output
    assert "第 3 行「状态日期」：状态日期不能晚于今天" in refused.output
    with app.app_context():
        closed = db.session.scalar(sa.select(Platform).where(Platform.code == "420102-0001"))
        assert closed.closed_on == date(2024, 6, 10)
        assert history(closed.id)[-1] == ("active", "closed", date(2024, 6, 10))
        assert city_figures(MARCH)["platforms_total"] == 2
        assert city_figures(JULY)["platforms_total"] == 1
    # The export carries the closing day (its 撤销日期 reads as 状态日期); importing it again
    # changes nothing.
    make("user", role="admin", username="city")
    auth.login("city")
    exported = client.get("/manage/export/platforms.csv").data
    assert ",已撤销,2024-06-10," in exported.decode("utf-8-sig")
    path = tmp_path / "export.csv"
    path.write_bytes(exported)
    again = runner.invoke(args=["import", "platforms", str(path)])
    assert again.exit_code == 0 and "新增 0，更新 0，未变 2" in again.output, again.output


@pytest.mark.database_independent  # its own SQLite file, whatever the run's database
def test_migration_0022_backfills_the_history(tmp_path: Path):
    """Existing platforms get an opening on their founding day, the changes the audit log
    recorded, and for a status the log does not explain, a change on the day of updated_at."""
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'old.db'}",
           "INSTANCE_PATH": str(tmp_path)}
    env.pop("FLASK_DEBUG", None)
    flask = [sys.executable, "-m", "flask", "--app", "consult_hub", "db", "upgrade"]
    done = subprocess.run([*flask, "0021"], env=env, cwd=tmp_path, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    with sqlite3.connect(tmp_path / "old.db") as conn:
        conn.execute("INSERT INTO areas (id, code, name, level) VALUES (1, '420102', '江岸区', "
                     "'district')")
        stamp = "2024-01-05 02:00:00.000000"
        for pid, status, updated in ((1, "active", stamp), (2, "closed", stamp),
                                     (3, "suspended", "2024-04-30 17:00:00.000000")):
            conn.execute(
                "INSERT INTO platforms (id, code, name, kind, area_id, district_id, address, "
                "established_on, is_demonstration, status, version, created_at, updated_at) "
                "VALUES (?, ?, '平台', 'consult_room', 1, 1, '路', '2023-03-01', 0, ?, 1, ?, ?)",
                (pid, f"P{pid}", status, stamp, updated))
        # Platform 2: suspended, then closed (on 1 June in Wuhan), both in the audit log.
        for action, before, after, at in (
                ("platform_suspend", "active", "suspended", "2024-02-01 03:00:00.000000"),
                ("platform_close", "suspended", "closed", "2024-05-31 18:00:00.000000")):
            conn.execute(
                "INSERT INTO audit_log (action, entity_type, entity_id, changes, created_at) "
                "VALUES (?, 'platforms', 2, ?, ?)",
                (action, f'{{"status": ["{before}", "{after}"], "reason": "合并"}}', at))
    done = subprocess.run(flask, env=env, cwd=tmp_path, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    with sqlite3.connect(tmp_path / "old.db") as conn:
        rows = conn.execute("SELECT platform_id, from_status, to_status, effective_on, reason "
                            "FROM platform_status_changes ORDER BY platform_id, id").fetchall()
        closed = conn.execute("SELECT id, closed_on FROM platforms ORDER BY id").fetchall()
    assert rows == [
        (1, None, "active", "2023-03-01", None),
        (2, None, "active", "2023-03-01", None),
        (2, "active", "suspended", "2024-02-01", "合并"),
        (2, "suspended", "closed", "2024-06-01", "合并"),
        (3, None, "active", "2023-03-01", None),
        (3, "active", "suspended", "2024-05-01", None),  # updated_at, in Wuhan
    ]
    assert closed == [(1, None), (2, "2024-06-01"), (3, None)]
