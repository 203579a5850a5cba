"""Hostile input for every write route: payloads, hypothesis strategies and the checks.

``tests/test_hostile_input.py`` drives every route listed in ``tests/access_*.py`` with what
these strategies draw, then checks the answer with :class:`Harness`:

- never a 500 (with ``TESTING`` an exception escaping the view fails the test outright);
- a refusal is a 4xx naming the field and changes nothing in the database (the whole
  database is compared, row by row, before and after);
- whatever is stored holds no forbidden characters (:data:`FORBIDDEN`), and markup typed
  into any field never becomes markup on the staff or public pages that show it.

The valid data of each form comes from the access matrix (``Route.data``); the API routes
there carry placeholder bodies, so their valid bodies live here in :data:`API_BODIES`.
"""

from __future__ import annotations

import functools
import json
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from html.parser import HTMLParser
from io import BytesIO
from typing import Any
from urllib.parse import urlencode

import sqlalchemy as sa
from flask import Flask, request_started
from flask.testing import FlaskClient
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from werkzeug.test import TestResponse

from consult_hub.auth.tokens import issue_token
from consult_hub.core.db import utcnow
from consult_hub.extensions import db
from consult_hub.issues.lifecycle import TRANSITIONS
from tests.support import factories
from tests.support.access import OK, Route, World, departments, reload_world, world_keys
from tests.support.auth import session_csrf_token
from tests.support.world import build_world


def hypothesis_settings(default_examples: int) -> settings:
    """Derandomised, bounded examples (``HOSTILE_EXAMPLES`` draws more, ``HOSTILE_RANDOM=1``
    explores beyond them); shrinking replays a failure hundreds of times through the app, so
    it is opt-in (``HOSTILE_SHRINK=1``) when debugging."""
    return settings(
        max_examples=int(os.environ.get("HOSTILE_EXAMPLES", default_examples)), deadline=None,
        database=None, derandomize=os.environ.get("HOSTILE_RANDOM") != "1", print_blob=False,
        phases=[Phase.explicit, Phase.generate] + ([Phase.shrink]
                                                   if os.environ.get("HOSTILE_SHRINK") else []),
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                               HealthCheck.data_too_large],
    )

# --- Payloads -------------------------------------------------------------------------------

MARK = "xss("  # in every markup payload; it must never reach a script, handler or URL

# What no stored text may hold: C0 controls but tab and newlines, DEL, C1 controls, the bidi
# embedding/override/isolate controls ("Trojan Source"), and lone surrogates.
FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069"
                       "\ud800-\udfff]")

CONTROLS = ["\x00", "\x01", "\x07", "\x08", "\x0b", "\x0c", "\x1b", "\x1b[31m", "\x1f", "\x7f",
            "\x85", "\x9b", "\u202e", "\u202a", "\u2066", "\u2069", "\r", "\n", "\t"]
ZERO_WIDTH = ["\u200b", "\u200c", "\u200d", "\u200e", "\u200f", "\u2060", "\ufeff"]
HTML = [
    "<script>xss(1)</script>",
    '<img src=x onerror="xss(2)">',
    '"><svg onload=xss(3)>',
    "'><body onload='xss(4)'>",
    "[点这里](javascript:xss(5))",
    '<a href="javascript:xss(6)">链接</a>',
    '<iframe src="javascript:xss(7)"></iframe>',
    "</textarea><script>xss(8)</script>",
    "</title><script>xss(9)</script>",
    "<style>*{background:url('javascript:xss(10)')}</style>",
    '![图](x" onerror="xss(11))',
    "<a href='jav&#x09;ascript:xss(12)'>x</a>",
    "<details open ontoggle=xss(13)>",
    "{{ xss(14) }}{% if 1 %}{% endif %}",
    "[x](JaVaScRiPt:xss(15))",
    "<math><mtext><table><mglyph><style><img src=x onerror=xss(16)>",
    "<p style=\"background:url(javascript:xss(17))\">x</p>",
    "[x](&#106;avascript:xss(18))",
    "<<script>xss(19)//<</script>",
    "\u202e<script>xss(20)</script>",
]
SQL = ["' OR '1'='1", "'; DROP TABLE issues; --", '" OR ""="', "1; SELECT pg_sleep(10)--",
       "%' UNION SELECT password_hash FROM users --", "\\", "\\'", "%", "_", "%%",
       "%(name)s", "{0}", "%s%s%s%n", "${7*7}", "NULL", "null", "None", "undefined"]
MIXED = ["раураl.com", "Аdmin", "中文English混合العربيةעברית", "Z̤͔ͧ̑̓ä͖̭̈̇lͮ̒ͫǫ̗͕", "👨‍👩‍👧‍👦🏳️‍🌈",
         "﷽", "𠜎𠜱𠝹", "ｆｕｌｌｗｉｄｔｈ　全角", "ﬀİıß", "a\u0301\u0301\u0301",
         "\ufffd", "\uffff"]
NUMBERS = ["-1", "0", "-0", "2147483648", "-2147483649", "9223372036854775808", "99999999999",
           "²", "٣٣", "1e10",
           "99999999999999999999999", "1e309", "NaN", "inf", "-inf", "1.5", "1e3", "０", "１２",
           "٣", "0x10", " 12 ", "1_000", "+5", "32768", "65536"]
DATES = ["2024-02-30", "2024-13-01", "0000-01-01", "0001-01-01", "9999-12-31", "10000-01-01",
         "1900-01-01", "2024-1-1", "昨天", "2024-01-01T25:61", "0001-01-01T00:00",
         "9999-12-31T23:59", "1970-01-01T00:00", "2024-06-01T09:00:00+08:00", "２０２４-０１-０１",
         "2024-06-01 09:00", "T", "2024-06-01T09:00:00Z"]
