"""Mixed load against a real gunicorn, faults on its processes, and the checks afterwards.

Shared by ``tests/ops/test_load_faults.py`` (short runs in ``make test``) and
``bench/load_bench.py`` (the 60 s run in ``make bench``). Plain standard library
on the client side (urllib, html.parser, threads): every request is what a
browser would send — forms fetched first, CSRF token and hidden fields posted
back, one cookie jar (signed-in session) per simulated person.

A write is *acknowledged* when the server answers with the success redirect
(303 to the page of what was saved). Every write carries a unique marker (in a
title, topic or resolution) so that afterwards the database can be asked:
is every acknowledged write there exactly once, and is anything that was sent
but never acknowledged either absent or complete (never half-written)?
"""

from __future__ import annotations

import http.client
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from http.cookiejar import CookieJar
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
GUNICORN = shutil.which("gunicorn", path=str(BIN)) or shutil.which("gunicorn")
LOCAL = ZoneInfo("Asia/Shanghai")
# Demo accounts (consult_hub/demo/vocabulary.py): the district admin runs 江岸区, where the
# coordinator's platforms are.
COORDINATOR = ("coordinator", "coordinator-demo-2024")
DISTRICT = ("district", "district-demo-2024")
LOCKED = re.compile(r"database is locked|\blocked\b", re.IGNORECASE)


# -- Processes -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_env(database_url: str, instance_path: str, **extra: str) -> dict[str, str]:
    """A production-like environment: no debug, a real secret, limits high enough for a load run."""
    env = {**os.environ, "DATABASE_URL": database_url, "INSTANCE_PATH": instance_path,
           "SECRET_KEY": "load-test-secret-not-the-default", "PYTHONUNBUFFERED": "1",
           "SUBMISSION_RATE_LIMIT": "1000000 per hour", "TRACKING_RATE_LIMIT": "1000000 per hour",
           "API_READ_RATE_LIMIT": "1000000 per minute",
           "API_WRITE_RATE_LIMIT": "1000000 per minute",
           "SITE_URL": "http://127.0.0.1",
           # Limits this high never fire, so counting them per worker changes nothing here.
           "RATELIMIT_PER_WORKER_OK": "1", **extra}
    for name in ("FLASK_DEBUG", "FLASK_ENV", "MAIL_SERVER", "TEST_DATABASE_URL"):
        env.pop(name, None)
    return env


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid ...": comm may hold spaces, so split after the last ")".
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return sorted(found)


def _no_control_socket() -> list[str]:
    """gunicorn 27 opens a control socket at one fixed path per user: off, so that runs side by
    side (the SQLite and PostgreSQL suites, other benchmarks) do not fight over it."""
    assert GUNICORN is not None
    usage = subprocess.run([GUNICORN, "--help"], capture_output=True, text=True).stdout
    return ["--no-control-socket"] if "--no-control-socket" in usage else []


class Gunicorn:
    """``gunicorn -w N wsgi:app`` on 127.0.0.1 and a free port; stopped (and its workers) on
    exit."""

    def __init__(self, env: dict[str, str], workers: int, log_path: Path,
                 app: str = "wsgi:app", config: Path | None = None) -> None:
        if GUNICORN is None:
            raise RuntimeError("gunicorn is not installed (pip install -e '.[prod]')")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.workers = workers
        self.log_path = log_path
        self._log = log_path.open("wb")
        self.process = subprocess.Popen(
            [GUNICORN, *(["-c", str(config)] if config else []), "-w", str(workers),
             "-b", f"127.0.0.1:{self.port}", "--timeout", "60",
             "--graceful-timeout", "5", *_no_control_socket(), app],
            cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)
        self.killed: list[int] = []

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited:\n{self.log()}")
            try:
                with urllib.request.urlopen(self.url + "/", timeout=5) as response:
                    if response.status == 200 and len(self.worker_pids()) == self.workers:
                        return
            except (OSError, http.client.HTTPException):
                pass
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn not ready in {timeout} s:\n{self.log()}")

    def worker_pids(self) -> list[int]:
        return _children(self.process.pid)

    def kill_worker(self) -> int:
        """SIGKILL one worker, whatever it is doing; the arbiter starts a new one."""
        pid = random.choice(self.worker_pids())
        os.kill(pid, signal.SIGKILL)
        self.killed.append(pid)
        return pid

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")[-5000:]

    def stop(self) -> None:
        stop_process(self.process, stop_signal=signal.SIGQUIT)  # quick shutdown: load is over
        self._log.close()


