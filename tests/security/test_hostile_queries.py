"""Hostile query strings and URL paths on every GET route, as every role: never a 500.

Every GET route of the URL map (but ``static``) is requested as an anonymous visitor, a city
admin, a district admin, a coordinator, a department's contact and a member (政协委员; the
proposer of the world's proposal and author of its opinion report), with:

- **query parameters** drawn by hypothesis: empty, whitespace, zero, negative, numbers past
  2^31, 2^63 and 10^20, floats, full-width digits, impossible and far dates (year 0, month
  13, ``0001-01-01T00:00:00+14:00``, ``9999-12-31T23:59:59-14:00``), unicode, control
  characters, very long strings, the same parameter repeated;
- **path values**: ids past what the columns hold, year 0 and 10000, month 13, junk text.

Every answer must be a 2xx, 3xx or 4xx (``core/params.py`` says which: a web page ignores a
value it cannot take, a path value out of range is a 404, the API and Open311 refuse with a
400 naming the parameter). With ``TESTING`` an exception escaping a view fails the test.

*Which parameters a route reads* is not listed by hand: each route is first requested
normally while ``request.args`` records every name a view asks for (``get``, ``getlist``,
``[]``, ``in``), then again with those names set, to reach reads behind a filter. Each route
then gets its own names plus every name any route reads (an export reads the list's filters
from a copy of the query, out of the recorder's sight). ``test_discovery_sees_every_name``
fails when a name the source reads literally (``params.arg_*("…")``,
``request.args.get("…")``) was never recorded.

Examples are derandomised and bounded (``HOSTILE_EXAMPLES``, ``HOSTILE_RANDOM=1`` as in
``test_hostile_input.py``); the routes share one world, built once for this module.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest
import sqlalchemy as sa
from flask import Flask, Request
from flask.testing import FlaskClient
from hypothesis import given
from hypothesis import strategies as st
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.routing import Rule

from consult_hub.core.db import utcnow
from consult_hub.departments import routing
from consult_hub.events.models import EventStatus
from consult_hub.extensions import db, limiter
from consult_hub.open311.views import service_code
from consult_hub.tallies import compute
from tests.support import factories, hostile, opinions
from tests.support.access import World, departments, members
from tests.support.auth import csrf_token
from tests.support.hostile import sign_in
from tests.support.world import build_world

HYPOTHESIS = hostile.hypothesis_settings(4)
ROLES = ("anonymous", "admin", "district_admin", "coordinator", "department", "member")
REPORTS_UNAVAILABLE = {"/healthz"}
SOURCE = Path(__file__).resolve().parents[2] / "src" / "consult_hub"

# --- Hostile values ---------------------------------------------------------------------------

BIG = "99999999999999999999"
NUMBERS = ["0", "-1", "-0", "1.5", "1e9", "2147483647", "2147483648", str(2**63 - 1),
           str(2**63), BIG, "-" + BIG, "１２", "1_000", "0x10", "+5", " 7 ", "NaN", "inf"]
DATES = ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "0000-01-01", "0001-01-01",
         "9999-12-31", "10000-01-01", "2024-13-01", "2024-02-30", "2024-13", "2024-00",
         "0000-01", "9999-12", "2024-1-1", "24:61", "2024-03-01T25:00"]
WORDS = ["", " ", "true", "false", "None", "null", "all", "city", "全部", "中文𠜎😀",
         "\u202e", "\x00", "\x1b[31m", "\r\n", "%", "%00", "'", "<script>", "../..", "a" * 5000,
         "长" * 300, "\ufeff1", "١٢"]
CORE = NUMBERS + DATES + WORDS
# The fixed sweep's values: one of each kind that broke a page.
SWEEP = ["", "-1", "2147483648", BIG, "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00",
         "a" * 5000]
values = st.one_of(
    st.sampled_from(CORE),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.text(max_size=24),
)

HOSTILE_INTS = ["0", "2147483648", str(2**63), BIG]
HOSTILE_STRINGS = ["0000-01", "0000-00", "9999-12", "10000-01", "2024-13", "0", BIG,
                   "%00", "%E2%80%AE", "x" * 600]

# --- The 23 URLs of issue 12, item 6 (and their neighbours), each as every role -------------

OPEN311 = "/open311/v2/requests.json"
REGRESSIONS = [
    f"/events?platform={BIG}",
    f"/outcomes?platform={BIG}",
    f"/submit?platform={BIG}",
    "/manage/events/?platform=",
    f"/manage/events/?platform={BIG}",
    "/manage/issues/new?platform=",
    f"/manage/issues/new?platform={BIG}",
    f"/manage/issues/new?event={BIG}",
    "/manage/members/?district=",
    f"/manage/members/?district={BIG}",
    "/manage/users/?district=",
    f"/manage/users/?district={BIG}",
    "/manage/export/events.csv?platform=",
    f"/manage/export/events.csv?platform={BIG}",
    "/manage/audit/?page=",
    f"/manage/audit/?page={BIG}",
    "/manage/events/?page=",
    f"/manage/events/?page={BIG}",
    "/manage/issues/?page=",
    f"/manage/issues/?page={BIG}",
    "/inbox/?page=",
    f"/inbox/?page={BIG}",
    f"/manage/platforms/?page={BIG}",
    f"/manage/events/new?platform={BIG}",
    f"/manage/areas/new?parent={BIG}",
    "/reports/0/01",
    "/reports/10000/01",
    f"{OPEN311}?start_date=0001-01-01T00:00:00%2B14:00",
    f"{OPEN311}?end_date=9999-12-31T23:59:59-14:00",
    f"/platforms/{BIG}",
]


# --- One world for the module -----------------------------------------------------------------


@pytest.fixture(autouse=True)
def _clean_database() -> Iterator[None]:
    """Overrides conftest's: these tests only read, so they share one world (``world``)."""
    yield


