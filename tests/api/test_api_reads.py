"""Public reads of the JSON API: filters, stable ordering, pagination, details, no personal data."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from consult_hub.api import openapi
from consult_hub.core.db import utcnow
from consult_hub.core.timefmt import to_local
from consult_hub.extensions import db
from consult_hub.models import Event, EventPhoto, EventStatus, Issue, Platform
from tests.support import factories
from tests.support.api import (
    SECRET_NAME,
    SECRET_NOTE,
    SECRET_PHONE,
    STAFF_EMAIL,
    STAFF_NAME,
    ApiWorld,
)
from tests.support.querycount import count_queries

# The API world (tests/support/world.py), built once for the module and rolled back after each
# test (tests/api/conftest.py): nothing is committed, `rolled_back`.
pytestmark = [pytest.mark.world("api"), pytest.mark.rolled_back]


def items(client, path: str) -> list[dict]:
    response = client.get(path)
    assert response.status_code == 200, response.text
    return response.json["items"]


# --- Platforms ------------------------------------------------------------------------------


def test_platforms_are_listed_by_id_with_public_fields(client, world):
    listed = items(client, "/api/v1/platforms")
    assert [p["id"] for p in listed] == sorted(p["id"] for p in listed)
    first = next(p for p in listed if p["id"] == world.platform_id)
    assert first["kind"] == "consult_room" and first["kind_label"] == "协商议事室"
    assert first["district"]["code"] == world.district_code
    assert first["community"]["name"].startswith("测试社区")
    assert first["street"]["name"].startswith("测试街道")
    assert first["is_demonstration"] is True and first["demonstration_year"] == 2023
    assert first["html_url"].endswith(f"/platforms/{world.platform_id}")


@pytest.mark.parametrize(("query", "expected"), [
    ("kind=liaison_point", {"other_platform_id"}),
    ("status=suspended", {"suspended_platform_id"}),
    ("demonstration=true", {"platform_id"}),
    ("demonstration=false", {"other_platform_id", "suspended_platform_id"}),
])
def test_platform_filters(client, world, query, expected):
    listed = {p["id"] for p in items(client, f"/api/v1/platforms?{query}")}
    assert listed == {getattr(world, name) for name in expected}


def test_platforms_by_district_code_and_search(client, world):
    in_district = {p["id"]
                   for p in items(client, f"/api/v1/platforms?district={world.district_code}")}
    assert in_district == {world.platform_id, world.suspended_platform_id}
    found = items(client, "/api/v1/platforms?q=测试路")
    assert len(found) == 3
    assert items(client, "/api/v1/platforms?q=没有这个地方") == []


def test_platform_detail_lists_members_but_not_coordinators(client, world):
    response = client.get(f"/api/v1/platforms/{world.platform_id}")
    assert response.status_code == 200
    assert sorted(m["id"] for m in response.json["members"]) == sorted(world.member_ids)
    assert "coordinators" not in response.json
    assert client.get("/api/v1/platforms/999999").status_code == 404
    assert client.get("/api/v1/platforms/99999999999999").status_code == 404


# --- Pagination -----------------------------------------------------------------------------


def test_pages_have_counts_and_links(client, world):
    first = client.get("/api/v1/platforms?per_page=2&kind=")
    body = first.json
    assert (body["page"], body["per_page"], body["total"], body["pages"]) == (1, 2, 3, 2)
    assert body["links"]["prev"] is None
    assert "page=2" in body["links"]["next"] and "per_page=2" in body["links"]["next"]
    assert 'rel="next"' in first.headers["Link"]
    second = client.get(body["links"]["next"]).json
    assert len(second["items"]) == 1 and second["links"]["next"] is None
    assert {p["id"] for p in body["items"] + second["items"]} == {
        world.platform_id, world.other_platform_id, world.suspended_platform_id}
    beyond = client.get("/api/v1/platforms?page=9&per_page=2").json
    assert beyond["items"] == [] and "page=2" in beyond["links"]["prev"]


@pytest.mark.parametrize("query", ["per_page=101", "per_page=0", "page=0", "page=abc",
                                   "per_page=1.5"])
def test_bad_paging_is_400_naming_the_parameter(client, world, query):
    response = client.get(f"/api/v1/events?{query}")
    assert response.status_code == 400
    assert response.json["error"]["code"] == "invalid_parameter"
    assert set(response.json["error"]["fields"]) == {query.split("=")[0]}


@pytest.mark.parametrize(("path", "field"), [
    ("/api/v1/platforms?district=NOPE", "district"),
    ("/api/v1/platforms?kind=castle", "kind"),
    ("/api/v1/platforms?demonstration=maybe", "demonstration"),
    ("/api/v1/events?from=2024-13-01", "from"),
    ("/api/v1/events?platform_id=-3", "platform_id"),
    ("/api/v1/issues?overdue=yes", "overdue"),
    ("/api/v1/issues?status=lost", "status"),
    ("/api/v1/platforms?q=%00", "q"),
])
def test_bad_filters_are_400_naming_the_parameter(client, world, path, field):
    response = client.get(path)
    assert response.status_code == 400
    assert list(response.json["error"]["fields"]) == [field]


# --- Events ---------------------------------------------------------------------------------


def test_event_filters(client, world):
    held = items(client, "/api/v1/events?status=held")
    assert {e["id"] for e in held} == set(world.held_event_ids)
    by_category = items(client, "/api/v1/events?category=ecology")
    assert [e["id"] for e in by_category] == [world.event_ids["concluded"]]
    other = items(client, f"/api/v1/events?district={world.other_district_code}")
    assert [e["id"] for e in other] == [world.event_ids["concluded"]]
    at_platform = items(client, f"/api/v1/events?platform_id={world.platform_id}&per_page=100")
    assert world.event_ids["concluded"] not in {e["id"] for e in at_platform}
    assert len(at_platform) == 10


def test_events_by_local_date_range(client, app, world):
    with app.app_context():
        day = to_local(db.session.get(Event, world.held_event_ids[0]).starts_at).date()
    on_day = items(client, f"/api/v1/events?from={day}&to={day}")
    assert world.held_event_ids[0] in {e["id"] for e in on_day}
    assert all(e["starts_at"][:10] in (str(day), str(day - timedelta(days=1))) for e in on_day)
    later = items(client, f"/api/v1/events?from={day + timedelta(days=1)}&per_page=100")
    assert world.held_event_ids[0] not in {e["id"] for e in later}


def test_event_detail_with_attendees_issues_and_photos_once_held(client, app, world):
    held_id, planned_id = world.held_event_ids[0], world.planned_event_ids[0]
    with app.test_request_context():
        held = db.session.get(Event, held_id)
        held.attendees = [db.session.get(factories.Member, world.member_ids[0])]
        factories.issue(platform_id=world.platform_id, event_id=held_id, title="活动中提出")
        for event_id in (held_id, planned_id):
            db.session.add(EventPhoto(event_id=event_id, stored_name=f"p{event_id}.jpg",
                                      content_type="image/jpeg", size=10, width=4, height=3,
                                      caption="会场"))
        db.session.commit()
    detail = client.get(f"/api/v1/events/{held_id}").json
    assert [m["id"] for m in detail["attendees"]] == [world.member_ids[0]]
    assert [i["title"] for i in detail["issues"]] == ["活动中提出"]
    assert [p["caption"] for p in detail["photos"]] == ["会场"]
    assert client.get(f"/api/v1/events/{planned_id}").json["photos"] == []
    assert client.get("/api/v1/events/424242").status_code == 404


# --- Problems -------------------------------------------------------------------------------


@pytest.mark.parametrize(("query", "expected"), [
    ("status=resolved", {"resolved"}),
    ("kind=urgent&status=planned", {"planned"}),
    ("category=economy", {"overdue"}),
    ("overdue=true", {"overdue"}),
])
def test_issue_filters(client, world, query, expected):
    listed = {i["reference"] for i in items(client, f"/api/v1/issues?{query}&per_page=100")}
    assert listed == {world.issue_refs[name] for name in expected}


def test_issues_by_district_platform_and_not_overdue(client, world):
    other = items(client, f"/api/v1/issues?district={world.other_district_code}")
    assert [i["reference"] for i in other] == [world.issue_refs["overdue"]]
    assert items(client, f"/api/v1/issues?platform_id={world.other_platform_id}") == other
    on_time = {i["reference"] for i in items(client, "/api/v1/issues?overdue=false&per_page=100")}
    assert on_time == set(world.all_refs) - {world.issue_refs["overdue"]}
    listed = items(client, "/api/v1/issues?per_page=100")
    assert [i["reference"] for i in listed] == sorted(world.all_refs)  # by id = by receipt here
    assert next(i for i in listed if i["reference"] == world.issue_refs["overdue"])["is_overdue"]


def test_issue_detail_shows_the_public_timeline_and_answer(client, world):
    resolved = client.get(f"/api/v1/issues/{world.issue_refs['resolved']}").json
    assert resolved["resolution"] == "已修好"
    assert [t["to_status"] for t in resolved["timeline"]] == ["received", "resolved"]
    received = client.get(f"/api/v1/issues/{world.issue_refs['received'].lower()}").json
    assert received["description"] is None  # published once accepted, as on the public page
    assigned = client.get(f"/api/v1/issues/{world.issue_refs['assigned']}").json
    assert assigned["department"]["name"] == "市测试局" and assigned["description"]
    noted = client.get(f"/api/v1/issues/{world.issue_refs['noted']}").json
    assert [t["action"] for t in noted["timeline"]] == ["receive"]  # the private note is left out
    assert client.get("/api/v1/issues/WH99-99999").status_code == 404
    assert client.get("/api/v1/issues/%00").status_code == 404


def test_no_personal_data_in_any_response(client, app, world):
    with app.app_context():
        tracking = set(db.session.scalars(sa.select(Issue.tracking_token)))
        coordinator_names = {u.name for p in db.session.scalars(sa.select(Platform))
                             for u in p.coordinators}
    paths = ["/api/v1/platforms", "/api/v1/events?per_page=100", "/api/v1/issues?per_page=100",
             "/api/v1/departments", "/api/v1/districts", f"/api/v1/tallies/{world.frozen_month}"]
    paths += [f"/api/v1/platforms/{i}" for i in (world.platform_id, world.other_platform_id)]
    paths += [f"/api/v1/events/{e['id']}" for e in items(client, "/api/v1/events?per_page=100")]
    paths += [f"/api/v1/issues/{ref}" for ref in world.all_refs]
    secrets = {SECRET_NAME, SECRET_PHONE, SECRET_NOTE, STAFF_NAME, STAFF_EMAIL, "submitter",
               "tracking", "actor", "created_by", *tracking, *coordinator_names}
    for path in paths:
        response = client.get(path)
        assert response.status_code == 200, path
        body = response.get_data(as_text=True)
        leaked = {secret for secret in secrets if secret and secret in body}
        assert leaked == set(), (path, leaked)


# --- Other lists and tallies ----------------------------------------------------------------


def test_districts_and_departments(client, world):
    codes = {d["code"] for d in client.get("/api/v1/districts").json["items"]}
    assert {world.district_code, world.other_district_code} <= codes
    departments = items(client, f"/api/v1/departments?district={world.district_code}&active=true")
    assert [d["name"] for d in departments] == ["市测试局"]
    assert items(client, "/api/v1/departments?active=false") == []


def test_tallies_for_city_district_and_platform(app, client, world):
    city = client.get(f"/api/v1/tallies/{world.frozen_month}").json
    assert city["scope"] == "city" and city["is_live"] is False
    assert city["metrics"]["platforms_total"] == 3
    assert {d["district"]["code"] for d in city["districts"]} >= {world.district_code}
    district = client.get(f"/api/v1/tallies/{world.frozen_month}/districts/{world.district_code}")
    assert district.json["metrics"]["platforms_total"] == 2 and district.json["districts"] == []
    platform = client.get(f"/api/v1/tallies/{world.frozen_month}/platforms/{world.platform_id}")
    assert platform.json["metrics"]["platforms_total"] == 1
    assert platform.json["platform"]["id"] == world.platform_id
    with app.app_context():
        this_month = f"{to_local(utcnow()):%Y-%m}"
    live = client.get(f"/api/v1/tallies/{this_month}").json
    assert live["is_live"] is True and live["metrics"]["events_held"] >= 0


@pytest.mark.parametrize("month", ["2099-01", "2024-13", "0000-01", "1999-05", "202401"])
def test_tallies_of_months_without_figures_are_404(client, world, month):
    response = client.get(f"/api/v1/tallies/{month}")
    assert response.status_code == 404
    assert response.json["error"]["code"] == "not_found"


# --- Errors, the document, query counts -----------------------------------------------------


def test_unrouted_api_urls_answer_json_and_pages_stay_html(client):
    missing = client.get("/api/v1/nothing-here")
    assert missing.status_code == 404 and missing.json["error"]["code"] == "not_found"
    wrong_method = client.delete("/api/v1/platforms")
    assert wrong_method.status_code == 405
    assert wrong_method.json["error"]["code"] == "method_not_allowed"
    page = client.get("/no-such-page")
    assert page.status_code == 404 and page.mimetype == "text/html"


def test_the_served_document_is_openapi_31_and_lists_every_route(app, client):
    served = client.get("/api/v1/openapi.json")
    assert served.status_code == 200 and served.json == openapi.document()
    assert served.json["openapi"] == "3.1.0"
    documented = {(f"/api/v1{path}", method.upper())
                  for path, operations in served.json["paths"].items() for method in operations}
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("api."):
            methods = rule.methods - {"HEAD", "OPTIONS"}
            templated = rule.rule.replace("<int:", "{").replace("<", "{").replace(">", "}")
            if "{action}" in templated:
                assert all((templated.replace("{action}", a), "POST") in documented
                           for a in ("assign", "resolve", "note"))
                continue
            assert {(templated, m) for m in methods} <= documented, rule.rule
    writes = [op for ops in served.json["paths"].values() for m, op in ops.items() if m != "get"]
    assert writes and all(op["security"] == [{"bearerAuth": []}] for op in writes)
    assert all("401" in op["responses"] and "422" in op["responses"] for op in writes)


def _grow(app, world: ApiWorld, n: int) -> None:
    with app.test_request_context():
        for _ in range(n):
            platform = factories.platform()
            factories.event(platform_id=platform.id, status=EventStatus.HELD, minutes="纪要",
                            starts_at=utcnow() - timedelta(days=2),
                            ends_at=utcnow() - timedelta(days=2, hours=-1))
            factories.issue(platform_id=platform.id)
            factories.department(district_id=platform.district_id)
        db.session.commit()


@pytest.mark.parametrize("path", ["/api/v1/platforms", "/api/v1/events", "/api/v1/issues",
                                  "/api/v1/departments"])
def test_lists_send_a_fixed_number_of_queries(app, client, world, path):
    with count_queries(app) as small:
        assert client.get(f"{path}?per_page=100").status_code == 200
    _grow(app, world, 12)
    with count_queries(app) as large:
        assert client.get(f"{path}?per_page=100").status_code == 200
    assert len(large) == len(small) <= 4, str(large)


def test_details_send_a_fixed_number_of_queries(app, client, world):
    event_id, reference = world.held_event_ids[0], world.issue_refs["resolved"]
    paths = [f"/api/v1/events/{event_id}", f"/api/v1/issues/{reference}",
             f"/api/v1/platforms/{world.platform_id}"]
    before = []
    for path in paths:
        with count_queries(app) as sql:
            assert client.get(path).status_code == 200
        before.append(len(sql))
    with app.test_request_context():
        event = db.session.get(Event, event_id)
        platform = db.session.get(Platform, world.platform_id)
        members = [factories.member() for _ in range(8)]
        platform.members = [*platform.members, *members]
        event.attendees = members
        for _ in range(8):
            factories.issue(platform_id=world.platform_id, event_id=event_id)
        db.session.commit()
    for path, expected in zip(paths, before, strict=True):
        with count_queries(app) as sql:
            assert client.get(path).status_code == 200
        assert len(sql) == expected <= 5, str(sql)
