"""The scheduler process: one per deployment, `flask --app consult_hub scheduler run`.

Jobs are defined here in code (in-memory job store) and each calls a plain
function taking ``now``: an idempotent sweeper asking "what is due and not yet
done?". Correctness lives in the database — unique dedupe keys, claimed emails,
upserted tallies — so a rerun, a missed run or a second scheduler process does
no harm. On PostgreSQL each job also takes an advisory lock, so two processes
don't do the same work twice (the second skips that run).

Choices:
- ``coalesce=True``: after a pause (laptop asleep, process stopped) run a job
  once, not once per missed interval — a sweep catches up everything anyway.
- ``misfire_grace_time``: a run that starts late still runs within the grace
  (interval jobs: their interval; the monthly freeze: a day) — later than that
  the next run, or the catch-up on start, does the work.
- ``max_instances=1``: a slow sweep is never overlapped by the next one.
"""

from __future__ import annotations

import logging
import signal
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask, current_app

from consult_hub.core import heartbeat
from consult_hub.core.db import utcnow
from consult_hub.extensions import db

log = logging.getLogger("consult_hub.scheduler")


def sweep_reminders(now: datetime) -> Any:
    from consult_hub.notifications.reminders import sweep_reminders as sweep

    return sweep(now)


def send_email(now: datetime) -> Any:
    """Send batches until nothing is due (retries wait for their time)."""
    from consult_hub.notifications.email import send_pending

    total: Counter[str] = Counter()
    while True:
        batch = send_pending(now)
        if not any(batch.values()):
            return dict(total)
        total.update(batch)


def send_sms(now: datetime) -> Any:
    """Text residents who asked for it about each public step (notifications/sms.py)."""
    from consult_hub.notifications.sms import run

    return run(now)


def freeze_tallies(now: datetime) -> Any:
    from consult_hub.tallies.compute import catch_up

    return [m.strftime("%Y-%m") for m in catch_up(now)]


def refresh_current_tallies(now: datetime) -> Any:
    from consult_hub.tallies.compute import refresh_current_month

    return refresh_current_month(now).strftime("%Y-%m")


def build_open_data(now: datetime) -> Any:
    from consult_hub.exchange.open_data import build_open_data as build

    return build(now)


def erase_expired_contacts(now: datetime) -> Any:
    from consult_hub.issues.retention import erase_expired_contacts as erase

    return erase(now)


@contextmanager
def job_lock(name: str) -> Iterator[bool]:
    """Hold a PostgreSQL advisory lock for the job's run; always granted on SQLite."""
    if db.engine.dialect.name != "postgresql":
        yield True
        return
    key = zlib.crc32(f"consult_hub:{name}".encode())
    with db.engine.connect() as conn:
        granted = conn.scalar(sa.select(sa.func.pg_try_advisory_lock(key)))
        try:
            yield bool(granted)
        finally:
            if granted:
                conn.scalar(sa.select(sa.func.pg_advisory_unlock(key)))
            conn.commit()


def run_job(app: Flask, name: str, func: Callable[[datetime], Any],
            now: datetime | None = None) -> Any:
    """Run one job in an app and request context (links resolve to SITE_URL).

    Logs one line per run — the job, its outcome (ok, failed or skipped) and how long it took
    (a failure's traceback follows its line) — and records the run as the job's heartbeat.
    """
    with app.app_context(), app.test_request_context(base_url=app.config["SITE_URL"] + "/"):
        started = time.monotonic()
        try:
            with job_lock(name) as granted:
                if not granted:
                    log.info("%s skipped: another scheduler holds the lock", name)
                    return None
                result = func(now or utcnow())
                seconds = time.monotonic() - started
                log.info("%s ok in %.2fs: %s", name, seconds, _one_line(result))
                _beat(name, "ok", seconds, _one_line(result))
                return result
        except Exception as exc:
            db.session.rollback()
            seconds = time.monotonic() - started
            log.exception("%s failed in %.2fs: %s; the next run will try again", name, seconds,
                          _one_line(exc))
            _beat(name, "failed", seconds, type(exc).__name__)
            return None
        finally:
            db.session.remove()


def _one_line(value: Any, limit: int = 300) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _beat(name: str, outcome: heartbeat.Outcome, seconds: float, detail: str) -> None:
    """Record the run for /healthz and the dashboard; a failure here never fails the job."""
    try:
        heartbeat.record(db.engine, name, utcnow(), outcome, round(seconds * 1000), detail)
    except Exception as exc:
        log.warning("%s: heartbeat not recorded: %s", name, _one_line(exc))


JOBS: tuple[tuple[str, Callable[[datetime], Any], dict[str, Any]], ...] = (
    ("reminders", sweep_reminders,
     {"trigger": "interval", "minutes": 5, "misfire_grace_time": 300}),
    ("email", send_email, {"trigger": "interval", "minutes": 1, "misfire_grace_time": 60}),
    ("sms", send_sms, {"trigger": "interval", "minutes": 1, "misfire_grace_time": 60}),
    ("monthly_tally", freeze_tallies,
     {"trigger": "cron", "day": 1, "hour": 2, "minute": 0, "misfire_grace_time": 86400}),
    # The month so far, for the reports: a nation's month took 24 s to count per request.
    ("current_tally", refresh_current_tallies,
     {"trigger": "interval", "minutes": 10, "misfire_grace_time": 600}),
    ("open_data", build_open_data,
     {"trigger": "cron", "hour": 3, "minute": 0, "misfire_grace_time": 86400}),
    # Residents' contact details, CONTACT_RETENTION_MONTHS after their problem closed.
    ("contact_retention", erase_expired_contacts,
     {"trigger": "cron", "hour": 4, "minute": 0, "misfire_grace_time": 86400}),
)


def build_scheduler(app: Flask) -> BlockingScheduler:
    scheduler = BlockingScheduler(timezone=UTC)
    start = datetime.now(UTC)
    for name, func, trigger in JOBS:
        options = dict(trigger)
        kind = options.pop("trigger")
        if kind == "cron":
            options["timezone"] = app.config["TIMEZONE"]  # 02:00 on the 1st in Wuhan
        scheduler.add_job(run_job, kind, args=(app, name, func), id=name, name=name,
                          coalesce=True, max_instances=1, replace_existing=True,
                          # Interval jobs run at once on start; missed tallies are caught up.
                          next_run_time=start, **options)
    return scheduler


def run_forever() -> None:
    """Run the scheduler in the foreground until SIGTERM or SIGINT."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    app = current_app._get_current_object()
    scheduler = build_scheduler(app)

    def stop(signum: int, _frame: object) -> None:
        log.info("signal %s: finishing the running job, then stopping", signum)
        scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("scheduler started (%s)", db.engine.url.render_as_string(hide_password=True))
    scheduler.start()
    log.info("scheduler stopped")