def stop_process(process: subprocess.Popen[Any], grace: float = 10,
                 stop_signal: int = signal.SIGTERM) -> None:
    """Signal the process group, then SIGKILL it if it lingers (also on a failed test)."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, stop_signal)
        except ProcessLookupError:
            pass
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(process.pid, signal.SIGKILL)  # stray workers of a dead arbiter too
    except (ProcessLookupError, PermissionError):
        pass
    process.wait(30)


class Scheduler:
    """``flask --app consult_hub scheduler run``, the production scheduler process."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.env, self.log_path = env, log_path
        self.process: subprocess.Popen[str] | None = None
        self.reader: threading.Thread | None = None
        self.lines: list[str] = []
        self.runs = 0

    def start(self) -> None:
        self.runs += 1
        self.lines.append(f"--- start {self.runs}\n")
        self.process = subprocess.Popen(
            [str(BIN / "flask"), "--app", "consult_hub", "scheduler", "run"], cwd=ROOT,
            env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            start_new_session=True)
        self.reader = threading.Thread(target=self._read, args=(self.process,), daemon=True)
        self.reader.start()

    def _read(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            self.lines.append(line)

    def wait_for(self, text: str, timeout: float = 60) -> bool:
        """Whether the running process (since its ``--- start`` line) printed ``text``."""
        deadline = time.monotonic() + timeout
        started = max(i for i, line in enumerate(self.lines) if line.startswith("--- start"))
        while time.monotonic() < deadline:
            if any(text in line for line in self.lines[started:]):
                return True
            time.sleep(0.05)
        return False

    def kill(self) -> None:
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(30)
        self._close()

    def _close(self) -> None:
        if self.reader is not None:
            self.reader.join(10)
        if self.process is not None and self.process.stdout is not None:
            self.process.stdout.close()

    def stop(self) -> int | None:
        """SIGTERM: it finishes the running job and exits 0."""
        if self.process is None:
            return None
        stop_process(self.process, grace=60)
        self._close()
        self.log_path.write_text("".join(self.lines))
        return self.process.returncode

    def failures(self) -> list[str]:
        # A job's failure logs "<job> failed in …"; a successful run's counts may include
        # "'failed': 0" (the email and SMS outboxes), which is no failure.
        return [line for line in self.lines if " failed in " in line or "Traceback" in line]


# -- HTTP client and forms -------------------------------------------------------------------


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


@dataclass
class Response:
    status: int
    location: str
    body: str


class ConnectionFailed(Exception):
    """No HTTP answer: refused, reset or closed mid-request (a killed worker)."""


class Client:
    """One person's browser: a cookie jar, no automatic redirects, no keep-alive."""

    def __init__(self, base_url: str, timeout: float = 60) -> None:
        self.base_url = base_url
        self.timeout = timeout
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(CookieJar()), _NoRedirect())

    def request(self, method: str, path: str, data: list[tuple[str, str]] | None = None,
                ) -> Response:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        req = urllib.request.Request(self.base_url + path, data=body, method=method,
                                     headers={"Accept-Language": "zh-CN"})
        try:
            try:
                with self.opener.open(req, timeout=self.timeout) as answer:
                    return Response(answer.status, answer.headers.get("Location", ""),
                                    answer.read().decode("utf-8", "replace"))
            except urllib.error.HTTPError as answer:  # 3xx (no redirects followed), 4xx, 5xx
                with answer:
                    return Response(answer.code, answer.headers.get("Location", ""),
                                    answer.read().decode("utf-8", "replace"))
        # The outer try also covers reading an error's or a redirect's body: a worker killed
        # after sending the headers cuts it short (IncompleteRead), as it can any other body.
        except (urllib.error.URLError, OSError, http.client.HTTPException) as failed:
            raise ConnectionFailed(f"{method} {path}: {failed!r}") from failed


@dataclass
class Form:
    action: str
    method: str
    values: list[tuple[str, str]] = field(default_factory=list)
    options: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))

    def names(self) -> set[str]:
        return {name for name, _v in self.values} | set(self.options)

    def filled(self, **changes: str) -> list[tuple[str, str]]:
        """What the browser posts: the defaults, with ``changes`` typed over them."""
        data = [(k, v) for k, v in self.values if k not in changes]
        return data + list(changes.items())