def _empty_database() -> None:
    db.session.remove()
    tables = [t.name for t in reversed(db.metadata.sorted_tables) if t.name != "site_versions"]
    with db.engine.begin() as conn:
        for name in tables:
            conn.execute(sa.text(f"DELETE FROM {name}"))


def _more(world: World) -> None:
    event = factories.event(world.platform.id)
    world.objects.update(
        event=event,
        issue=factories.issue(world.platform.id, event_id=event.id),
        member=factories.member(district_id=world.district.id),
        department=factories.department(world.district.id),
    )
    world.objects["rule"] = routing.create_rule(
        district_id=world.district.id, keyword="路灯", department_id=world.objects["department"].id)
    dept_a, _ = departments(world)
    member_a, _ = members(world)
    world.objects["proposal"] = _accepted_proposal(world, member_a, dept_a)
    world.objects["report"] = _opinion_report(world, member_a)


def _accepted_proposal(world: World, member: Any, department: Any) -> Any:
    """An accepted proposal of the "member" role's member, made from the world's problem and
    assigned to the "department" role's department (its staff, member, department and public
    pages, and the year's review)."""
    from consult_hub.proposals.operations import change_status, create_proposal

    proposal = create_proposal(
        actor=None, title="关于加装电梯的建议", reasons="老人上下楼难。", suggestions="简化审批。",
        category="society", timing="interim", year=date.today().year, proposer_kind="joint",
        lead_member_id=member.id, co_member_ids=[world.objects["member"].id],
        collective_kind=None, collective_name=None, issues=[world.objects["issue"]])
    change_status(proposal, "submit", actor=None, values={})
    change_status(proposal, "accept", actor=None,
                  values={"lead_department": department,
                          "co_departments": [world.objects["department"]]})
    change_status(proposal, "reply", actor=None,
                  values={"outcome": "planned", "reply": "已列入明年老旧小区改造计划。"})
    return proposal


def _opinion_report(world: World, member: Any) -> Any:
    """An opinion report written from the world's held event, adopted and instructed (every
    block of its page shows)."""
    held = factories.event(world.platform.id, status=EventStatus.HELD,
                           starts_at=utcnow() - timedelta(days=3),
                           ends_at=utcnow() - timedelta(days=3) + timedelta(hours=2))
    return opinions.report("submit", "adopt", "instruct", "follow_up",
                           author=world.users["coordinator"], platform=world.platform,
                           member=member, events=[held], issues=[world.objects["issue"]])


