"""The production configuration, as deploy/ sets it up: gunicorn with four workers from
``deploy/gunicorn.conf.py`` and the settings of ``deploy/consult-hub.env.example``, on
PostgreSQL, with the rate limits in Redis, behind one trusted proxy (the requests carry
the ``X-Forwarded-For``/``-Proto`` and ``Host`` headers nginx sets).

Shown here: the residents' submission limit holds across the workers and per client address;
``/healthz`` tells whether the scheduler runs; gunicorn and the scheduler log one line per
request and per job run. The test uses PostgreSQL and Redis on 127.0.0.1 whatever database
the rest of the suite runs on (``.ci/run`` starts both), in a database of its own.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import secrets
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from benchlib import loadgen
from consult_hub.areas.models import Area, AreaLevel
from consult_hub.config import normalise_database_url
from consult_hub.platforms.models import Platform, PlatformKind

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
LOCAL_PG = "postgresql://postgres@127.0.0.1:5432/test"
REDIS = "redis://127.0.0.1:6379/0"
WORKERS = 4
LIMIT = 3
CLIENT, OTHER_CLIENT = "203.0.113.7", "198.51.100.23"
PHONE = "13912345678"


def env_example() -> dict[str, str]:
    """deploy/consult-hub.env.example as systemd's EnvironmentFile reads it."""
    values = {}
    for line in (DEPLOY / "consult-hub.env.example").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values


def postgresql_server() -> sa.URL:
    url = sa.make_url(normalise_database_url(os.environ.get("TEST_DATABASE_URL") or LOCAL_PG))
    engine = sa.create_engine(url, connect_args={"connect_timeout": 3})
    try:
        with engine.connect():
            pass
    except sa.exc.OperationalError as exc:
        pytest.skip(f"PostgreSQL does not answer on {url.host}:{url.port} ({exc.orig}); "
                    ".ci/run starts it")
    finally:
        engine.dispose()
    return url


def redis_client() -> object:
    try:
        import redis
    except ImportError:
        pytest.skip("the redis package is missing (pip install -e '.[prod]'; `make install` does)")
    client = redis.Redis.from_url(REDIS, socket_connect_timeout=3)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.skip(f"Redis does not answer at {REDIS} ({exc}); .ci/run starts it")
    return client


@pytest.fixture()
def production(tmp_path: Path) -> Iterator[tuple[dict[str, str], int]]:
    """The example environment with a fresh PostgreSQL database (migrated) and a Redis key
    prefix of this run's own; both removed afterwards."""
    if os.environ.get("POSTGRESQL_RUN_ALONGSIDE") and not os.environ.get("TEST_DATABASE_URL"):
        pytest.skip("production runs on PostgreSQL either way: this runs once, in the "
                    "PostgreSQL run beside this one (scripts/run-tests.sh)")
    server = postgresql_server()
    redis = redis_client()
    name = f"consult_hub_production_{os.getpid()}"
    prefix = f"consult_hub_test_{os.getpid()}_{secrets.token_hex(4)}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    example = env_example()
    env = {key: value for key, value in os.environ.items()
           if key not in ("FLASK_DEBUG", "FLASK_ENV", "TEST_DATABASE_URL", "MAIL_SERVER")}
    env.update(example)
    env.update({
        "SECRET_KEY": secrets.token_hex(32),  # blank in the example: to be filled in
        "DATABASE_URL": server.set(database=name).render_as_string(hide_password=False),
        "RATELIMIT_STORAGE_URI": REDIS,
        "RATELIMIT_KEY_PREFIX": prefix,
        "SUBMISSION_RATE_LIMIT": f"{LIMIT} per hour",
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "MAIL_SERVER": "",
        "PYTHONUNBUFFERED": "1",
    })
    try:
        migrated = subprocess.run(
            [sys.executable, "-m", "flask", "--app", "consult_hub", "db", "upgrade"], cwd=ROOT,
            env=env, capture_output=True, text=True, timeout=120)
        assert migrated.returncode == 0, migrated.stdout + migrated.stderr
        engine = sa.create_engine(normalise_database_url(env["DATABASE_URL"]))
        with Session(engine) as session:  # a platform to submit problems to
            district = Area(code="420102", name="江岸区", level=AreaLevel.DISTRICT)
            street = Area(code="S1", name="大智街道", level=AreaLevel.STREET, parent=district)
            community = Area(code="C1", name="上海街社区", level=AreaLevel.COMMUNITY, parent=street)
            session.add_all([district, street, community])
            session.flush()
            platform = Platform(code="P1", name="上海街社区议事厅", kind=PlatformKind.CONSULT_ROOM,
                                area_id=community.id, district_id=district.id,
                                address="上海路1号", established_on=date(2023, 1, 1))
            session.add(platform)
            session.commit()
            platform_id = platform.id
        engine.dispose()
        yield env, platform_id
    finally:
        for key in redis.scan_iter(match=f"*{prefix}*"):
            redis.delete(key)
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@dataclass
class Answer:
    status: int
    headers: http.client.HTTPMessage
    body: str