class FormParser(HTMLParser):
    """The forms of a page with the values a browser would submit untouched."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self._select: tuple[str, list[tuple[str, bool]]] | None = None
        self._textarea: tuple[str, list[str]] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append(Form(a.get("action", ""), a.get("method", "get").lower()))
            return
        if not self.forms or "name" not in a or "disabled" in a:
            if tag == "option" and self._select is not None:
                self._select[1].append((a.get("value", ""), "selected" in a))
            return
        form = self.forms[-1]
        if tag == "input":
            kind = a.get("type", "text").lower()
            if kind in ("checkbox", "radio"):
                form.options[a["name"]].append(a.get("value", "on"))
                if "checked" in a:
                    form.values.append((a["name"], a.get("value", "on")))
            elif kind not in ("submit", "button", "image", "file", "reset"):
                form.values.append((a["name"], a.get("value", "")))
        elif tag == "select":
            self._select = (a["name"], [])
        elif tag == "textarea":
            self._textarea = (a["name"], [])
        elif tag == "option" and self._select is not None:
            self._select[1].append((a.get("value", ""), "selected" in a))

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._textarea[1].append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "select" and self._select is not None and self.forms:
            name, options = self._select
            self.forms[-1].options[name] = [value for value, _s in options]
            chosen = [value for value, selected in options if selected] or \
                [value for value, _s in options[:1]]
            self.forms[-1].values += [(name, value) for value in chosen[:1]]
            self._select = None
        elif tag == "textarea" and self._textarea is not None and self.forms:
            name, parts = self._textarea
            self.forms[-1].values.append((name, "".join(parts).removeprefix("\n")))
            self._textarea = None


def find_form(page: str, *, has: str = "", action: str = "") -> Form:
    parser = FormParser()
    parser.feed(page)
    for form in parser.forms:
        if form.method == "post" and (not has or has in form.names()) and action in form.action:
            return form
    raise LookupError(f"no post form with field {has!r} and action {action!r}")


# -- The load --------------------------------------------------------------------------------


@dataclass
class Site:
    """What the load needs to know of the data: ids to read, platforms to write to."""

    platform_ids: list[int]
    event_ids: list[int]
    references: list[str]
    staff_platform_ids: list[int]  # the demo coordinator's, in the demo district admin's district

    @classmethod
    def from_database(cls, engine: sa.Engine) -> Site:
        with engine.connect() as conn:
            platforms = list(conn.scalars(sa.text(
                "SELECT id FROM platforms WHERE status = 'active' ORDER BY id")))
            events = list(conn.scalars(sa.text(
                "SELECT id FROM events WHERE status IN ('held', 'concluded') ORDER BY id")))
            references = list(conn.scalars(sa.text(
                "SELECT reference FROM issues WHERE status IN ('resolved', 'planned', "
                "'constrained') ORDER BY id")))
            staff = list(conn.scalars(sa.text(
                "SELECT pc.platform_id FROM platform_coordinators pc "
                "JOIN users u ON u.id = pc.user_id JOIN platforms p ON p.id = pc.platform_id "
                "WHERE u.username = :name AND p.status = 'active' ORDER BY pc.platform_id"),
                {"name": COORDINATOR[0]}))
        if not (platforms and events and references and staff):
            raise RuntimeError("load the demo data first (flask --app consult_hub demo load)")
        return cls(platforms, events, references, staff)


@dataclass
class Write:
    kind: str  # event_plan, issue_raise, issue_submit, issue_assign, issue_resolve
    marker: str
    acknowledged: bool = False
    target: str = ""  # what the success redirect names: /manage/issues/12, a receipt reference


@dataclass
class Stats:
    started: float = field(default_factory=time.monotonic)
    finished: float = 0.0
    requests: int = 0
    by_kind: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    server_errors: list[str] = field(default_factory=list)  # 5xx
    locked: list[str] = field(default_factory=list)  # "database is locked" shown to a user
    unexpected: list[str] = field(default_factory=list)  # a status the step did not expect
    connection_failures: list[tuple[float, str]] = field(default_factory=list)  # (when, what)
    writes: list[Write] = field(default_factory=list)
    events: list[tuple[float, str]] = field(default_factory=list)  # faults, with their time
    lock: threading.Lock = field(default_factory=threading.Lock)

    def note(self, what: str) -> None:
        with self.lock:
            self.events.append((time.monotonic() - self.started, what))

    @property
    def errors(self) -> int:
        return (len(self.server_errors) + len(self.locked) + len(self.unexpected)
                + len(self.connection_failures))

    def summary(self) -> dict[str, Any]:
        elapsed = (self.finished or time.monotonic()) - self.started
        ordered = sorted(self.latencies)

        def pct(p: float) -> float:
            return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000, 1) \
                if ordered else 0.0

        acked = Counter(w.kind for w in self.writes if w.acknowledged)
        return {
            "seconds": round(elapsed, 1), "requests": self.requests,
            "requests_per_second": round(self.requests / elapsed, 1) if elapsed else 0,
            "p50_ms": pct(0.50), "p95_ms": pct(0.95), "p99_ms": pct(0.99),
            "server_errors": len(self.server_errors), "database_locked": len(self.locked),
            "unexpected_status": len(self.unexpected),
            "connection_failures": len(self.connection_failures),
            "writes_sent": len(self.writes), "writes_acknowledged": sum(acked.values()),
            "acknowledged_by_kind": dict(sorted(acked.items())),
            "requests_by_kind": dict(sorted(self.by_kind.items())),
            "faults": [f"{at:.1f}s {what}" for at, what in self.events],
        }


class Step(Exception):
    """A step got an answer it did not expect; the scenario stops there (already recorded)."""


class Person:
    """One simulated person: a browser, and the stats every request goes into."""

    def __init__(self, base_url: str, stats: Stats, rng: random.Random) -> None:
        self.client = Client(base_url)
        self.stats = stats
        self.rng = rng

    def call(self, kind: str, method: str, path: str, data: list[tuple[str, str]] | None = None,
             expect: tuple[int, ...] = (200,)) -> Response:
        began = time.monotonic()
        try:
            answer = self.client.request(method, path, data)
        except ConnectionFailed as failed:
            with self.stats.lock:
                self.stats.requests += 1
                self.stats.by_kind[kind] += 1
                self.stats.connection_failures.append(
                    (time.monotonic() - self.stats.started, str(failed)))
            raise
        took = time.monotonic() - began
        with self.stats.lock:
            self.stats.requests += 1
            self.stats.by_kind[kind] += 1
            self.stats.latencies.append(took)
            where = f"{method} {path} -> {answer.status}"
            if answer.status >= 500:
                self.stats.server_errors.append(f"{where}: {answer.body[:300]}")
            if LOCKED.search(answer.body):
                self.stats.locked.append(f"{where}: {LOCKED.search(answer.body).group(0)}")
            if answer.status < 500 and answer.status not in expect:
                self.stats.unexpected.append(f"{where}: {_message(answer.body)}")
        if answer.status not in expect:
            raise Step(f"{method} {path} -> {answer.status}")
        return answer

    def login(self, username: str, password: str) -> None:
        page = self.call("login", "GET", "/login")
        form = find_form(page.body, has="password")
        self.call("login", "POST", "/login",
                  form.filled(username=username, password=password), expect=(302, 303))

    def write(self, kind: str, marker: str, path: str, data: list[tuple[str, str]],
              success: str) -> Write:
        """POST a form; acknowledged only on the success redirect (``success`` in Location)."""
        record = Write(kind, marker)
        with self.stats.lock:
            self.stats.writes.append(record)
        answer = self.call(kind, "POST", path, data, expect=(302, 303))
        location = urllib.parse.urlsplit(answer.location).path
        if success not in location:
            with self.stats.lock:
                self.stats.unexpected.append(f"POST {path} -> {answer.location}")
            raise Step(f"{kind} redirected to {answer.location}")
        record.acknowledged, record.target = True, location
        return record


def _message(body: str) -> str:
    """The first error message of a page, to say why a form was refused."""
    found = re.search(r'class="[^"]*(?:error|invalid|alert)[^"]*"[^>]*>(.*?)<', body, re.S)
    return (found.group(1).strip() if found else body[:200]).replace("\n", " ")


class Load:
    """Threads of simulated people until ``stop`` is set; ``run`` returns the stats."""

    def __init__(self, base_url: str, site: Site, *, readers: int = 4, staff: int = 2,
                 residents: int = 1, run_id: str | None = None, seed: int = 1) -> None:
        self.base_url, self.site = base_url, site
        self.shape = {"reader": readers, "staff": staff, "resident": residents}
        self.run_id = run_id or f"L{int(time.time()) % 100000}{random.randrange(1000):03d}"
        self.stats = Stats()
        self.stop = threading.Event()
        self.seed = seed
        self._count = 0
        self._count_lock = threading.Lock()
        self.threads: list[threading.Thread] = []

    def marker(self, kind: str) -> str:
        with self._count_lock:
            self._count += 1
            return f"{self.run_id}-{kind}-{self._count:06d}"

    def start(self) -> None:
        self.stats = Stats()
        n = 0
        for role, count in self.shape.items():
            for _i in range(count):
                n += 1
                rng = random.Random(self.seed * 1000 + n)
                thread = threading.Thread(target=self._loop, args=(role, rng), daemon=True,
                                          name=f"{role}-{n}")
                self.threads.append(thread)
                thread.start()

    def finish(self) -> Stats:
        self.stop.set()
        for thread in self.threads:
            thread.join(120)
        self.stats.finished = time.monotonic()
        return self.stats

    def run(self, seconds: float, during: Callable[[Load], None] | None = None) -> Stats:
        self.start()
        try:
            if during is not None:
                during(self)
            self.stop.wait(max(0.0, seconds - (time.monotonic() - self.stats.started)))
        finally:
            stats = self.finish()
        return stats

    def _loop(self, role: str, rng: random.Random) -> None:
        scenario = {"reader": self.read, "staff": self.staff, "resident": self.submit}[role]
        person: Person | None = None
        while not self.stop.is_set():
            if person is None:
                person = Person(self.base_url, self.stats, rng)
            try:
                scenario(person)
            except (Step, ConnectionFailed):
                person = None  # start afresh: a new browser, signing in again
            except LookupError as missing:  # a page without the form it should have
                with self.stats.lock:
                    self.stats.unexpected.append(f"{role}: {missing}")
                person = None
            except Exception as crash:  # a harness bug must show, not hang the run
                with self.stats.lock:
                    self.stats.unexpected.append(f"harness: {crash!r}")
                person = None
                time.sleep(0.1)

    # -- scenarios ----------------------------------------------------------------------------

    def read(self, person: Person) -> None:
        """A resident browsing: one public page or feed."""
        s, rng = self.site, person.rng
        path = rng.choice([
            "/", "/platforms", f"/platforms/{rng.choice(s.platform_ids)}",
            "/events", "/events?when=past", f"/events/{rng.choice(s.event_ids)}",
            "/outcomes", f"/issues/{rng.choice(s.references)}",
            "/feeds/events.ics", "/feeds/outcomes.atom",
            f"/feeds/platforms/{rng.choice(s.platform_ids)}.ics", "/reports",
        ])
        person.call("read", "GET", path)

    def submit(self, person: Person) -> None:
        """A resident submits a problem on the public form and reads the receipt."""
        person.client = Client(self.base_url)  # each submission from a fresh browser
        platform = person.rng.choice(self.site.platform_ids)
        page = person.call("submit", "GET", f"/submit?platform={platform}")
        form = find_form(page.body, has="title")
        marker = self.marker("submit")
        record = person.write("issue_submit", marker, f"/submit?platform={platform}", form.filled(
            title=marker, description=f"负载测试提交的问题 {marker}", kind="doorstep",
            category="society", name="负载测试", phone="13800001234", consent="y"),
            success="/submit/receipt")
        record.target = ""  # unknown until the receipt is read (its worker may be killed first)
        receipt = person.call("submit", "GET", "/submit/receipt")
        found = re.search(r"[A-Z]+\d{2}-\d{5}", receipt.body)
        record.target = found.group(0) if found else ""

    def staff(self, person: Person) -> None:
        """A coordinator plans an event and raises a problem; the district assigns and resolves it.

        Two browsers per simulated pair (two signed-in sessions); the problem is handled
        by the same thread, so no two threads ever act on one problem.
        """
        if not hasattr(person, "district"):
            person.login(*COORDINATOR)
            district = Person(self.base_url, self.stats, person.rng)
            district.login(*DISTRICT)
            person.district = district
        district = person.district
        rng = person.rng
        platform = rng.choice(self.site.staff_platform_ids)
        if rng.random() < 0.5:
            self.plan_event(person, platform)
        issue_path = self.raise_problem(person, platform)
        self.act(district, issue_path, "assign")
        self.act(district, issue_path, "resolve")

    def plan_event(self, person: Person, platform: int) -> None:
        path = f"/manage/events/new?platform={platform}"
        page = person.call("event_plan", "GET", path)
        form = find_form(page.body, has="topic")
        start = (datetime.now(UTC) + timedelta(hours=person.rng.randint(2, 70))).astimezone(LOCAL)
        marker = self.marker("event")
        person.write("event_plan", marker, path, form.filled(
            topic=marker, category="society", format="onsite",
            starts_at=start.strftime("%Y-%m-%dT%H:%M"),
            ends_at=(start + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
            agenda="负载测试安排的活动"), success="/manage/events/")

    def raise_problem(self, person: Person, platform: int) -> str:
        path = f"/manage/issues/new?platform={platform}"
        page = person.call("issue_raise", "GET", path)
        form = find_form(page.body, has="title")
        marker = self.marker("raise")
        record = person.write("issue_raise", marker, path, form.filled(
            title=marker, description=f"负载测试登记的问题 {marker}", kind="governance",
            category="society", source="resident", platform_id=str(platform)),
            success="/manage/issues/")
        return record.target

    def act(self, person: Person, issue_path: str, action: str) -> None:
        page = person.call(f"issue_{action}", "GET", issue_path)
        form = find_form(page.body, action=f"/act/{action}")
        marker = self.marker(action)
        if action == "assign":
            departments = [d for d in form.options.get("department", []) if d]
            due = (datetime.now(LOCAL).date() + timedelta(days=14)).isoformat()
            data = form.filled(department=person.rng.choice(departments), due_on=due)
        else:
            data = form.filled(resolution=marker)
        record = person.write(f"issue_{action}", marker, form.action, data, success=issue_path)
        record.target = issue_path


# -- Checks ----------------------------------------------------------------------------------


@dataclass
class Verdict:
    acknowledged: int = 0
    verified: int = 0
    unacknowledged_sent: int = 0
    unacknowledged_stored: int = 0  # sent, answer lost, but complete in the database: fine
    problems: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"acknowledged": self.acknowledged, "verified": self.verified,
                "unacknowledged_sent": self.unacknowledged_sent,
                "unacknowledged_stored_complete": self.unacknowledged_stored,
                "problems": self.problems[:20]}


def check_writes(engine: sa.Engine, writes: list[Write], run_id: str) -> Verdict:
    """Every acknowledged write is stored exactly once; nothing is half-written."""
    verdict = Verdict()
    like = {"p": f"{run_id}-%"}
    with engine.connect() as conn:
        events = Counter(conn.scalars(
            sa.text("SELECT topic FROM events WHERE topic LIKE :p"), like))
        issues = {title: (ident, status, reference) for ident, title, status, reference in
                  conn.execute(sa.text("SELECT id, title, status, reference FROM issues "
                                       "WHERE title LIKE :p"), like)}
        issue_titles = Counter(conn.scalars(sa.text("SELECT title FROM issues WHERE title LIKE :p"),
                                            like))
        updates: dict[int, list[tuple[str, str, str | None]]] = defaultdict(list)
        for issue_id, action, to_status, note in conn.execute(sa.text(
                "SELECT u.issue_id, u.action, u.to_status, u.note FROM issue_updates u "
                "JOIN issues i ON i.id = u.issue_id WHERE i.title LIKE :p ORDER BY u.id"), like):
            updates[issue_id].append((action, to_status, note))
        audited = Counter(conn.scalars(sa.text(
            "SELECT a.entity_id FROM audit_log a JOIN issues i ON i.id = a.entity_id "
            "WHERE a.action = 'issue_create' AND a.entity_type = 'issues' AND i.title LIKE :p"),
            like))
        planned_audit = Counter(conn.scalars(sa.text(
            "SELECT e.topic FROM audit_log a JOIN events e ON e.id = a.entity_id "
            "WHERE a.entity_type = 'events' AND a.action = 'event_create' AND e.topic LIKE :p"),
            like))
        # Every problem in the database (the demo's too) starts its timeline when it is received.
        headless = conn.scalar(sa.text(
            "SELECT count(*) FROM issues i WHERE NOT EXISTS (SELECT 1 FROM issue_updates u "
            "WHERE u.issue_id = i.id)"))
    if headless:
        verdict.problems.append(f"{headless} problems without any timeline entry")
    by_path = {f"/manage/issues/{ident}": title for title, (ident, *_r) in issues.items()}

    for write in writes:
        if not write.acknowledged:
            verdict.unacknowledged_sent += 1
        else:
            verdict.acknowledged += 1
        problem = _check_one(write, events, issues, issue_titles, updates, audited,
                             planned_audit, by_path)
        if problem is None:
            if write.acknowledged:
                verdict.verified += 1
            elif _stored(write, events, issue_titles, updates, issues, by_path):
                verdict.unacknowledged_stored += 1
        elif write.acknowledged or not problem.startswith("missing"):
            verdict.problems.append(f"{write.kind} {write.marker}: {problem}")
    return verdict


def _stored(write: Write, events: Counter[str], titles: Counter[str],
            updates: dict[int, list[tuple[str, str, str | None]]],
            issues: dict[str, tuple[int, str, str]], by_path: dict[str, str]) -> bool:
    if write.kind == "event_plan":
        return events[write.marker] > 0
    if write.kind in ("issue_raise", "issue_submit"):
        return titles[write.marker] > 0
    title = by_path.get(write.target)
    if title is None:
        return False
    ident = issues[title][0]
    return any(action == write.kind.removeprefix("issue_") for action, *_r in updates[ident])


def _check_one(write: Write, events: Counter[str], issues: dict[str, tuple[int, str, str]],
               titles: Counter[str], updates: dict[int, list[tuple[str, str, str | None]]],
               audited: Counter[int], planned_audit: Counter[str],
               by_path: dict[str, str]) -> str | None:
    """None when the write is there once and whole, or absent and unacknowledged; else why not."""
    if write.kind == "event_plan":
        count = events[write.marker]
        if count == 0:
            return "missing" if write.acknowledged else None
        if count > 1:
            return f"stored {count} times"
        if planned_audit[write.marker] != 1:
            return f"event without its audit entry ({planned_audit[write.marker]})"
        return None
    if write.kind in ("issue_raise", "issue_submit"):
        count = titles[write.marker]
        if count == 0:
            return "missing" if write.acknowledged else None
        if count > 1:
            return f"stored {count} times"
        ident, _status, reference = issues[write.marker]
        timeline = updates[ident]
        if not timeline or timeline[0][0] != "receive" or \
                sum(1 for a, *_r in timeline if a == "receive") != 1:
            return f"timeline does not start with one receive entry: {timeline}"
        if audited[ident] != 1:
            return f"{audited[ident]} issue_create audit entries"
        if write.kind == "issue_submit" and write.acknowledged and write.target \
                and write.target != reference:
            return f"receipt shows {write.target}, stored as {reference}"
        if write.acknowledged and write.kind == "issue_raise" and \
                write.target != f"/manage/issues/{ident}":
            return f"redirected to {write.target}, stored as issue {ident}"
        return None
    # assign / resolve: the action on the problem at ``target``.
    action = write.kind.removeprefix("issue_")
    title = by_path.get(write.target)
    if title is None:
        return "missing" if write.acknowledged else None
    ident, status, _reference = issues[title]
    timeline = updates[ident]
    done = [entry for entry in timeline if entry[0] == action]
    if not done:
        return "missing" if write.acknowledged else None
    if len(done) > 1:
        return f"{action} stored {len(done)} times"
    if action == "resolve" and done[0][2] != write.marker:
        return f"resolution is {done[0][2]!r}"
    if timeline[-1][1] != status:
        return f"status {status} but the timeline ends at {timeline[-1][1]}"
    return None


def check_notifications(engine: sa.Engine) -> list[str]:
    """No reminder twice: one row per (dedupe key, person)."""
    with engine.connect() as conn:
        twice = conn.execute(sa.text(
            "SELECT dedupe_key, user_id, count(*) FROM notifications "
            "GROUP BY dedupe_key, user_id HAVING count(*) > 1")).all()
        tallies = conn.execute(sa.text(
            "SELECT month, scope_key, count(*) FROM monthly_tallies "
            "GROUP BY month, scope_key HAVING count(*) > 1")).all()
    return [f"notification {key} for user {user} stored {n} times" for key, user, n in twice] + \
        [f"tally {month} {scope} stored {n} times" for month, scope, n in tallies]


def frozen_months(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(sa.text(
            "SELECT count(*) FROM monthly_tallies WHERE scope_key = 'city'")) or 0)


def wait_until(condition: Callable[[], bool], timeout: float = 60, every: float = 0.01) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(every)
    return False


@dataclass
class FaultReport:
    scheduler_killed_at: float | None = None
    months_left_at_kill: int | None = None  # tallies the killed scheduler had not yet frozen
    worker_killed_at: float | None = None
    worker_pid: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"scheduler_killed_at_s": self.scheduler_killed_at,
                "months_left_at_scheduler_kill": self.months_left_at_kill,
                "worker_killed_at_s": self.worker_killed_at, "worker_pid": self.worker_pid}


def faults(server: Gunicorn, scheduler: Scheduler, engine: sa.Engine, app: Any,
           worker_at: float, report: FaultReport) -> Callable[[Load], None]:
    """What happens during the load (in the main thread while the people keep going).

    The scheduler starts with every job at once (reminders, the tally catch-up since the
    first platform, open data); it is killed with SIGKILL as soon as its first month is
    frozen — mid catch-up — and started again. At ``worker_at`` seconds one gunicorn worker
    is killed with SIGKILL, whatever request it is serving.
    """

    def run(load: Load) -> None:
        from consult_hub.core.db import utcnow
        from consult_hub.extensions import db
        from consult_hub.tallies import compute

        scheduler.start()
        if not scheduler.wait_for("scheduler started"):
            raise RuntimeError("".join(scheduler.lines))
        if not wait_until(lambda: frozen_months(engine) >= 1):
            raise RuntimeError("".join(scheduler.lines))
        scheduler.kill()
        report.scheduler_killed_at = round(time.monotonic() - load.stats.started, 2)
        load.stats.note("scheduler killed (SIGKILL)")
        with app.app_context():
            report.months_left_at_kill = len(compute.months_to_freeze(utcnow()))
            db.session.remove()
        scheduler.start()
        load.stats.note("scheduler restarted")
        load.stop.wait(max(0.0, worker_at - (time.monotonic() - load.stats.started)))
        if load.stop.is_set():
            return
        report.worker_pid = server.kill_worker()
        report.worker_killed_at = round(time.monotonic() - load.stats.started, 2)
        load.stats.note(f"worker {report.worker_pid} killed (SIGKILL)")

    return run


def check_scheduler_work(app: Any) -> list[str]:
    """After a killed and restarted scheduler: nothing left undone, tallies as computed afresh.

    Reminders: one more sweep may find events planned after the restarted scheduler's sweep;
    a second finds nothing (no reminder is written twice). Tallies: every complete month is
    frozen, and every stored row (city, districts, platforms) equals a fresh computation.
    """
    from consult_hub.core.db import utcnow
    from consult_hub.extensions import db
    from consult_hub.notifications.reminders import sweep_reminders
    from consult_hub.tallies import compute
    from consult_hub.tallies.models import MonthlyTally

    problems = []
    with app.test_request_context():
        now = utcnow()
        sweep_reminders(now)
        again = sweep_reminders(now)
        if sum(again.values()):
            problems.append(f"a second reminder sweep wrote {dict(again)}")
        left = compute.months_to_freeze(now)
        if left:
            problems.append(f"months not frozen after the restart: {left}")
        # Final months only: the running month's provisional count (the scheduler's
        # current_tally job) is behind the writes made after it ran, by design.
        stored = {(row.month, row.scope_key): row.metrics
                  for row in db.session.scalars(sa.select(MonthlyTally))
                  if compute.is_final(row.month, row.computed_at)}
        months = sorted({month for month, _key in stored})
        if not months:
            problems.append("no frozen tallies")
        for month in months:
            computed = {**compute.compute_month(month), **compute.department_scopes(month)}
            # Compared as stored: a stored row reads back with every metric key filled in.
            stored_form = MonthlyTally.metrics.type
            fresh = {(month, key): stored_form.process_result_value(
                        stored_form.process_bind_param(metrics, None), None)
                     for key, (_s, metrics) in computed.items()}
            mine = {k: v for k, v in stored.items() if k[0] == month}
            if mine != fresh:
                differ = sorted(str(k[1]) for k in set(mine) | set(fresh)
                                if mine.get(k) != fresh.get(k))
                problems.append(f"tally {month} differs from a fresh computation: {differ[:5]}")
        db.session.remove()
    return problems


@contextmanager
def running(*stoppables: Any) -> Iterator[None]:
    """Stop everything given on the way out, even when the body failed."""
    try:
        yield
    finally:
        for item in reversed(stoppables):
            try:
                item.stop()
            except Exception:  # stopping the rest matters more
                pass


def dump(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")
