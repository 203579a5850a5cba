"""A shared cache of public pages for anonymous visitors, invalidated by every write.

Most traffic is residents reading the same public pages. Rendering one costs a few
queries and a template; serving it again from memory costs a dictionary lookup. The
cache sits in front of Flask (a WSGI middleware), so a hit skips routing, the session,
the database and the template altogether.

What is cached: a ``200`` answer to an anonymous ``GET`` (no session or remember cookie,
no ``Authorization`` header) of a view marked ``@shared_page``, that set no cookie and
showed no one-time message. The key is the host, scheme, path and query string, and the
display mode (长者模式, core/display.py: its own cookie, one copy of a page per mode). Pages
carry no host of their own (every absolute link is built on ``SITE_URL``, ``core/links.py``),
but the host stays in the key so that a request naming a forged one never reaches an entry:
it is a miss, answered by Flask (400 outside ``TRUSTED_HOSTS``, which is never stored). The
locale needs no place in it because an anonymous visitor without a session always gets
the default language (choosing another one puts it in the session, which bypasses the cache).

Invalidation: every transaction that writes a table residents can see (anything but users,
tokens, notifications, the audit log and the scheduler's heartbeat) bumps the one row of
``site_versions`` as its last statement before COMMIT. Cached pages carry the version they were
rendered at; a worker reads the current version at most every ``PAGE_CACHE_RECHECK_SECONDS``
(and at once after its own writes), so another worker's or host's write shows within
that interval. ``PAGE_CACHE_SECONDS`` bounds an entry's life, for what changes with the
clock alone (an event moving from "upcoming" to "past"). ``PAGE_CACHE_SECONDS=0`` turns
the cache off.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from flask import Flask
from sqlalchemy import event
from sqlalchemy.orm import Mapped, Session, mapped_column
from werkzeug.http import parse_date

from consult_hub.core import display
from consult_hub.core.db import Base, UTCDateTime, utcnow

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")
ENVIRON_FLAG = "consult_hub.shared_page"
# Tables no public page shows: writing them leaves cached pages valid.
PRIVATE_TABLES = frozenset({"users", "api_tokens", "notifications", "audit_log",
                            "reference_counters", "site_versions", "scheduler_heartbeats",
                            "text_messages"})
MAX_ENTRIES = 4000
MAX_BODY_BYTES = 2 * 1024 * 1024
_CHANGED = "pagecache.changed"


class SiteVersion(Base):
    """One row: bumped by every transaction that changes what the public site shows."""

    __tablename__ = "site_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(sa.BigInteger, default=0, server_default="0")
    changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


def shared_page(view: F) -> F:
    """Mark a public view whose anonymous answer may be served to every anonymous visitor."""
    view.shared_page = True
    return view


# --- Writers: note public changes during the transaction, bump the version at its end. ------


def _note_flush(session: Session, _context: Any) -> None:
    if session.info.get(_CHANGED):
        return
    for instance in (*session.new, *session.dirty, *session.deleted):
        table = getattr(instance, "__tablename__", None)
        if table not in PRIVATE_TABLES and (instance not in session.dirty
                                            or session.is_modified(instance)):
            session.info[_CHANGED] = True
            return


def _note_statement(state: Any) -> None:
    """Bulk INSERT/UPDATE/DELETE through the session (upserts, bulk updates, text DML)."""
    session = state.session
    if session.info.get(_CHANGED) or state.is_select:
        return
    statement = state.statement
    table = getattr(statement, "table", None)
    if table is not None:
        if getattr(table, "name", None) not in PRIVATE_TABLES:
            session.info[_CHANGED] = True
        return
    if isinstance(statement, sa.TextClause):
        words = statement.text.lstrip().split(None, 3)
        if words and words[0].upper() in {"INSERT", "UPDATE", "DELETE"}:
            target = (words[2] if words[0].upper() != "UPDATE" else words[1]).strip('"')
            if target not in PRIVATE_TABLES:
                session.info[_CHANGED] = True


def _bump_before_commit(session: Session) -> None:
    session.flush()  # so that _note_flush has seen everything this transaction writes
    if not session.info.get(_CHANGED):
        return
    connection = session.connection()
    bumped = connection.execute(
        sa.update(SiteVersion).where(SiteVersion.id == 1)
        .values(version=SiteVersion.version + 1, changed_at=utcnow()))
    if not bumped.rowcount:
        connection.execute(sa.insert(SiteVersion).values(id=1, version=1, changed_at=utcnow()))


def _after_commit(session: Session) -> None:
    if session.info.pop(_CHANGED, False):
        for clock in list(_CLOCKS):
            clock.forget()


def _after_rollback(session: Session) -> None:
    session.info.pop(_CHANGED, None)


_listening = False


def listen_for_writes() -> None:
    """Install the session hooks once per process (every Session: web, API, scheduler, CLI)."""
    global _listening
    if _listening:
        return
    event.listen(Session, "after_flush", _note_flush)
    event.listen(Session, "do_orm_execute", _note_statement)
    event.listen(Session, "before_commit", _bump_before_commit)
    event.listen(Session, "after_commit", _after_commit)
    event.listen(Session, "after_rollback", _after_rollback)
    _listening = True


# --- Readers ----------------------------------------------------------------------------------


class VersionClock:
    """The site version as this process knows it: read at most every ``recheck`` seconds, and
    at once after this process wrote (``forget``)."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.recheck = float(app.config.get("PAGE_CACHE_RECHECK_SECONDS", 1.0))
        self._version: int | None = None
        self._checked = float("-inf")
        self._engine: sa.Engine | None = None
        _CLOCKS.append(self)

    def forget(self) -> None:
        self._checked = float("-inf")

    def read(self) -> int | None:
        """The site version; None if it cannot be read (not migrated yet, database away)."""
        now = time.monotonic()
        if self._version is None or now - self._checked >= self.recheck:
            if self._engine is None:
                from consult_hub.extensions import db

                with self.app.app_context():
                    self._engine = db.engine
            try:
                with self._engine.connect() as connection:
                    found = connection.execute(
                        sa.select(SiteVersion.version).where(SiteVersion.id == 1)).scalar()
            except sa.exc.DBAPIError:
                self.app.logger.warning("no site version: caches off for this request",
                                        exc_info=True)
                self._version = None
                return None
            self._version, self._checked = int(found or 0), now
        return self._version