@pytest.fixture(scope="module")
def world(app: Flask) -> Iterator[dict[str, Any]]:
    """Ids of the records the routes show, and each role's session id."""
    limits = {name: app.config.get(name) for name in
              ("SUBMISSION_RATE_LIMIT", "TRACKING_RATE_LIMIT", "API_WRITE_RATE_LIMIT")}
    app.config.update({name: "100000 per minute" for name in limits})
    with app.app_context():
        _empty_database()
        built = build_world(_more)
        # As on a running site, the scheduler has frozen the complete months and stored the
        # current one: report pages read stored rows rather than counting up to 12 months live
        # on each of the thousands of requests below (the live path has its own tests).
        now = utcnow()
        compute.catch_up(now)
        compute.refresh_current_month(now)
        db.session.commit()
        today = date.today()
        found = {
            "sessions": {role: user.get_id() for role, user in built.users.items()},
            "paths": {
                "event_id": str(built.event.id), "platform_id": str(built.platform.id),
                "issue_id": str(built.issue.id), "member_id": str(built.member.id),
                "department_id": str(built.department.id), "area_id": str(built.district.id),
                "user_id": str(built.users["coordinator"].id), "photo_id": "1",
                "reference": built.issue.reference, "service_request_id": built.issue.reference,
                "code": built.district.code, "token": "0" * 32, "year": str(today.year),
                "month": f"{today:%Y-%m}", "filename": "x", "rule_id": str(built.rule.id),
                "proposal_id": str(built.proposal.id), "report_id": str(built.report.id),
            },
            "service_code": service_code(built.issue.kind, built.issue.category),
        }
        db.session.remove()
    yield found
    app.config.update(limits)
    limiter.reset()
    if "page_cache" in app.extensions:
        app.extensions["page_cache"].clear()
    with app.app_context():
        _empty_database()


# --- Routes, paths and the parameters they read ----------------------------------------------


def _get_rules(app: Flask) -> list[Rule]:
    return sorted((rule for rule in app.url_map.iter_rules()
                   if "GET" in (rule.methods or ()) and rule.endpoint != "static"),
                  key=lambda rule: rule.rule)


_VARIABLE = re.compile(r"<(?:(?P<converter>[^:<>()]+)(?:\([^)]*\))?:)?(?P<name>\w+)>")


def _choices(rule: Rule) -> list[dict[str, str]]:
    """Every combination of the rule's ``<any(…)>`` choices (one empty one when it has none)."""
    combinations: list[dict[str, str]] = [{}]
    for name, converter in rule._converters.items():
        if type(converter).__name__ == "AnyConverter":
            options = re.findall(r"[\w-]+", converter.regex)
            combinations = [{**c, name: option} for c in combinations for option in options]
    return combinations


def _paths(rule: Rule, world: dict[str, Any]) -> list[str]:
    """``rule`` with valid values, once per combination of its choices."""
    return [_path(rule, world, choice) for choice in _choices(rule)]


def _path(rule: Rule, world: dict[str, Any], hostile: dict[str, str] | None = None) -> str:
    """``rule`` with its variables filled: valid values, except the ``hostile`` ones (raw)."""

    def fill(match: re.Match[str]) -> str:
        name, converter = match.group("name"), match.group("converter") or "default"
        if hostile and name in hostile:
            return hostile[name]
        if converter == "any":
            return _choices(rule)[0][name]
        if rule.endpoint.startswith("tallies.public") and name == "month":
            return "01"
        if name == "code" and rule.endpoint.startswith("open311."):
            return world["service_code"]
        if name == "code" and rule.endpoint == "main.set_locale":
            return "en"
        return quote(world["paths"][name], safe="")

    return _VARIABLE.sub(fill, rule.rule)


_READ: set[str] | None = None


class RecordingArgs(ImmutableMultiDict):
    """``request.args`` noting each name a view asks for while ``_READ`` is a set."""

    def _note(self, key: Any) -> None:
        if _READ is not None and isinstance(key, str):
            _READ.add(key)

    def __getitem__(self, key: Any) -> Any:
        self._note(key)
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        self._note(key)
        return super().__contains__(key)

    def get(self, key: Any, default: Any = None, type: Any = None) -> Any:  # noqa: A002
        self._note(key)
        return super().get(key, default, type)

    def getlist(self, key: Any, type: Any = None) -> list[Any]:  # noqa: A002
        self._note(key)
        return super().getlist(key, type)


class RecordingRequest(Request):
    parameter_storage_class = RecordingArgs


def _client(app: Flask, world: dict[str, Any], role: str) -> FlaskClient:
    client = app.test_client()
    if role != "anonymous":
        sign_in(client, world["sessions"][role])
    return client


def _get(client: FlaskClient, path: str, pairs: list[tuple[str, str]] | None = None) -> int:
    url = path + ("?" + urlencode(pairs) if pairs else "")
    response = client.get(url)
    status = response.status_code
    response.close()
    if status == 503 and path in REPORTS_UNAVAILABLE:
        return status  # a health check saying "not ready" (no scheduler runs in the tests)
    assert status < 500, f"{status} for GET {url[:300]}"
    return status