class Proxied:
    """Requests as nginx forwards them: the site's Host, the client's address in
    X-Forwarded-For, https in X-Forwarded-Proto; a new connection for every request."""

    def __init__(self, port: int, host: str, platform_id: int) -> None:
        self.port, self.host = port, host
        self.submit = f"/submit?platform={platform_id}"

    def request(self, method: str, path: str, *, client: str, body: str | None = None,
                cookie: str = "") -> Answer:
        headers = {"Host": self.host, "X-Forwarded-For": client, "X-Forwarded-Proto": "https",
                   "Accept-Language": "zh-CN"}
        if cookie:
            headers["Cookie"] = cookie
        if body is not None:  # a browser's form post (over HTTPS the CSRF check wants Referer)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Referer"] = f"https://{self.host}{path}"
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            return Answer(response.status, response.headers, response.read().decode())
        finally:
            connection.close()

    def submission(self, client: str, n: int) -> tuple[str, str]:
        """A resident's filled-in form (body, cookie): fetched first, as a browser does."""
        page = self.request("GET", self.submit, client=client)
        assert page.status == 200, page.body[:500]
        cookie = "; ".join(value.split(";", 1)[0] for value in page.headers.get_all("Set-Cookie"))
        form = loadgen.find_form(page.body, has="title")
        body = urllib.parse.urlencode(form.filled(
            title=f"楼道灯不亮{n}", description="三单元楼道的灯坏了一个月。",
            kind="doorstep", category="society", name="张女士", phone=PHONE, consent="y"))
        return body, cookie


def test_production_site_limits_submissions_across_workers_and_reports_its_health(
        production: tuple[dict[str, str], int], tmp_path: Path) -> None:
    if loadgen.GUNICORN is None:
        pytest.skip("gunicorn missing (pip install -e '.[prod]'; `make install` does)")
    env, platform_id = production
    server = loadgen.Gunicorn(env, WORKERS, tmp_path / "gunicorn.log",
                              config=DEPLOY / "gunicorn.conf.py")
    with loadgen.running(server):
        server.wait_ready()
        site = Proxied(server.port, env["SITE_URL"].split("://", 1)[1], platform_id)

        # /healthz: the database answers, but no scheduler has run yet.
        health = site.request("GET", "/healthz", client=CLIENT)
        assert health.status == 503
        assert json.loads(health.body)["problems"] == ["scheduler has never run"]

        # One resident (one address) submits again and again, on connections of their own
        # at the same moment, so that the four workers share the work. Which worker accepts a
        # connection is up to the kernel: about one burst in five lands on a single worker,
        # which would prove nothing about sharing, so a burst that did is repeated by another
        # resident (at most four more), each held to the same limit.
        log_path = tmp_path / "gunicorn.log"

        def burst(address: str) -> list[int]:
            forms = [site.submission(address, n) for n in range(3 * LIMIT)]
            answers: list[int] = []
            start = threading.Barrier(len(forms))

            def post(body: str, cookie: str) -> None:
                start.wait()
                answers.append(site.request("POST", site.submit, client=address, body=body,
                                            cookie=cookie).status)

            threads = [threading.Thread(target=post, args=form) for form in forms]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(60)
            assert sorted(answers) == [303] * LIMIT + [429] * (2 * LIMIT), (address, answers)
            return answers

        def workers_of(address: str) -> set[str]:
            return set(re.findall(rf'^{re.escape(address)} "POST /submit" \d{{3}} \d+ms <(\d+)>$',
                                  log_path.read_text(), re.MULTILINE))

        statuses = burst(CLIENT)
        spread = [CLIENT] if len(workers_of(CLIENT)) >= 2 else []
        for n in range(4):
            if spread:
                break
            address = f"203.0.113.{20 + n}"
            burst(address)
            spread = [address] if len(workers_of(address)) >= 2 else []
        assert spread, "every burst of submissions reached one worker"
        # An address slipped in front of the proxy's does not make a new client …
        body, cookie = site.submission(CLIENT, 99)
        assert site.request("POST", site.submit, client=f"192.0.2.1, {CLIENT}", body=body,
                            cookie=cookie).status == 429
        # … while another resident is not held back by the first one's limit.
        body, cookie = site.submission(OTHER_CLIENT, 100)
        assert site.request("POST", site.submit, client=OTHER_CLIENT, body=body,
                            cookie=cookie).status == 303

        # The scheduler's first job runs write the heartbeat: healthy.
        scheduler = loadgen.Scheduler(env, tmp_path / "scheduler.log")
        scheduler.start()
        try:
            # Every job's first run, so that SIGTERM finds it idle (stopping in the middle of
            # jobs is tests/ops/test_scheduler_processes.py's subject).
            jobs = ("email", "reminders", "current_tally", "monthly_tally", "open_data")
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not all(
                    any(f"{job} ok in" in line for line in scheduler.lines) for job in jobs):
                time.sleep(0.05)
            assert all(any(f"{job} ok in" in line for line in scheduler.lines)
                       for job in jobs), "".join(scheduler.lines)
        finally:
            assert scheduler.stop() == 0, "".join(scheduler.lines)
        health = site.request("GET", "/healthz", client=CLIENT)
        assert health.status == 200, health.body
        assert json.loads(health.body)["status"] == "ok"
        # A worker writes its access line after the response has gone out, and the quick
        # shutdown below (SIGQUIT) does not wait for it: wait for the line before stopping.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not re.search(r'"GET /healthz" 200',
                                                            log_path.read_text()):
            time.sleep(0.05)

    # One line per job run, with its outcome and duration.
    job_lines = [line for line in scheduler.lines if "consult_hub.scheduler" in line]
    assert any(re.search(r"consult_hub\.scheduler email ok in \d+\.\d\ds", line)
               for line in job_lines), job_lines
    assert not [line for line in job_lines if " failed in " in line], job_lines

    # One access line per request: the client's address (not the proxy's), method, path without
    # query string or secret, status, duration, and the worker: the posts spread over workers.
    log = (tmp_path / "gunicorn.log").read_text()
    posts = re.findall(
        rf'^{re.escape(CLIENT)} "POST /submit" (\d{{3}}) \d+ms <(\d+)>$', log, re.MULTILINE)
    assert sorted(status for status, _pid in posts) == sorted(map(str, [*statuses, 429])), log
    assert re.search(rf'^{re.escape(OTHER_CLIENT)} "POST /submit" 303 \d+ms <\d+>$', log,
                     re.MULTILINE)
    assert re.search(r'"GET /healthz" 503 \d+ms', log) and re.search(r'"GET /healthz" 200', log)
    assert PHONE not in log and "张女士" not in log and "127.0.0.1 \"POST" not in log