_CLOCKS: list[VersionClock] = []


def site_version() -> int | None:
    """The current app's site version (for small caches of what rarely changes)."""
    from flask import current_app

    clock = current_app.extensions.get("site_version")
    return clock.read() if clock is not None else None


REMEMBERED = "core.remembered"  # app.extensions: (site version, {key: value})
MAX_REMEMBERED = 2000


def remembered(key: Any, compute: Callable[[], T]) -> T:
    """What ``compute`` finds for ``key`` (a name and every argument that changes the answer),
    computed once while the site version stands: for figures of the records alone, never of
    the clock (a list's total, the years that have proposals). Counting the city's 4,000
    outcomes for "共 N 项" took longer than the rest of the list's query."""
    from flask import current_app

    version = site_version()
    if version is None:
        return compute()
    kept = current_app.extensions.get(REMEMBERED)
    if kept is None or kept[0] != version or len(kept[1]) >= MAX_REMEMBERED:
        kept = current_app.extensions[REMEMBERED] = (version, {})  # replaced, never emptied
    if key not in kept[1]:
        kept[1][key] = compute()
    return kept[1][key]


# --- The WSGI middleware. ------------------------------------------------------------------


@dataclass
class Entry:
    version: int
    expires: float
    status: str
    headers: list[tuple[str, str]]
    body: bytes
    etag: str | None
    last_modified: datetime | None = None


