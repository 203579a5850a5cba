"""Real scheduler processes against the test database: two at once, and one killed with -9."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from consult_hub.extensions import db
from consult_hub.notifications import email
from consult_hub.notifications.models import EmailStatus, Notification
from consult_hub.notifications.reminders import sweep_reminders
from consult_hub.tallies import compute
from tests.support import factories
from tests.support.services import Inbox, free_port

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2024, 11, 20, 2, 0, tzinfo=UTC)


@pytest.fixture()
def smtp_server():
    from aiosmtpd.controller import Controller

    port = free_port()
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port
    controller.stop()


def start_sweep(app, database_url: str, port: int, now: datetime = NOW) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": database_url, "MAIL_SERVER": "127.0.0.1",
           "INSTANCE_PATH": app.config["INSTANCE_PATH"],  # not the checkout's instance/
           "MAIL_PORT": str(port), "SECRET_KEY": "process-test", "PYTHONUNBUFFERED": "1"}
    env.pop("FLASK_DEBUG", None)
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "consult_hub", "scheduler", "sweep", "--now",
         now.isoformat()], env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True)


def test_two_schedulers_deliver_each_reminder_and_email_once(app, database_url, smtp_server):
    inbox, port = smtp_server
    with app.test_request_context():
        platform = factories.platform()
        factories.user("coordinator", platform_ids=[platform.id], email="li@example.org")
        factories.user("coordinator", platform_ids=[platform.id], email="wang@example.org")
        for n in range(60):
            start = NOW + timedelta(hours=2 + n % 20, minutes=n)
            factories.event(platform_id=platform.id, starts_at=start,
                            ends_at=start + timedelta(hours=1), topic=f"议题{n}")
        db.session.commit()
    first, second = start_sweep(app, database_url, port), start_sweep(app, database_url, port)
    outputs = [p.communicate(timeout=120)[0] for p in (first, second)]
    assert first.returncode == 0 and second.returncode == 0, outputs
    with app.app_context():
        rows = db.session.execute(sa.select(Notification.dedupe_key, Notification.user_id,
                                            Notification.email_status)).all()
    assert len(rows) == 120  # 60 events × 2 coordinators
    assert len({(key, user) for key, user, _s in rows}) == 120
    if {status for *_k, status in rows} != {EmailStatus.SENT}:
        # On a starved machine (the whole suite on two cores) an SMTP exchange can fail and be
        # put back for a retry a few minutes on: the next run sends it, still only once.
        assert EmailStatus.SENDING not in {status for *_k, status in rows}, outputs
        with app.app_context():
            mail = {name: app.config[name] for name in ("MAIL_SERVER", "MAIL_PORT")}
            app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port)
            try:
                while any(email.send_pending(NOW + timedelta(hours=6)).values()):
                    pass
            finally:
                app.config.update(mail)
            rows = db.session.execute(sa.select(Notification.email_status)).all()
    assert {status for *_k, status in rows} == {EmailStatus.SENT}, outputs  # what each sent
    ids = Counter(message["Message-ID"] for message in inbox.messages)
    assert len(inbox.messages) == 120 and max(ids.values()) == 1  # each email once


def test_killed_mid_sweep_loses_and_duplicates_nothing(app, database_url, smtp_server):
    from consult_hub.demo.generate import load_demo

    inbox, port = smtp_server
    with app.test_request_context():
        load_demo(platforms=120, seed=5, year=2024, force=True, now=NOW)
        db.session.execute(sa.update(factories.User).values(email="staff@example.org"))
        db.session.commit()
    killed = start_sweep(app, database_url, port)
    for line in killed.stdout:  # kill it as soon as the reminders are in, mid email and tallies
        if line.startswith("reminders:"):
            killed.send_signal(signal.SIGKILL)
            break
    killed.communicate(timeout=30)
    assert killed.returncode == -signal.SIGKILL
    with app.app_context():
        assert compute.months_to_freeze(NOW), "killed too late to prove anything"
    restarted = start_sweep(app, database_url, port)
    output = restarted.communicate(timeout=180)[0]
    assert restarted.returncode == 0, output
    with app.test_request_context():
        # Nothing was lost: one more sweep finds nothing left to remind or freeze …
        assert sum(sweep_reminders(NOW).values()) == 0
        assert compute.months_to_freeze(NOW) == []
        assert compute.frozen_city(datetime(2024, 10, 1).date()) == \
            compute.compute_month(datetime(2024, 10, 1).date())["city"][1]
        # … emails claimed by the dead process are taken over once their claim goes stale.
        email.send_pending(NOW + email.STALE_CLAIM + timedelta(minutes=1), limit=100_000)
        statuses = Counter(db.session.scalars(sa.select(Notification.email_status)))
        total = db.session.scalar(sa.select(sa.func.count(Notification.id)))
    assert total > 0 and statuses == {EmailStatus.SENT: total}
    # Nothing duplicated: one row per reminder (the database enforces it), and at most the one
    # email that was on the wire when the process died went out twice.
    sent = Counter(message["Message-ID"] for message in inbox.messages)
    assert len(sent) == total and sum(sent.values()) - len(sent) <= 1