BLANKS = ["", " ", "\t", "\n", "\r\n", "\u3000", "\u00a0"]
# Bytes a browser (or anything else) may send that are not UTF-8, or are UTF-8 for a surrogate.
BAD_BYTES = [b"\xff\xfe", b"\xed\xa0\x80", b"\xc0\xaf", b"caf\xe9", b"\x80abc", b"\xf4\x90\x80\x80"]
SIZES = [33, 65, 101, 121, 201, 255, 1001, 2001, 5001, 20001, 50001]


def _join(parts: list[str]) -> str:
    return "".join(parts)


safe_text = st.text(st.characters(codec="utf-8", categories=["L", "N", "P", "Zs"]), max_size=8)


def with_control() -> st.SearchStrategy[str]:
    """Ordinary text with control, zero-width or direction characters inside."""
    odd = st.sampled_from(CONTROLS + ZERO_WIDTH)
    return st.lists(st.one_of(safe_text, odd), min_size=1, max_size=5).map(_join).filter(bool)


def oversize() -> st.SearchStrategy[str]:
    return st.builds(lambda n, unit: (unit * n)[:n], st.sampled_from(SIZES),
                     st.sampled_from(["长", "a", "<b>", "\u200b", "😀"]))


def form_text() -> st.SearchStrategy[str | bytes]:
    """One value of one form field, as a hostile client would send it."""
    return st.one_of(
        st.sampled_from(HTML), st.sampled_from(SQL + MIXED), st.sampled_from(NUMBERS),
        st.sampled_from(DATES + BLANKS),
        with_control(),
        st.text(max_size=30),
        oversize(),
        st.sampled_from(BAD_BYTES),
        st.builds(lambda a, b: a + b, st.sampled_from(HTML), with_control()),
    )


def _json_string() -> st.SearchStrategy[str]:
    # Lone surrogates are valid JSON escapes (\ud800) though not encodable text.
    surrogate = st.sampled_from(["\ud800", "\udfff", "a\udc80b"])
    return st.one_of(form_text().filter(lambda v: isinstance(v, str)), surrogate,
                     st.text(st.characters(codec=None), max_size=10))


json_scalar = st.one_of(
    st.none(), st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([0, -1, 2**31, 2**31 - 1, 2**63, -(2**63) - 1, 10**30, 1.0, 2.5, -0.0,
                     1e308, 1e-308]),
    st.floats(allow_nan=False, allow_infinity=False),
    _json_string(),
)
json_value = st.recursive(json_scalar, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)),
    max_leaves=6)

# Whole bodies that are not a JSON object, or not JSON, or not what the header says.
BAD_BODIES: list[tuple[bytes, str]] = [
    (b"", "application/json"), (b"null", "application/json"), (b"[]", "application/json"),
    (b'"topic"', "application/json"), (b"42", "application/json"), (b"{", "application/json"),
    (b"\xff\xfe{}", "application/json"), (b'{"topic": "\xff\xfe"}', "application/json"),
    (b"\xef\xbb\xbf{}", "application/json"), (b"{" * 5000, "application/json"),
    (b"[" * 100000 + b"]" * 100000, "application/json"), (b'{"a": NaN}', "application/json"),
    (b'{"a": Infinity}', "application/json"), (b"{'a': 1}", "application/json"),
    (b'{"a": ' + b"9" * 5000 + b"}", "application/json"),
    ('{"topic": "长"}'.encode("utf-16"), "application/json"),
    ('{"topic": "é"}'.encode("latin-1"), "application/json; charset=latin-1"),
    (b"topic=x", "application/x-www-form-urlencoded"), (b"{}", "text/plain"),
    (b"<xml/>", "application/xml"), (b"{}", "multipart/form-data; boundary=x"),
]

# --- Mutations ------------------------------------------------------------------------------


@dataclass
class Mutation:
    """What was done to the valid input: ``replace``, ``drop``, ``duplicate`` or ``extra``."""

    kind: str
    name: str = ""
    value: Any = None

    def names(self) -> set[str]:
        return {self.name} if self.name else set()


