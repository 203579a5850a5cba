"""Operators can see the site is alive: /healthz, the scheduler's heartbeat, the dashboard's
warning when reminders have stopped, and one log line per job run and per request."""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from consult_hub import scheduler
from consult_hub.core import heartbeat
from consult_hub.core.db import utcnow
from consult_hub.core.pagecache import SiteVersion
from consult_hub.core.requestlog import logged_path
from consult_hub.extensions import db
from tests.support import factories
from tests.support.auth import AuthActions


def beat(app: Flask, job: str = "email", *, ago: timedelta = timedelta(0),
         outcome: heartbeat.Outcome = "ok") -> None:
    with app.app_context():
        heartbeat.record(db.engine, job, utcnow() - ago, outcome, 12)


def heartbeats(app: Flask) -> dict[str, Any]:
    with app.app_context():
        return {row.job: row for row in db.session.execute(
            sa.select(heartbeat.SchedulerHeartbeat)).scalars()}


def noop(now: datetime) -> dict[str, int]:
    return {"sent": 0}


def broken(now: datetime) -> None:
    raise RuntimeError("SMTP server said no\nsecond line")


# --- /healthz -----------------------------------------------------------------------------------


def test_healthz_names_a_scheduler_that_never_ran(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json["status"] == "failing"
    assert response.json["database"] == "ok"
    assert response.json["problems"] == ["scheduler has never run"]
    assert response.headers["Cache-Control"] == "no-store"


def test_healthz_is_ok_once_a_job_ran(app: Flask, client: FlaskClient) -> None:
    scheduler.run_job(app, "email", noop)
    response = client.get("/healthz")
    assert response.status_code == 200, response.json
    assert response.json["status"] == "ok" and "problems" not in response.json
    assert response.json["scheduler"]["age_seconds"] < 60
    assert response.json["scheduler"]["failing_jobs"] == []
    assert response.headers["Cache-Control"] == "no-store"
    assert client.get("/healthz").status_code == 200  # never served from the page cache stale


def test_healthz_names_a_scheduler_that_stopped(app: Flask, client: FlaskClient) -> None:
    beat(app, "email", ago=timedelta(minutes=20, seconds=5))
    beat(app, "reminders", ago=timedelta(minutes=23))
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json["problems"] == ["scheduler has not run for 20 minutes"]
    assert 1200 <= response.json["scheduler"]["age_seconds"] < 1260


def test_healthz_threshold_is_a_setting(app: Flask, client: FlaskClient,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    beat(app, "email", ago=timedelta(minutes=20))
    monkeypatch.setitem(app.config, "SCHEDULER_STALE_MINUTES", 30)
    assert client.get("/healthz").status_code == 200


def test_healthz_names_an_unreachable_database(app: Flask, client: FlaskClient,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise sa.exc.OperationalError("SELECT 1", {}, Exception("connection refused"))

    monkeypatch.setattr(db.session, "execute", refuse)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json["database"] == "unreachable"
    assert response.json["problems"] == ["database unreachable"]
    assert "connection refused" not in response.text  # nothing internal leaks


def test_healthz_lists_failing_jobs_while_the_scheduler_runs(app: Flask,
                                                             client: FlaskClient) -> None:
    scheduler.run_job(app, "email", broken)
    scheduler.run_job(app, "reminders", noop)
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json["scheduler"]["failing_jobs"] == ["email"]


# --- the heartbeat ------------------------------------------------------------------------------


def test_every_job_run_writes_its_heartbeat_with_outcome_and_duration(app: Flask) -> None:
    before = utcnow()
    assert scheduler.run_job(app, "email", noop) == {"sent": 0}
    scheduler.run_job(app, "open_data", broken)
    rows = heartbeats(app)
    assert set(rows) == {"email", "open_data"}
    assert rows["email"].last_outcome == "ok" and rows["email"].last_run_at >= before
    assert rows["email"].duration_ms >= 0
    assert rows["open_data"].last_outcome == "failed"
    assert rows["open_data"].detail == "RuntimeError"
    # The next run of the same job replaces its row.
    scheduler.run_job(app, "open_data", noop)
    assert heartbeats(app)["open_data"].last_outcome == "ok"


def test_a_heartbeat_leaves_the_public_page_cache_alone(app: Flask) -> None:
    with app.app_context():
        version = db.session.scalar(sa.select(SiteVersion.version).where(SiteVersion.id == 1))
    for _ in range(3):
        scheduler.run_job(app, "email", noop)
    with app.app_context():
        assert db.session.scalar(
            sa.select(SiteVersion.version).where(SiteVersion.id == 1)) == version


def test_every_scheduled_job_writes_a_heartbeat(app: Flask) -> None:
    """The real jobs, as `scheduler sweep` runs them: each leaves its row."""
    for name, func, _trigger in scheduler.JOBS:
        scheduler.run_job(app, name, func)
    rows = heartbeats(app)
    assert set(rows) == {name for name, _func, _trigger in scheduler.JOBS}
    assert {row.last_outcome for row in rows.values()} == {"ok"}


# --- one log line per job run -------------------------------------------------------------------


def test_each_job_run_logs_one_line_with_outcome_and_duration(
        app: Flask, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="consult_hub.scheduler")
    scheduler.run_job(app, "email", noop)
    scheduler.run_job(app, "reminders", broken)
    lines = [record for record in caplog.records if record.name == "consult_hub.scheduler"]
    assert len(lines) == 2
    ok, failed = (record.getMessage() for record in lines)
    assert re.fullmatch(r"email ok in \d+\.\d\ds: \{'sent': 0\}", ok)
    assert re.fullmatch(r"reminders failed in \d+\.\d\ds: SMTP server said no second line; "
                        r"the next run will try again", failed)
    assert lines[1].levelno == logging.ERROR and lines[1].exc_info  # the traceback follows


# --- the dashboard ------------------------------------------------------------------------------


def sign_in(app: Flask, auth: AuthActions, role: str, **kwargs: Any) -> None:
    with app.app_context():
        user = factories.user(role, **kwargs)
        db.session.commit()
        username = user.username
    assert auth.login(username).status_code == 302


@pytest.mark.parametrize("role", ["admin", "district_admin"])
def test_dashboard_warns_staff_when_the_scheduler_never_ran(
        app: Flask, client: FlaskClient, auth: AuthActions, role: str) -> None:
    sign_in(app, auth, role)
    page = client.get("/dashboard").text
    assert 'id="scheduler-warning"' in page
    assert "调度程序还没有运行过" in page


def test_dashboard_warns_when_the_scheduler_stopped_and_not_once_it_runs(
        app: Flask, client: FlaskClient, auth: AuthActions) -> None:
    sign_in(app, auth, "admin")
    beat(app, ago=timedelta(minutes=16))
    page = client.get("/dashboard").text
    assert "调度程序已有 16 分钟没有运行" in page
    beat(app)  # it runs again
    assert 'id="scheduler-warning"' not in client.get("/dashboard").text


def test_coordinators_see_no_scheduler_warning(app: Flask, client: FlaskClient,
                                               auth: AuthActions) -> None:
    with app.app_context():
        platform = factories.platform()
        db.session.commit()
        platform_id = platform.id
    sign_in(app, auth, "coordinator", platform_ids=[platform_id])
    page = client.get("/dashboard")
    assert page.status_code == 200
    assert 'id="scheduler-warning"' not in page.text


def test_dashboard_warning_in_english(app: Flask, client: FlaskClient, auth: AuthActions) -> None:
    sign_in(app, auth, "admin")
    client.get("/locale/en")
    page = client.get("/dashboard").text
    assert "has never run" in page and "调度程序" not in page


# --- request log paths ----------------------------------------------------------------------------


def test_access_log_path_hides_tracking_tokens_and_query_strings(app: Flask) -> None:
    def logged(url: str) -> str:
        with app.test_request_context(url) as context:
            app.preprocess_request()  # routing matched, as in a real request
            return logged_path(context.request.environ)

    assert logged("/track/s3cret-token-value?phone=13800138000") == "/track/<token>"
    assert logged("/platforms?q=13800138000") == "/platforms"
    assert logged("/no-such-page") == "/no-such-page"


def test_access_log_path_is_one_line() -> None:
    assert logged_path({"PATH_INFO": "/a\nb\x1b"}) == "/a\\x0ab\\x1b"
    assert len(logged_path({"PATH_INFO": "/" + "x" * 5000})) <= 301
