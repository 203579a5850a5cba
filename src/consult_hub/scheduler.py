"""The scheduler process.

Until the reminder and tally jobs land (see the scheduler issue) it runs one
heartbeat job that logs a tick each minute, so that ``make run`` already shows
the process shape production will use: web workers never schedule; exactly one
``flask --app consult_hub scheduler run`` process does.
"""

from __future__ import annotations

import logging
import signal
from datetime import UTC, datetime

from apscheduler.schedulers.blocking import BlockingScheduler
from flask import current_app

log = logging.getLogger("consult_hub.scheduler")


def heartbeat(now: datetime | None = None) -> None:
    """Log that the scheduler is alive; the real sweepers replace this."""
    log.info("scheduler tick at %s (no jobs yet)", (now or datetime.now(UTC)).isoformat())


def build_scheduler() -> BlockingScheduler:
    scheduler = BlockingScheduler(timezone=UTC)
    scheduler.add_job(heartbeat, "interval", minutes=1, id="heartbeat",
                      coalesce=True, max_instances=1, misfire_grace_time=30,
                      next_run_time=datetime.now(UTC))
    return scheduler


def run_forever() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    scheduler = build_scheduler()

    def stop(signum: int, _frame: object) -> None:
        log.info("signal %s: stopping the scheduler", signum)
        scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("scheduler started for %s", app.config["SQLALCHEMY_DATABASE_URI"].split("@")[-1])
    scheduler.start()