@pytest.fixture(scope="module")
def discovered(app: Flask, world: dict[str, Any]) -> dict[str, set[str]]:
    """Endpoint → the query parameter names its view reads, as any role."""
    global _READ
    names: dict[str, set[str]] = {}
    original = app.request_class
    app.request_class = RecordingRequest
    try:
        clients = {role: _client(app, world, role) for role in ROLES}
        for attempt in range(2):  # then with the names set: reads behind a chosen filter
            for rule in _get_rules(app):
                seen = names.setdefault(rule.endpoint, set())
                pairs = [(name, _valid_value(name, world)) for name in sorted(seen)]
                for path in _paths(rule, world):
                    for role in ROLES if not attempt else ("admin", "coordinator"):
                        _READ = set()
                        _get(clients[role], path, pairs if attempt else None)
                        seen |= _READ
    finally:
        _READ = None
        app.request_class = original
    return names


def _valid_value(name: str, world: dict[str, Any]) -> str:
    paths = world["paths"]
    return {"district": paths["code"], "platform": paths["platform_id"],
            "event": paths["event_id"], "parent": paths["area_id"],
            "issue": paths["issue_id"], "report": paths["report_id"],
            "district_id": paths["area_id"], "street": "1", "page": "2",
            "year": paths["year"], "q": "测试"}.get(name, "1")


def _names(discovered: dict[str, set[str]], endpoint: str) -> list[str]:
    everywhere = set().union(*discovered.values())
    return sorted(discovered[endpoint] | everywhere | {"page"})


# --- Tests ------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", REGRESSIONS)
def test_issue_12_urls_are_not_500(app, world, url):
    """The 500s issue 12 found, as every role: each answers 2xx–4xx now."""
    for role in ROLES:
        _get(_client(app, world, role), url)


def test_path_values_out_of_range_are_404(app, world):
    client = _client(app, world, "admin")
    for url in (f"/platforms/{BIG}", f"/platforms/{2**31}", f"/events/{2**63}", "/reports/0/01",
                "/reports/10000/01", "/reports/2024/13", "/reports/2024/00",
                f"/manage/issues/{BIG}", "/manage/reports/0000-01", "/manage/reports/10000-01",
                f"/manage/reports/year/{BIG}", f"/api/v1/platforms/{BIG}"):
        assert client.get(url).status_code == 404, url


def test_an_id_out_of_range_is_404_whatever_the_method(app, world):
    """Not 405: the rule still matches the number, so the view says the record is not there."""
    client = _client(app, world, "admin")
    token = csrf_token(client, "/dashboard")  # a form post reaches the view, not CSRF's 400
    for url in (f"/manage/events/{BIG}/cancel", f"/manage/platforms/{BIG}/edit"):
        answer = client.post(url, data={"csrf_token": token})
        assert answer.status_code == 404, (url, answer.status_code)
    # The API asks for its token before it looks the event up.
    assert client.patch(f"/api/v1/events/{BIG}", json={}).status_code == 401


def test_bad_filters_are_ignored(app, world):
    """A web page treats a filter it cannot take as absent: the same page as without it."""
    client = _client(app, world, "admin")
    for path, name in (("/events", "platform"), ("/outcomes", "platform"),
                       ("/manage/events/", "platform"), ("/manage/users/", "district"),
                       ("/manage/members/", "district"), ("/manage/issues/", "page"),
                       ("/platforms", "district")):
        plain = client.get(path)
        for value in ("", BIG, "-1", "abc", "１２"):
            assert client.get(f"{path}?{name}={quote(value)}").status_code == plain.status_code


def test_open311_and_api_name_the_parameter(app, world):
    client = _client(app, world, "anonymous")
    for name, value in (("start_date", "0001-01-01T00:00:00+14:00"),
                        ("end_date", "9999-12-31T23:59:59-14:00"), ("page", BIG),
                        ("page_size", "0")):
        response = client.get(f"{OPEN311}?{urlencode({name: value})}")
        assert response.status_code == 400, (name, response.text)
        assert response.json[0]["description"].startswith(name), response.json
    response = client.get(f"/api/v1/events?page={BIG}")
    assert response.status_code == 400 and "page" in response.json["error"]["fields"]