class PageCache:
    """WSGI middleware serving shared public pages from memory (one cache per process)."""

    def __init__(self, app: Flask, wsgi_app: Callable[..., Any], clock: VersionClock) -> None:
        self.app = app
        self.wsgi_app = wsgi_app
        self.clock = clock
        self.ttl = float(app.config.get("PAGE_CACHE_SECONDS", 0))
        self.cookie_names = (app.config.get("SESSION_COOKIE_NAME", "session") + "=",
                             app.config.get("REMEMBER_COOKIE_NAME", "remember_token") + "=")
        self.entries: OrderedDict[tuple[str, ...], Entry] = OrderedDict()
        self.lock = threading.Lock()
        self.hits = self.misses = 0

    @property
    def recheck(self) -> float:
        return self.clock.recheck

    @recheck.setter
    def recheck(self, seconds: float) -> None:
        self.clock.recheck = seconds

    def clear(self) -> None:
        with self.lock:
            self.entries.clear()
        self.clock.forget()

    # WSGI --------------------------------------------------------------------------------

    def _key(self, environ: dict[str, Any]) -> tuple[str, ...] | None:
        if self.ttl <= 0 or environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
            return None
        if environ.get("HTTP_AUTHORIZATION"):
            return None
        cookies = environ.get("HTTP_COOKIE", "")
        if cookies and any(name in cookies for name in self.cookie_names):
            return None
        # The display mode (长者模式, a cookie of its own) renders other HTML: one copy each.
        return (environ.get("wsgi.url_scheme", "http"), environ.get("HTTP_HOST", ""),
                environ.get("SCRIPT_NAME", ""), environ.get("PATH_INFO", ""),
                environ.get("QUERY_STRING", ""), display.cache_variant(environ))

    def __call__(self, environ: dict[str, Any],
                 start_response: Callable[..., Any]) -> Iterable[bytes]:
        key = self._key(environ)
        if key is None:
            return self.wsgi_app(environ, start_response)
        version = self.clock.read()
        if version is None:
            return self.wsgi_app(environ, start_response)
        with self.lock:
            entry = self.entries.get(key)
            if entry is not None and (entry.version != version
                                      or entry.expires <= time.monotonic()):
                del self.entries[key]
                entry = None
            if entry is not None:
                self.entries.move_to_end(key)
        if entry is not None:
            self.hits += 1
            return self._serve(entry, environ, start_response)
        self.misses += 1
        return self._render(key, version, environ, start_response)

    def _serve(self, entry: Entry, environ: dict[str, Any],
               start_response: Callable[..., Any]) -> Iterable[bytes]:
        match = environ.get("HTTP_IF_NONE_MATCH")
        if match:
            unchanged = bool(entry.etag) and entry.etag in (tag.strip() for tag in match.split(","))
        else:  # RFC 9110 13.1.3: If-Modified-Since only where If-None-Match is absent
            since = parse_date(environ.get("HTTP_IF_MODIFIED_SINCE"))
            unchanged = (entry.last_modified is not None and since is not None
                         and entry.last_modified <= since)
        if unchanged:
            headers = [(name, value) for name, value in entry.headers
                       if name.lower() not in ("content-length", "content-type")]
            start_response("304 NOT MODIFIED", headers)
            return []
        start_response(entry.status, entry.headers)
        return [] if environ.get("REQUEST_METHOD") == "HEAD" else [entry.body]

    def _render(self, key: tuple[str, ...], version: int, environ: dict[str, Any],
                start_response: Callable[..., Any]) -> Iterable[bytes]:
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured["status"], captured["headers"] = status, headers
            return (start_response(status, headers, exc_info) if exc_info
                    else start_response(status, headers))

        body_iter = self.wsgi_app(environ, capture)
        if not environ.get(ENVIRON_FLAG) or environ.get("REQUEST_METHOD") != "GET":
            return body_iter
        try:
            body = b"".join(body_iter)
        finally:
            close = getattr(body_iter, "close", None)
            if close is not None:
                close()
        headers = captured.get("headers", [])
        if (captured.get("status", "").startswith("200") and len(body) <= MAX_BODY_BYTES
                and not any(name.lower() == "set-cookie" for name, _ in headers)):
            etag = next((value for name, value in headers if name.lower() == "etag"), None)
            modified = parse_date(next((value for name, value in headers
                                        if name.lower() == "last-modified"), None))
            entry = Entry(version, time.monotonic() + self.ttl, captured["status"],
                          list(headers), body, etag, modified)
            with self.lock:
                self.entries[key] = entry
                self.entries.move_to_end(key)
                while len(self.entries) > MAX_ENTRIES:
                    self.entries.popitem(last=False)
        return [body]


def init_page_cache(app: Flask) -> None:
    """Listen for writes (always: other processes read the version) and wrap ``app``."""
    listen_for_writes()
    clock = VersionClock(app)
    app.extensions["site_version"] = clock
    if float(app.config.get("PAGE_CACHE_SECONDS", 0)) > 0:
        cache = PageCache(app, app.wsgi_app, clock)
        app.extensions["page_cache"] = cache
        app.wsgi_app = cache