def test_deploy_files_agree_with_the_app_and_the_readme(app: object) -> None:
    """What deploy/ names exists, and what the README's Production section says is there."""
    from consult_hub.config import PROJECT_ROOT, Config

    readme = (ROOT / "README.md").read_text()
    files = sorted(str(path.relative_to(ROOT)) for path in DEPLOY.rglob("*") if path.is_file()
                   and "__pycache__" not in path.parts)
    assert files == ["deploy/consult-hub.env.example", "deploy/gunicorn.conf.py",
                     "deploy/nginx/consult-hub.conf",
                     "deploy/systemd/consult-hub-scheduler.service",
                     "deploy/systemd/consult-hub-web.service"]
    assert all(f"`{name}`" in readme for name in files), "README's Production table"

    # Every variable of the example is a setting the app or gunicorn reads, in the README's table.
    example = (DEPLOY / "consult-hub.env.example").read_text()
    names = re.findall(r"^#?([A-Z][A-Z0-9_]+)=", example, re.MULTILINE)
    read = (PROJECT_ROOT / "src/consult_hub/config.py").read_text() + \
        (DEPLOY / "gunicorn.conf.py").read_text()
    assert {"SECRET_KEY", "DATABASE_URL", "SITE_URL", "TRUSTED_PROXIES",
            "RATELIMIT_STORAGE_URI", "SESSION_COOKIE_SECURE"} <= set(names)
    assert [name for name in names if f'"{name}"' not in read] == []
    assert [name for name in names if f"`{name}`" not in readme] == []

    # Both units run the checkout's code with the one environment file.
    web = (DEPLOY / "systemd/consult-hub-web.service").read_text()
    scheduler = (DEPLOY / "systemd/consult-hub-scheduler.service").read_text()
    assert "ExecStart=/srv/consult-hub/.venv/bin/gunicorn -c deploy/gunicorn.conf.py" in web
    assert "ExecStart=/srv/consult-hub/.venv/bin/flask --app consult_hub scheduler run" in scheduler
    for unit in (web, scheduler):
        assert "WorkingDirectory=/srv/consult-hub\n" in unit
        assert "EnvironmentFile=/etc/consult-hub/env\n" in unit

    # nginx: gunicorn's address, the app's static folder, the app's largest request body.
    nginx = (DEPLOY / "nginx/consult-hub.conf").read_text()
    assert "server 127.0.0.1:8000;" in nginx and '"127.0.0.1:8000"' in read
    static = Path(app.static_folder).relative_to(PROJECT_ROOT)
    assert f"alias /srv/consult-hub/{static}/;" in nginx
    body = int(re.search(r"client_max_body_size (\d+)m;", nginx).group(1))
    assert body * 1024 * 1024 == Config().MAX_CONTENT_LENGTH
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in nginx
    assert "proxy_set_header X-Forwarded-Proto $scheme;" in nginx
    assert "proxy_set_header Host $host;" in nginx