def test_parser_rules(app):
    """The shared parser's bounds (core/params.py), without a database."""
    from consult_hub.core import params

    for text in ("", "abc", "0", "-1", "１２", "1_0", "1.0", BIG, str(params.MAX_ID + 1)):
        with pytest.raises(params.BadParam):
            params.to_id(text)
    assert params.to_id(" 42 ") == 42 and params.to_id(str(params.MAX_ID)) == params.MAX_ID
    for text in ("0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00",
                 "2100-12-31T23:00:00-14:00", "1900-01-01T00:00:00+14:00", "x",
                 "2024-02-30T00:00", "２０２４-01-01"):
        with pytest.raises(params.BadParam):
            params.to_datetime(text, UTC)
    assert params.to_datetime("2024-03-01", UTC).isoformat() == "2024-03-01T00:00:00+00:00"
    for text in ("0000-01", "10000-01", "2024-13", "2024-00", "2024"):
        with pytest.raises(params.BadParam):
            params.to_month(text)
    assert params.to_month("2024-1") == date(2024, 1, 1)
    with app.test_request_context(f"/?page={BIG}&p2=0&p3=x&p4=7&id=&q=%20a%1Bb%20&when=soon"):
        assert params.arg_page() == params.MAX_PAGE  # past the end, an empty page
        assert params.arg_page("p2") == 1 and params.arg_page("p3") == 1
        assert params.arg_page("p4") == 7 and params.arg_page("absent") == 1
        assert params.arg_id("id") is None and params.arg_id("page") is None
        assert params.arg_text("q") == "ab"
        assert params.arg_choice("when", ("past",), default="upcoming") == "upcoming"
        assert params.arg_choice("active", ("1", "0"), default="all", missing="1") == "1"


def test_discovery_sees_every_name(discovered):
    """Every name the source reads literally was recorded on some route."""
    literal = re.compile(r"(?:\bparams\.arg_\w+|\barg_\w+|request\.args\.get(?:list)?)\("
                         r"(?:[\w.]+, )?\"(\w+)\"")
    named = {match for path in SOURCE.rglob("*.py") for match in literal.findall(path.read_text())}
    named -= {"name", "next"}  # next: a sign-in redirect, checked by safe_next
    assert named, "the pattern no longer matches how views read the query"
    missing = named - set().union(*discovered.values())
    assert not missing, f"read in the source, never recorded: {sorted(missing)}"


@pytest.mark.slow
def test_hostile_path_values(app, world):
    """Each path variable of each GET route, in turn, hostile; the others valid."""
    clients = {role: _client(app, world, role) for role in ROLES}
    for rule in _get_rules(app):
        for name in rule.arguments:
            converter = type(rule._converters[name]).__name__
            if converter == "AnyConverter":
                continue  # only its choices match the rule
            bad = HOSTILE_INTS if "Int" in converter else HOSTILE_STRINGS
            for value in bad:
                path = _path(rule, world, {name: value})
                for role in ROLES:
                    _get(clients[role], path)


@pytest.mark.slow
def test_every_route_with_each_swept_value(app, world, discovered):
    """Every parameter a route reads set to one fixed hostile value at once, for each value,
    as a city admin (who gets past every access check); then every name any route reads,
    too large and empty, as each role. (Hypothesis, below, varies them one by one.)"""
    clients = {role: _client(app, world, role) for role in ROLES}
    for rule in _get_rules(app):
        own = sorted(discovered[rule.endpoint] | {"page"})
        names = _names(discovered, rule.endpoint)
        for path in _paths(rule, world):
            for value in SWEEP:
                _get(clients["admin"], path, [(name, value) for name in own])
        path = _path(rule, world)
        for value in (BIG, ""):
            for role in ROLES:
                _get(clients[role], path, [(name, value) for name in names])


@pytest.mark.slow
@HYPOTHESIS
@given(data=st.data())
def test_hostile_queries(app, world, discovered, data):
    """Hypothesis-drawn query strings (names the route reads, values repeated) on every GET
    route as each role; each example draws one query per route."""
    clients = {role: _client(app, world, role) for role in ROLES}
    for rule in _get_rules(app):
        names = _names(discovered, rule.endpoint)
        chosen = data.draw(st.lists(st.sampled_from(names), min_size=1, max_size=5),
                           label=f"{rule.endpoint} names")
        pairs = [(name, value) for name in chosen
                 for value in data.draw(st.lists(values, min_size=1, max_size=2), label=name)]
        path = data.draw(st.sampled_from(_paths(rule, world)), label=f"{rule.endpoint} path")
        for role in ROLES:
            _get(clients[role], path, pairs)