def contains_mark(value: Any) -> bool:
    if isinstance(value, str):
        return MARK in value
    if isinstance(value, dict):
        return any(contains_mark(k) or contains_mark(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return any(contains_mark(v) for v in value)
    return False


# --- The database before and after ----------------------------------------------------------

# Columns that change on every request and say nothing about the input.
VOLATILE = {("users", "last_login_at"), ("users", "session_token"),
            ("api_tokens", "last_used_at")}
Snapshot = dict[str, dict[tuple[Any, ...], dict[str, Any]]]


def snapshot(*, volatile: bool = False, tables: Iterable[str] | None = None) -> Snapshot:
    """Every row of every table, keyed by primary key (needs an app context).

    ``volatile`` keeps the columns every request touches and their Python types (for
    :func:`restore`), reading only ``tables`` if given (the others are known to be empty);
    without it the rows come as JSON, all tables in one query (fast enough to take after
    every example).
    """
    if not volatile:
        return without_volatile(json_snapshot())
    result: Snapshot = {}
    with db.engine.connect() as conn:
        for table in _tables():
            rows = {}
            if tables is not None and table.name not in tables:
                result[table.name] = rows
                continue
            for row in conn.execute(sa.select(table)).mappings():
                values = dict(row)
                rows[tuple(values[c.name] for c in _key(table))] = values
            result[table.name] = rows
    return result


@functools.cache
def _tables() -> list[sa.Table]:
    """Every table, each after those it refers to (sorting them cost 0.5 ms a time)."""
    return db.metadata.sorted_tables


def _key(table: sa.Table) -> list[sa.Column[Any]]:
    return list(table.primary_key.columns) or list(table.columns)


@dataclass(frozen=True)
class _SnapshotQuery:
    """The one statement that reads every table as JSON, as SQL text, with each table's key."""

    sql: str
    tables: list[tuple[str, list[str]]]  # (table, its key's columns), in the statement's order


# Built once per dialect: building and compiling the statement (a scalar subquery per table)
# cost most of a snapshot's time (5.4 ms on SQLite, 0.6 ms without), and every example takes one.
_SNAPSHOT_QUERIES: dict[str, _SnapshotQuery] = {}


def _snapshot_query() -> _SnapshotQuery:
    dialect = db.engine.dialect
    query = _SNAPSHOT_QUERIES.get(dialect.name)
    if query is None:
        postgresql = dialect.name == "postgresql"
        tables = _tables()
        selects = []
        for table in tables:
            parts: list[Any] = []
            for column in table.columns:
                value = sa.func.json(column) if isinstance(column.type, sa.JSON) and \
                    not postgresql else column
                parts += [sa.literal_column(f"'{column.name}'"), value]
            if postgresql:
                rows = sa.func.coalesce(sa.func.json_agg(sa.func.json_build_object(*parts)),
                                        sa.text("'[]'::json"))
            else:
                rows = sa.func.json_group_array(sa.func.json_object(*parts))
            selects.append(sa.select(rows).select_from(table).scalar_subquery().label(table.name))
        compiled = sa.select(*selects).compile(dialect=dialect)
        assert not compiled.params, compiled.params  # plain SQL text, run as it stands
        query = _SnapshotQuery(str(compiled), [(t.name, [c.name for c in _key(t)])
                                               for t in tables])
        _SNAPSHOT_QUERIES[dialect.name] = query
    return query


def json_snapshot() -> Snapshot:
    """Every row of every table, columns every request touches included, as JSON values."""
    query = _snapshot_query()
    with db.engine.connect() as conn:
        row = conn.exec_driver_sql(query.sql).one()
    result: Snapshot = {}
    for (table, key), value in zip(query.tables, row, strict=True):
        records = json.loads(value) if isinstance(value, str) else value
        result[table] = {tuple(r[name] for name in key): r for r in records}
    return result


def without_volatile(snap: Snapshot) -> Snapshot:
    """``snap`` without the columns every request touches (:data:`VOLATILE`)."""
    result = dict(snap)
    for table in {table for table, _column in VOLATILE}:
        columns = {column for name, column in VOLATILE if name == table}
        result[table] = {key: {k: v for k, v in row.items() if k not in columns}
                         for key, row in snap[table].items()}
    return result


def restore(saved: Snapshot, tables: Iterable[str] | None = None,
            current: Snapshot | None = None) -> None:
    """Put ``tables`` (all by default) back as ``saved`` (a volatile snapshot) holds them.

    Each table is emptied and refilled; so is every table whose rows may point into one
    (foreign keys, followed to the end), so no row outside is left pointing at a row deleted
    and no cascade reaches outside. A table empty in ``current`` (the database as it is now,
    when known) is not emptied, and left alone if also empty in ``saved``.
    """
    names = _with_referrers(set(saved) if tables is None else set(tables))
    ordered = [table for table in _tables() if table.name in names and (
        saved[table.name] or current is None or current[table.name])]
    with db.engine.begin() as conn:
        for table in reversed(ordered):
            if current is None or current[table.name]:  # nothing to delete where known empty
                conn.execute(table.delete())
        for table in ordered:
            rows = [saved[table.name][key] for key in sorted(saved[table.name])]
            if rows:
                conn.execute(table.insert(), rows)


def _with_referrers(names: set[str]) -> set[str]:
    referrers = _referrers()
    found, todo = set(names), list(names)
    while todo:
        for name in referrers.get(todo.pop(), ()):
            if name not in found:
                found.add(name)
                todo.append(name)
    return found


@functools.cache
def _referrers() -> dict[str, set[str]]:
    """Table → the tables with a foreign key to it."""
    referrers: dict[str, set[str]] = {}
    for table in _tables():
        for key in table.foreign_keys:
            referrers.setdefault(key.column.table.name, set()).add(table.name)
    return referrers


def changed_rows(before: Snapshot, after: Snapshot) -> dict[str, list[dict[str, Any]]]:
    """Rows added or changed (and, under their old values, rows deleted), by table."""
    changes: dict[str, list[dict[str, Any]]] = {}
    for table, rows in after.items():
        old = before.get(table, {})
        moved = [row for key, row in rows.items() if old.get(key) != row]
        moved += [row for key, row in old.items() if key not in rows]
        if moved:
            changes[table] = moved
    return changes


def forbidden_in(snap: Snapshot) -> list[tuple[str, str, str]]:
    """(table, column, value) of every stored text holding a forbidden character."""
    found = []
    for table, rows in snap.items():
        for row in rows.values():
            for column, value in row.items():
                for text in _strings(value):
                    if FORBIDDEN.search(text):
                        found.append((table, column, text[:80]))
    return found


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(key)
            yield from _strings(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _strings(item)


# --- Where stored values show ---------------------------------------------------------------


def pages_for(table: str, row: dict[str, Any], snap: Snapshot) -> list[str]:
    """The staff and public pages that show a row of ``table``."""
    if table == "events":
        return [f"/manage/events/{row['id']}", f"/events/{row['id']}"]
    if table in ("event_photos", "event_attendees"):
        return pages_for("events", {"id": row["event_id"]}, snap)
    if table == "issues":
        return [f"/manage/issues/{row['id']}", f"/issues/{row['reference']}",
                f"/track/{row['tracking_token']}"]
    if table == "issue_updates":
        issue = snap["issues"].get((row["issue_id"],))
        return pages_for("issues", issue, snap) if issue else []
    if table == "platforms":
        return [f"/manage/platforms/{row['id']}", f"/platforms/{row['id']}",
                f"/manage/platforms/{row['id']}/people"]
    if table in ("platform_members", "platform_coordinators"):
        return pages_for("platforms", {"id": row["platform_id"]}, snap)
    if table == "members":
        return [f"/manage/members/{row['id']}"]
    if table == "departments":
        return ["/manage/departments/"]
    if table in ("routing_rules", "routing_rule_streets"):
        rule = row["id"] if table == "routing_rules" else row["rule_id"]
        return ["/manage/departments/routing", f"/manage/departments/routing/{rule}/edit"]
    if table == "areas":
        return [f"/manage/areas/{row['id']}"]
    if table == "users":
        return ["/manage/users/", f"/manage/users/{row['id']}/edit"]
    if table == "api_tokens":
        return ["/manage/tokens/"]
    if table == "audit_log":
        return ["/manage/audit/"]
    return []


class _ActiveMarkup(HTMLParser):
    """Finds the payload marker where a browser would run it: scripts, handlers, URLs, styles."""

    URL_ATTRIBUTES = {"href", "src", "action", "formaction", "data", "srcdoc", "xlink:href",
                      "poster", "background"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._raw: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            value = value or ""
            plain = re.sub(r"[\x00-\x20]", "", value).lower()
            if MARK in value and (name.startswith("on") or name == "style"):
                self.found.append(f"<{tag} {name}={value!r}>")
            if name in self.URL_ATTRIBUTES and plain.startswith(("javascript:", "vbscript:",
                                                                  "data:text/html")):
                self.found.append(f"<{tag} {name}={value!r}>")
        if tag in ("script", "style"):
            self._raw = tag

    def handle_endtag(self, tag: str) -> None:
        if tag == self._raw:
            self._raw = None

    def handle_data(self, data: str) -> None:
        if self._raw and MARK in data:
            self.found.append(f"<{self._raw}>{data[:80]}")


def active_markup(html: str) -> list[str]:
    parser = _ActiveMarkup()
    parser.feed(html)
    parser.close()
    return parser.found


# --- Naming the field -----------------------------------------------------------------------


def form_field_errors(html: str) -> dict[str, str]:
    """Field name → its error text, for every field the page marks as wrong."""
    ids = dict(re.findall(r'<(?:input|select|textarea)[^>]*?\bid="([^"]+)"[^>]*?\bname="([^"]+)"',
                          html))
    ids.update({i: n for n, i in re.findall(
        r'<(?:input|select|textarea)[^>]*?\bname="([^"]+)"[^>]*?\bid="([^"]+)"', html)})
    # Radio groups: the fieldset carries the errors, each choice the name.
    for group, name in re.findall(r'\bid="([^"]+)-\d+"[^>]*?\bname="([^"]+)"', html):
        ids.setdefault(group, name)
    errors = {}
    for field_id, text in re.findall(r'<div class="field-errors" id="([^"]+)-error">(.*?)</div>',
                                     html, re.S):
        errors[ids.get(field_id, field_id)] = re.sub(r"<[^>]+>|\s+", " ", text).strip()
    return errors


def shows_input(html: str, name: str, *, files: bool = True) -> bool:
    """Whether the page has a visible input, select or text area called ``name``
    (a file input counts only with ``files``: its contents are reported row by row)."""
    for tag in re.findall(r"<(?:input|select|textarea)\b[^>]*>", html):
        if f'name="{name}"' in tag and 'type="hidden"' not in tag and (
                files or 'type="file"' not in tag):
            return True
    return False


def main_text(html: str, limit: int = 1500) -> str:
    """The page's main content as text, for failure messages."""
    main = re.search(r"<main\b.*?</main>", html, re.S)
    text = re.sub(r"<[^>]+>", " ", main.group(0) if main else html)
    return re.sub(r"\s+", " ", text)[:limit]


# --- Valid API bodies -------------------------------------------------------------------------


def _iso(hours: float) -> str:
    return (utcnow() + timedelta(hours=hours)).isoformat()


def _plan_body(world: World) -> dict[str, Any]:
    return {"platform_id": world.platform.id, "topic": "加装电梯协商", "category": "society",
            "starts_at": _iso(24 * 5), "ends_at": _iso(24 * 5 + 2), "location": "社区活动室",
            "agenda": "- 介绍\n- 讨论", "format": "onsite"}


def _started(world: World) -> None:
    start = utcnow() - timedelta(hours=3)
    world.objects["event"] = factories.event(platform_id=world.platform.id, starts_at=start,
                                             ends_at=start + timedelta(hours=2))


def _planned(world: World) -> None:
    world.objects["event"] = factories.event(platform_id=world.platform.id)


def _held(world: World) -> None:
    from tests.support.access_events import _held as held

    held(world)


def _members(world: World) -> None:
    _started(world)
    member = factories.member()
    world.platform.members.append(member)
    world.objects["member"] = member


def _record_body(world: World) -> dict[str, Any]:
    return {"minutes": "议定分摊方案", "attendee_ids": [world.member.id], "resident_count": 9,
            "department_count": 1, "expert_count": 0, "opinions": "同意",
            "problems": [{"title": "楼道堆物", "description": "影响通行", "kind": "doorstep",
                          "category": "society"}]}


def _problem_body(world: World) -> dict[str, Any]:
    return {"platform_id": world.platform.id, "title": "井盖松动", "description": "有人绊倒",
            "kind": "urgent", "category": "society", "submitter_name": "李某某",
            "submitter_phone": "13800001234", "source": "resident"}


def _action_bodies() -> dict[str, tuple[Callable[[World], dict[str, Any]], Route]]:
    """Each lifecycle action's valid API body, with the form route whose setup (a problem in
    the state the action needs) and roles it shares."""
    from tests.support.access_issues import ACTIONS

    today = utcnow().date()
    values: dict[str, Callable[[World], dict[str, Any]]] = {
        "assign": lambda w: {"department_id": w.department.id,
                             "due_on": str(today + timedelta(days=10))},
        "start": lambda w: {},
        "resolve": lambda w: {"resolution": "已协调解决"},
        "plan": lambda w: {"planned_on": str(today + timedelta(days=60))},
        "constrain": lambda w: {"resolution": "一时难以解决"},
        "reject": lambda w: {"reason": "不属于受理范围"},
        "reopen": lambda w: {"reason": "居民不满意"},
        "note": lambda w: {"note": "已约谈物业", "is_public": True},
        "accept": lambda w: {"title": "东门路灯不亮", "description": "东门路灯坏了一个月。"},
        "acknowledge": lambda w: {},
        "reply": lambda w: {"reply": "已修复路灯。", "proposed_status": "resolved"},
        "request_extension": lambda w: {"requested_due_on": str(today + timedelta(days=40)),
                                        "reason": "需要采购灯具"},
        "return": lambda w: {"reason": "不属于本单位职责"},
        "approve_extension": lambda w: {},
        "refuse_extension": lambda w: {"reason": "期限内可以办结"},
        "confirm": lambda w: {"resolution": "路灯已修复。"},
        "rework": lambda w: {"reason": "请说明修复时间"},
    }
    assert set(values) == set(TRANSITIONS)
    return {route.name.split("-", 1)[1]: (values[route.name.split("-", 1)[1]], route)
            for route in ACTIONS}


def api_routes() -> list[Route]:
    """One route per API write (one per lifecycle action), with a valid body in ``data``."""
    def event_route(endpoint: str, path: Callable[[World], str], body: Any, setup: Any,
                    method: str = "POST") -> Route:
        return Route(f"api.{endpoint}", path, {"admin": OK}, data=body, setup=setup,
                     method=method, name=f"api.{endpoint}")

    routes = [
        event_route("plan_event", lambda w: "/api/v1/events", _plan_body, None),
        event_route("update_event", lambda w: f"/api/v1/events/{w.event.id}",
                    lambda w: {k: v for k, v in _plan_body(w).items() if k != "platform_id"}
                    | {"version": w.event.version}, _planned, method="PATCH"),
        event_route("record_event", lambda w: f"/api/v1/events/{w.event.id}/record",
                    _record_body, _members),
        event_route("conclude_event", lambda w: f"/api/v1/events/{w.event.id}/conclude",
                    lambda w: {"outcome": "加装了 20 个车位。"}, _held),
        event_route("cancel_event", lambda w: f"/api/v1/events/{w.event.id}/cancel",
                    lambda w: {"reason": "暴雨"}, _planned),
        event_route("create_problem", lambda w: "/api/v1/issues", _problem_body, None),
    ]
    for action, (body, form_route) in _action_bodies().items():
        # The token of whoever takes the action on the page: staff's, or for the department's
        # own word (签收, 答复, 申请延期, 退回) the department's contact's.
        routes.append(Route("api.issue_action",
                            lambda w, a=action: f"/api/v1/issues/{w.issue.reference}/actions/{a}",
                            {acting_role(form_route): OK}, data=body, setup=form_route.setup,
                            name=f"api.issue_action-{action}"))
    # A department's note (internal unless it says otherwise) on the problem it holds.
    from tests.support.access_issues import ROUTES as ISSUE_ROUTES

    held = next(r for r in ISSUE_ROUTES if r.name == "issues.act-note-assigned")
    routes.append(Route("api.issue_action",
                        lambda w: f"/api/v1/issues/{w.issue.reference}/actions/note",
                        {"department": OK}, data=lambda w: {"note": "已派人查看"},
                        setup=held.setup, name="api.issue_action-note-department"))
    return routes


# --- The harness ----------------------------------------------------------------------------


ROLE_ORDER = ("admin", "district_admin", "coordinator", "other_coordinator",
              "other_district_admin", "department", "other_department", "member",
              "other_member", "anonymous")


def acting_role(route: Route) -> str:
    """A role the route accepts (OK), else the one it answers with a page (login's 200)."""
    for role in ROLE_ORDER:
        if route.expect.get(role) == OK:
            return role
    return next(role for role in ROLE_ORDER if isinstance(route.expect.get(role), int))


@dataclass
class Outcome:
    response: TestResponse
    before: Snapshot
    after: Snapshot

    @property
    def status(self) -> int:
        return self.response.status_code

    @property
    def changes(self) -> dict[str, list[dict[str, Any]]]:
        return changed_rows(self.before, self.after)


@dataclass
class _Built:
    """A route's world as first built: its rows (a volatile snapshot, the filled tables), a
    JSON snapshot to check a restore against, and what the harness took from it."""

    full: Snapshot
    raw: Snapshot
    session_ids: dict[str, str]
    token: str
    valid: tuple[str, dict[str, Any]] | None = None


# Route → its world as first built, for the run (one app per run). Three test functions
# (forms, markup, length limits; the API's two) drive each route, each test with the database
# emptied before it (tests/conftest.py): building the world (departments, the route's setup,
# the ORM and a commit) cost 65–100 ms a test on SQLite, more on PostgreSQL; putting its rows
# back with one DELETE and INSERT a table costs a few. Primary keys, timestamps and the API
# token are the first build's; every test then starts from exactly that database.
_BUILT: dict[tuple[Flask, str], _Built] = {}
# The matrix's part of every route's world as first built: its rows and how to find its
# objects again (tests/support/access.py world_keys).
_BASE: dict[Flask, tuple[Snapshot, dict[str, Any]]] = {}
# The page cache's version row is no part of a world: it only ever goes forward.
_NOT_WORLD = {"site_versions"}


@dataclass(repr=False)
class Harness:
    """One world for one route; every example starts from it as first built (the world is
    built once a run, and put back from its rows for the route's next test: ``_BUILT``)."""

    app: Flask
    client: FlaskClient
    route: Route
    role: str = ""
    world: World | None = None
    token: str = ""
    csrf: str = ""
    start: Snapshot = field(default_factory=dict)
    valid: tuple[str, dict[str, Any]] | None = None
    start_full: Snapshot = field(default_factory=dict)
    start_raw: Snapshot = field(default_factory=dict)  # JSON, with the volatile columns
    viewer: FlaskClient | None = None
    session_ids: dict[str, str] = field(default_factory=dict)
    renders_left: int = 4
    _built: _Built | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.role = acting_role(self.route)
        key = (self.app, self.route.id)
        built = _BUILT.get(key)
        if built is not None and built.valid is None:
            built = None  # its first test stopped before working out the data: build again
        if built is None:
            with self.app.test_request_context():
                self.world = self._build()
                self.session_ids = {role: user.get_id()
                                    for role, user in self.world.users.items()}
                if self.is_api:
                    _row, self.token = issue_token(self.world.users[self.role], "敌意输入")
                    db.session.commit()
        else:
            with self.app.app_context():
                db.session.remove()
                restore(built.full, [name for name in built.full if name not in _NOT_WORLD],
                        current=json_snapshot())
            self.session_ids, self.token, self.valid = built.session_ids, built.token, built.valid
        self._sign_in()
        with self.app.app_context():
            self.start_raw = json_snapshot()
            filled = [name for name, rows in self.start_raw.items() if rows]
            if built is None:
                self.start_full = snapshot(volatile=True, tables=filled)
            else:  # the same rows as first built (checked below): only the version is read
                version = snapshot(volatile=True, tables=[n for n in filled if n in _NOT_WORLD])
                self.start_full = {**built.full, **{n: version[n] for n in _NOT_WORLD}}
        self.start = without_volatile(self.start_raw)
        if built is None:
            _BUILT[key] = _Built(self.start_full, self.start_raw, self.session_ids,
                                 self.token)
        else:  # put back exactly: every row, every column as first built
            assert _world_rows(self.start_raw) == _world_rows(built.raw), self.route.id
        self._built = _BUILT[key]

    def _build(self) -> World:
        """The matrix's world (departments A and B with their contacts: valid data may name
        them, and is worked out in a transaction that is rolled back), then the route's own,
        committed (needs a request context).

        The matrix's part is the same for every route: built once a run (``_BASE``), then put
        back from its rows and read again, as the access matrix does for each of its cases.
        """
        base = _BASE.get(self.app)
        if base is None:
            world = build_world(departments)
            raw = json_snapshot()
            full = snapshot(volatile=True, tables=[name for name, rows in raw.items() if rows])
            _BASE[self.app] = full, world_keys(world)
        else:
            full, keys = base
            db.session.remove()
            restore(full, [name for name in full if name not in _NOT_WORLD],
                    current=json_snapshot())
            world = reload_world(keys)
        if self.route.setup:
            self.route.setup(world)
        db.session.commit()
        return world

    def __repr__(self) -> str:
        return f"<Harness {self.route.id} as {self.role}>"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:  # hypothesis' reports
        printer.text(repr(self))

    @property
    def is_api(self) -> bool:
        return self.route.endpoint.startswith("api.")

    def _sign_in(self) -> None:
        """Sign in and take the session's CSRF token, made as a page's form makes it (fetching
        /dashboard only to read it cost 10 ms a route, and an example for the routes that
        sign out or change the password)."""
        if self.role != "anonymous":
            sign_in(self.client, self.session_ids[self.role])
        self.csrf = session_csrf_token(self.client)

    def admin_viewer(self) -> FlaskClient:
        if self.role == "admin" and self.route.endpoint != "auth.logout":
            return self.client
        if self.viewer is None:
            self.viewer = self.app.test_client()
            sign_in(self.viewer, self.session_ids["admin"])
        return self.viewer

    def prepare(self) -> tuple[str, dict[str, Any]]:
        """The path and the valid data of the next example, from the world as first built.

        Every example starts from the same database (``run`` restores it after a change),
        so the path and data are worked out once; files get a fresh stream each time.
        """
        if self.valid is None:
            with self.app.test_request_context():
                world = self.world
                for name in ("district", "other_district", "platform", "other_platform"):
                    setattr(world, name, _reload(getattr(world, name)))
                world.users = {k: _reload(v) for k, v in world.users.items()}
                world.objects = {k: _reload(v) for k, v in world.objects.items()}
                self.valid = self.route.path(world), self.route.data(world)
                db.session.rollback()
            if self._built is not None:  # the same database next time: the same data
                self._built.valid = self.valid
        if self.route.endpoint in ("auth.logout", "account.password"):
            self._sign_in()  # both give the user a new session token (restored after each example)
        path, data = self.valid
        return path, {key: (BytesIO(value[0].getvalue()), value[1])
                      if isinstance(value, tuple) else value for key, value in data.items()}

    def send_form(self, path: str, pairs: list[tuple[str, Any]]) -> TestResponse:
        """Post ``pairs`` (values may be text, bytes or files) with the session's CSRF token."""
        pairs = [("csrf_token", self.csrf), *pairs]
        if any(isinstance(v, tuple) for _k, v in pairs):  # a file: multipart
            data: dict[str, list[Any]] = {}
            for key, value in pairs:
                if isinstance(value, bytes):
                    value = value.decode("utf-8", "replace")
                data.setdefault(key, []).append(value)
            return self.client.open(path, method=self.route.method, data=data)
        body = urlencode(pairs)
        return self.client.open(path, method=self.route.method, data=body,
                                content_type="application/x-www-form-urlencoded")

    def send_json(self, path: str, body: bytes,
                  content_type: str = "application/json") -> TestResponse:
        return self.client.open(path, method=self.route.method, data=body,
                                content_type=content_type,
                                headers={"Authorization": f"Bearer {self.token}"})

    def run(self, send: Callable[[], TestResponse], check: Callable[[Outcome], None]) -> None:
        """Send one example, check it with the common rules and ``check``, then undo it."""
        after: Snapshot | None = None
        raw: Snapshot = {}
        try:
            response = send()
            with self.app.app_context():
                raw = json_snapshot()
            after, seen = without_volatile(raw), _REQUESTS[0]
            outcome = Outcome(response, self.start, after)
            assert outcome.status < 500, (outcome.status, response.text[:2000])
            stored = forbidden_in(after)
            assert not stored, f"forbidden characters stored: {stored}"
            check(outcome)
        finally:
            with self.app.app_context():
                if after is None:  # the request failed: anything may have changed
                    restore(self.start_full)
                elif after != self.start:
                    # Only the tables that differ now (volatile columns included; a page the
                    # check fetched may have written too), so the database is again exactly as
                    # first built, without a DELETE and an INSERT for each of the 34 tables.
                    # The snapshot above is the database now unless a request came since.
                    now = raw if _REQUESTS[0] == seen else json_snapshot()
                    changed = [name for name, rows in now.items() if rows != self.start_raw[name]]
                    restore(self.start_full, changed, current=now)

    def check_refusal_changed_nothing(self, outcome: Outcome) -> None:
        changes = outcome.changes
        if self.route.endpoint == "auth.login":  # a failed sign-in is audited, by design
            changes.pop("audit_log", None)
        assert not changes, f"a refused request ({outcome.status}) changed {changes}"

    def check_rendering(self, outcome: Outcome) -> list[str]:
        """Fetch every page showing what changed; no payload may have become live markup.

        Pages cost time, and the same templates show every example: the first few accepted
        examples carrying markup are rendered, the rest are not.
        """
        if self.renders_left <= 0:
            return []
        self.renders_left -= 1
        pages: list[str] = []
        for table, rows in outcome.changes.items():
            for row in rows:
                for page in pages_for(table, row, outcome.after):
                    if page not in pages:
                        pages.append(page)
        viewer = self.admin_viewer()
        for page in pages:
            response = viewer.get(page)
            assert response.status_code < 500, (page, response.status_code)
            if response.mimetype == "text/html":
                live = active_markup(response.text)
                assert not live, f"{page} runs the payload: {live}"
        return pages


# Requests the app has begun (any client): between two, the database stands still.
_REQUESTS = [0]


def _count_request(_sender: Any, **_extra: Any) -> None:
    _REQUESTS[0] += 1


request_started.connect(_count_request)


def _world_rows(snap: Snapshot) -> Snapshot:
    return {table: rows for table, rows in snap.items() if table not in _NOT_WORLD}


def _reload(obj: Any) -> Any:
    """The same row in the current session (objects of a closed session are detached)."""
    return db.session.get(type(obj), sa.inspect(obj).identity)


def sign_in(client: FlaskClient, session_id: str) -> None:
    """Sign in as Flask-Login would, without paying for a password check each time."""
    with client.session_transaction() as session:
        session["_user_id"] = session_id
        session["_fresh"] = True


def as_pairs(data: dict[str, Any]) -> list[tuple[str, Any]]:
    """A form's data as (name, value) pairs; lists become repeated fields."""
    pairs: list[tuple[str, Any]] = []
    for key, value in data.items():
        if isinstance(value, list):
            pairs.extend((key, str(item)) for item in value)
        elif isinstance(value, tuple) or isinstance(value, bytes):
            pairs.append((key, value))
        else:
            pairs.append((key, "" if value is None else str(value)))
    return pairs


FILE_NAMES = ["../../etc/passwd", "a\x00.csv", "<script>xss(1)</script>.csv", "x.exe", "",
              "长" * 300 + ".csv", "\u202egpj.exe", "photo.png"]


@dataclass
class FilePlan:
    """How to spoil a file field: junk bytes, cut short, renamed, a hostile cell, or plain text."""

    variant: int
    junk: bytes
    name: str
    text: Any
    encoding: str

    def apply(self, original: tuple[BytesIO, str]) -> Any:
        content, name = original[0].getvalue(), original[1]
        if self.variant == 0:
            return BytesIO(self.junk), name
        if self.variant == 1:
            return BytesIO(content[: len(content) // 2]), name
        if self.variant == 2:
            return BytesIO(content), self.name
        if self.variant == 3 and name.endswith(".csv") and isinstance(self.text, str):
            header, row = content.decode("utf-8-sig").splitlines()[:2]
            cells = row.split(",")
            cells[1] = self.text.replace(",", "，").replace("\n", " ").replace("\r", " ")
            data = (header + "\n" + ",".join(cells) + "\n").encode(self.encoding, "replace")
            return BytesIO(data), name
        return self.text  # not a file at all


file_plans = st.builds(FilePlan, st.integers(0, 4), st.binary(max_size=64),
                       st.sampled_from(FILE_NAMES), form_text(),
                       st.sampled_from(["utf-8", "gb18030", "utf-16"]))

FORM_KINDS = ["replace", "replace", "replace", "many", "drop", "duplicate", "extra"]
EXTRA_NAMES = ["x", "id", "version", "status", "platform_id", "is_public", "__proto__",
               "csrf_token[]", "a" * 300, "名字", "x\x00y"]


@dataclass
class FormPlan:
    """One hostile change to a form's valid data, drawn whatever the form's fields are."""

    kind: str
    index: int
    value: Any
    values: list[Any]
    hostile_first: bool
    extra_name: str
    file: FilePlan

    def apply(self, pairs: list[tuple[str, Any]]) -> tuple[Mutation, list[tuple[str, Any]]]:
        names = list(dict.fromkeys(name for name, _value in pairs))
        kind = self.kind if names else "extra"
        if kind == "extra":
            return Mutation(kind), [*pairs, (self.extra_name, self.value)]
        if kind == "many":
            return Mutation(kind), [(n, self._spoil(v, self.values[i % len(self.values)]))
                                    for i, (n, v) in enumerate(pairs)]
        name = names[self.index % len(names)]
        if kind == "drop":
            return Mutation(kind, name), [(n, v) for n, v in pairs if n != name]
        original = next(v for n, v in pairs if n == name)
        value = self._spoil(original, self.value)
        if kind == "duplicate":
            twice = [(name, value), (name, original)] if self.hostile_first else [
                (name, original), (name, value)]
            return Mutation(kind, name, value), [*(p for p in pairs if p[0] != name), *twice]
        return Mutation(kind, name, value), [(n, value if n == name else v) for n, v in pairs]

    def _spoil(self, original: Any, value: Any) -> Any:
        return self.file.apply(original) if isinstance(original, tuple) else value


form_plans = st.builds(FormPlan, st.sampled_from(FORM_KINDS), st.integers(0, 63), form_text(),
                       st.lists(form_text(), min_size=1, max_size=4), st.booleans(),
                       st.sampled_from(EXTRA_NAMES), file_plans)

API_KINDS = ["replace", "replace", "replace", "nested", "drop", "duplicate", "extra", "body"]
API_EXTRA_NAMES = ["x", "id", "status", "created_by_id", "__proto__", "", "名字", "x\ud800"]


def encode_pairs(pairs: list[tuple[str, Any]]) -> bytes:
    """A JSON object from pairs, keeping duplicated keys (json.dumps would merge them)."""
    inner = ",".join(f"{json.dumps(k)}:{json.dumps(v)}" for k, v in pairs)
    return ("{" + inner + "}").encode()


@dataclass
class ApiPlan:
    """One hostile change to a valid JSON body (or a body that is no JSON object at all)."""

    kind: str
    index: int
    inner: int
    value: Any
    extra_name: str
    body: tuple[bytes, str]

    def apply(self, body: dict[str, Any]) -> tuple[Mutation, bytes, str]:
        if self.kind == "body":
            return Mutation("body"), *self.body
        if self.kind == "extra":
            return (Mutation("extra", self.extra_name),
                    encode_pairs([*body.items(), (self.extra_name, 1)]), "application/json")
        names = list(body)
        if not names:  # an action without fields: only unknown ones can be added
            return (Mutation("extra", self.extra_name),
                    encode_pairs([(self.extra_name, self.value)]), "application/json")
        name = names[self.index % len(names)]
        if self.kind == "drop":
            return (Mutation("drop", name),
                    encode_pairs([(k, v) for k, v in body.items() if k != name]),
                    "application/json")
        rows = body[name]
        if self.kind == "nested" and isinstance(rows, list) and rows and isinstance(rows[0], dict):
            row = dict(rows[0])
            inner = list(row)[self.inner % len(row)]
            row[inner] = self.value
            return (Mutation("replace", f"{name}[0].{inner}", self.value),
                    encode_pairs([*{**body, name: [row]}.items()]), "application/json")
        if self.kind == "duplicate":
            return (Mutation("duplicate", name, self.value),
                    encode_pairs([*body.items(), (name, self.value)]), "application/json")
        return (Mutation("replace", name, self.value),
                encode_pairs([(k, self.value if k == name else v) for k, v in body.items()]),
                "application/json")


api_plans = st.builds(ApiPlan, st.sampled_from(API_KINDS), st.integers(0, 63),
                      st.integers(0, 7), json_value, st.sampled_from(API_EXTRA_NAMES),
                      st.sampled_from(BAD_BODIES))
