"""Open311 GeoReport v2: a client lists services, posts a request and reads it back, in JSON
and XML."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask import Flask

from consult_hub.core.db import utcnow
from consult_hub.extensions import db
from consult_hub.issues.operations import change_status
from consult_hub.models import Issue, IssueSource, IssueStatus, PlatformStatus
from tests.support import factories
from tests.support.public import DESCRIPTION
from tests.support.public import open311_post as post

# Each test builds what it needs, in a savepoint rolled back after it, on a database left empty
# for the module (tests/api/conftest.py): nothing is committed, `rolled_back`.
pytestmark = pytest.mark.rolled_back

NAME, PHONE = "欧阳秀英", "13912345678"
# What staff publish when they accept a submission: their own words, not the resident's.
PUBLIC_TITLE, PUBLIC_SUMMARY = "小区东门路灯损坏", "小区东门两盏路灯损坏，夜间出行不便。"


def xml_records(text: str, item: str) -> list[dict[str, str | None]]:
    root = ET.fromstring(text)
    return [{child.tag: child.text for child in node} for node in root.findall(item)]


@pytest.fixture()
def platform(make):
    return make("platform", latitude=30.60, longitude=114.30, address="二七路 100 号")


def test_services_are_kinds_times_categories_in_json_and_xml(client):
    services = client.get("/open311/v2/services.json").json
    assert len(services) == 15
    doorstep = next(s for s in services if s["service_code"] == "doorstep.society")
    assert doorstep == {**doorstep, "service_name": "房前屋后实事 · 社会建设", "metadata": False,
                        "type": "realtime", "group": "房前屋后实事"}
    xml = client.get("/open311/v2/services.xml")
    assert xml.content_type.startswith("text/xml")
    codes = [s["service_code"] for s in xml_records(xml.text, "service")]
    assert codes == [s["service_code"] for s in services]


def test_discovery_points_at_this_endpoint(client):
    found = client.get("/open311/v2/discovery.json").json
    endpoint = found["endpoints"][0]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"].endswith("/open311/v2")
    root = ET.fromstring(client.get("/open311/v2/discovery.xml").text)
    assert root.find("endpoints/endpoint/formats/format").text == "text/xml"


def accept(app: Flask, reference: str, *, title: str = PUBLIC_TITLE,
           description: str = PUBLIC_SUMMARY) -> None:
    """District staff review the submission and publish it with the public text they wrote."""
    with app.test_request_context():
        issue = db.session.scalar(sa.select(Issue).where(Issue.reference == reference))
        staff = factories.user("district_admin", district_id=issue.district_id)
        change_status(issue, "accept", title=title, description=description, actor_id=staff.id)
        db.session.commit()


def test_a_client_posts_a_request_and_reads_it_back_once_staff_published_it(
        app, client, platform):
    created = post(client, **{"attribute[platform]": platform.code, "first_name": "秀英",
                               "last_name": "欧阳", "phone": PHONE, "email": "o@example.org"})
    assert created.status_code == 201
    [answer] = created.json
    reference = answer["service_request_id"]
    assert answer["account_id"] is None and reference in answer["service_notice"]
    # The answer echoes nothing of the submission and says it is public only after review.
    notice = answer["service_notice"]
    assert "工作人员受理后" in notice and "受理前不公开" in notice
    assert DESCRIPTION[:10] not in created.text
    with app.app_context():
        stored = db.session.scalar(sa.select(Issue).where(Issue.reference == reference))
        assert stored.source is IssueSource.RESIDENT and stored.platform_id == platform.id
        assert (stored.submitter_name, stored.submitter_phone) == (NAME, PHONE)
        assert stored.status is IssueStatus.PENDING and stored.published_at is None
        # No title given: the description's start, as a working title staff alone see.
        assert stored.title == DESCRIPTION[:30] + "…"
        assert stored.submitted_text == DESCRIPTION
        assert stored.consent_version is None  # the relaying system collects consent

    # Waiting for review: unknown to every reader, like a receipt never issued.
    for fmt in ("json", "xml"):
        hidden = client.get(f"/open311/v2/requests/{reference}.{fmt}")
        assert hidden.status_code == 404, fmt
        assert reference not in client.get(f"/open311/v2/requests.{fmt}").text
        listed = client.get(f"/open311/v2/requests.{fmt}?service_request_id={reference}")
        assert listed.status_code == 200 and reference not in listed.text
    assert client.get(f"/open311/v2/requests.json?before={reference}").status_code == 400

    accept(app, reference)
    [read] = client.get(f"/open311/v2/requests/{reference}.json").json
    assert read["status"] == "open" and read["status_notes"] == "已受理"
    # The public summary staff wrote, from publication on: never a (truncated) title.
    assert read["description"] == PUBLIC_SUMMARY
    assert read["service_code"] == "doorstep.society"
    assert read["address"] == "二七路 100 号" and (read["lat"], read["long"]) == (30.6, 114.3)
    assert read["requested_datetime"].endswith("+08:00")
    assert reference in refs(client.get("/open311/v2/requests.json"))
    with app.test_request_context():
        issue = db.session.get(Issue, stored.id)
        department = factories.department()
        change_status(issue, "assign", actor_id=None, department=department,
                      due_on=utcnow().date() + timedelta(days=10))
        change_status(issue, "resolve", actor_id=None, resolution="两盏路灯已更换。")
        db.session.commit()
        agency = department.name
    closed_xml = client.get(f"/open311/v2/requests/{reference}.xml").text
    [closed] = xml_records(closed_xml, "request")
    assert closed["service_request_id"] == reference and closed["status"] == "closed"
    assert closed["status_notes"] == "已解决或采纳：两盏路灯已更换。"
    assert closed["agency_responsible"] == agency
    assert closed["description"] == PUBLIC_SUMMARY  # staff's words, public once handled
    assert DESCRIPTION[:10] not in closed_xml  # never the resident's own


def test_an_unconfirmed_reply_reads_as_in_progress(app, client, platform):
    reference = post(client, **{"attribute[platform]": platform.code}).json[0][
        "service_request_id"]
    accept(app, reference)
    with app.test_request_context():
        issue = db.session.scalar(sa.select(Issue).where(Issue.reference == reference))
        change_status(issue, "assign", actor_id=None, department=factories.department(),
                      due_on=utcnow().date() + timedelta(days=10))
        change_status(issue, "reply", actor_id=None, reply="答复草稿：下周更换路灯。",
                      proposed_status="resolved")
        db.session.commit()
    for text in (client.get(f"/open311/v2/requests/{reference}.json").text,
                 client.get("/open311/v2/requests.xml").text):
        assert "办理中" in text and "答复草稿" not in text and "已答复待确认" not in text


def test_no_personal_data_ever_leaves(app, client, platform):
    reference = post(client, **{"attribute[platform]": platform.code, "first_name": "秀英",
                                "last_name": "欧阳", "phone": PHONE}).json[0][
        "service_request_id"]
    accept(app, reference)
    pages = [client.get(f"/open311/v2/requests/{reference}.{fmt}").text for fmt in ("json", "xml")]
    pages += [client.get(f"/open311/v2/requests.{fmt}").text for fmt in ("json", "xml")]
    for text in pages:
        assert reference in text
        for private in (NAME, "秀英", PHONE, PHONE[-4:], DESCRIPTION[:10]):
            assert private not in text


def test_xml_post_and_the_nearest_platform_by_position(app, client, make, platform):
    make("platform", latitude=30.70, longitude=114.40)
    make("platform", latitude=30.601, longitude=114.301, status=PlatformStatus.SUSPENDED)
    created = post(client, "xml", lat="30.605", long="114.302")
    assert created.status_code == 201
    [answer] = xml_records(created.text, "request")
    with app.app_context():
        stored = db.session.scalar(sa.select(Issue).where(
            Issue.reference == answer["service_request_id"]))
    assert stored.platform_id == platform.id  # the nearest active one


@pytest.mark.parametrize(("fields", "field", "fmt"), [
    ({"service_code": ""}, "service_code", "json"),
    ({"service_code": "doorstep.sports"}, "service_code", "xml"),
    ({"description": " "}, "description", "json"),
    ({"phone": "12345"}, "phone", "json"),
    ({"attribute[platform]": None, "lat": "30.6"}, "long", "xml"),
    ({"attribute[platform]": None, "lat": "north", "long": "114.3"}, "lat", "json"),
    ({"attribute[platform]": "NO-SUCH"}, "attribute[platform]", "json"),
    ({"attribute[platform]": None}, "attribute[platform]", "json"),
])
def test_bad_posts_name_the_field_and_store_nothing(app, client, platform, fields, field, fmt):
    data = {"attribute[platform]": platform.code, **fields}
    data = {name: value for name, value in data.items() if value is not None}
    response = post(client, fmt, **data)
    assert response.status_code == 400
    if fmt == "json":
        [error] = response.json
    else:
        [error] = xml_records(response.text, "error")
    assert str(error["code"]) == "400"
    assert error["description"].startswith(f"{field}: ")
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Issue.id))) == 0


def test_unknown_request_is_404_in_the_format_asked(client):
    missing = client.get("/open311/v2/requests/WH24-99999.json")
    assert missing.status_code == 404
    assert missing.json[0]["code"] == 404
    assert missing.json[0]["description"].startswith("service_request_id: ")
    xml = client.get("/open311/v2/requests/WH24-99999.xml")
    assert xml.status_code == 404 and ET.fromstring(xml.text).tag == "errors"


def test_posts_share_the_resident_submission_rate_limit(app, client, platform):
    limit = int(app.config["SUBMISSION_RATE_LIMIT"].split()[0])
    for _ in range(limit):
        assert post(client, **{"attribute[platform]": platform.code}).status_code == 201
    refused = post(client, "xml", **{"attribute[platform]": platform.code})
    assert refused.status_code == 429
    assert xml_records(refused.text, "error")[0]["code"] == "429"


def make_issues(app: Flask, platform_id: int) -> dict[str, Issue]:
    """A received, an assigned (due soon), a planned and a resolved problem, in two services."""
    with app.test_request_context():
        department = factories.department()
        received = factories.issue(platform_id=platform_id, submitter_name=NAME,
                                   submitter_phone=PHONE)
        assigned = factories.issue(platform_id=platform_id, kind="urgent", category="economy")
        change_status(assigned, "assign", actor_id=None, department=department,
                      due_on=utcnow().date() + timedelta(days=5))
        planned = factories.issue(platform_id=platform_id)
        change_status(planned, "assign", actor_id=None, department=department,
                      due_on=utcnow().date() + timedelta(days=5))
        change_status(planned, "plan", actor_id=None,
                      planned_on=utcnow().date() + timedelta(days=60), resolution="明年春天施工。")
        resolved = factories.issue(platform_id=platform_id)
        change_status(resolved, "resolve", actor_id=None, resolution="已清理。")
        old = factories.issue(platform_id=platform_id, now=utcnow() - timedelta(days=200))
        db.session.commit()
        return {"received": received.reference, "assigned": assigned.reference,
                "planned": planned.reference, "resolved": resolved.reference,
                "old": old.reference}


def refs(response) -> list[str]:
    assert response.status_code == 200, response.text
    return [r["service_request_id"] for r in response.json]


def test_request_list_filters(app, client, platform):
    made = make_issues(app, platform.id)
    everything = refs(client.get("/open311/v2/requests.json"))
    assert everything == [made[k] for k in ("resolved", "planned", "assigned", "received")]
    assert made["old"] not in everything  # older than the default 90 days
    assert refs(client.get("/open311/v2/requests.json?status=closed")) == [made["resolved"]]
    assert set(refs(client.get("/open311/v2/requests.json?status=open"))) == \
        {made["planned"], made["assigned"], made["received"]}
    assert refs(client.get("/open311/v2/requests.json?service_code=urgent.economy")) == \
        [made["assigned"]]
    since = (utcnow() - timedelta(days=365)).date().isoformat()
    assert made["old"] in refs(client.get(f"/open311/v2/requests.json?start_date={since}"))
    ids = f"{made['old']},{made['received'].lower()}"
    assert set(refs(client.get(f"/open311/v2/requests.json?service_request_id={ids}"))) == \
        {made["old"], made["received"]}
    bad = client.get("/open311/v2/requests.json?start_date=yesterday")
    assert bad.status_code == 400 and bad.json[0]["description"].startswith("start_date: ")
    assert client.get("/open311/v2/requests.json?status=pending").status_code == 400

    shown = {r["service_request_id"]: r for r in client.get("/open311/v2/requests.json").json}
    assert shown[made["planned"]]["status"] == "open"
    assert shown[made["planned"]]["status_notes"] == "列入计划正在解决：明年春天施工。"
    assert shown[made["planned"]]["expected_datetime"].endswith("T23:59:59+08:00")
    assert shown[made["assigned"]]["expected_datetime"] is not None
    # Every request's description is its public summary, from publication on.
    assert shown[made["received"]]["description"] == "晚上车位不足，车辆占用消防通道。"
    xml = client.get("/open311/v2/requests.xml?status=closed")
    [resolved] = xml_records(xml.text, "request")
    assert resolved["status_notes"] == "已解决或采纳：已清理。"


def test_get_is_open_to_any_web_client(client):
    response = client.get("/open311/v2/services.json")
    assert response.headers["Access-Control-Allow-Origin"] == "*"


def test_platform_id_may_be_the_platform_number(app, client, platform):
    created = post(client, platform_id=str(platform.id))  # no CSRF token, no login: a machine
    assert created.status_code == 201
    with app.app_context():
        assert db.session.scalar(sa.select(Issue.platform_id)) == platform.id


def _numbered(app: Flask, platform_id: int, n: int) -> list[str]:
    """``n`` problems a minute apart, newest first (as the list shows them)."""
    with app.test_request_context():
        made = [factories.issue(platform_id=platform_id, now=utcnow() - timedelta(minutes=i))
                for i in range(n)]
        db.session.commit()
        return [i.reference for i in made]


def test_requests_come_a_page_at_a_time(app, client, platform, monkeypatch):
    from consult_hub.open311 import views

    monkeypatch.setattr(views, "MAX_RESULTS", 2)
    newest = _numbered(app, platform.id, 5)
    first = client.get("/open311/v2/requests.json")
    assert refs(first) == newest[:2]
    seen, url = [], "/open311/v2/requests.json"
    while url:  # the Link header leads from page to page
        response = client.get(url)
        seen += refs(response)
        url = response.headers.get("Link", "").partition(">")[0].lstrip("<")
    assert seen == newest
    assert refs(client.get("/open311/v2/requests.json?page=3")) == newest[4:]
    assert refs(client.get("/open311/v2/requests.json?page=4")) == []
    assert refs(client.get("/open311/v2/requests.json?page_size=1&page=2")) == newest[1:2]
    xml = client.get("/open311/v2/requests.xml?page=2")
    assert [r["service_request_id"] for r in xml_records(xml.text, "request")] == newest[2:4]
    assert "requests.xml?" in xml.headers["Link"]


@pytest.mark.parametrize("query", ["page=0", "page=x", "page=9999999999",
                                   "page_size=3", "page_size=0", "page_size=-1"])
def test_bad_paging_names_the_field(client, monkeypatch, query):
    from consult_hub.open311 import views

    monkeypatch.setattr(views, "MAX_RESULTS", 2)
    response = client.get(f"/open311/v2/requests.json?{query}")
    assert response.status_code == 400
    assert response.json[0]["description"].startswith(query.split("=")[0] + ": ")


def test_next_links_reach_every_request_past_the_numbered_pages(app, client, platform, monkeypatch):
    from consult_hub.core import pagination
    from consult_hub.open311 import views

    monkeypatch.setattr(views, "MAX_RESULTS", 2)
    monkeypatch.setattr(pagination, "BROWSE_LIMIT", 4)
    newest = _numbered(app, platform.id, 7)
    refused = client.get("/open311/v2/requests.json?page=3")
    assert refused.status_code == 400 and refused.json[0]["description"].startswith("page: ")
    seen, url = [], "/open311/v2/requests.json"
    while url:  # the next links go on past the numbered pages
        response = client.get(url)
        seen += refs(response)
        url = response.headers.get("Link", "").partition(">")[0].lstrip("<")
    assert seen == newest
    assert refs(client.get("/open311/v2/requests.json", query_string={
        "before": newest[4].lower()})) == newest[5:7]
    unknown = client.get("/open311/v2/requests.json?before=WH99-99999")
    assert unknown.status_code == 400 and unknown.json[0]["description"].startswith("before: ")


def test_requests_of_one_second_are_all_reached(app, client, platform, monkeypatch):
    """An import gives many problems the same time: paging must neither stall nor skip."""
    from consult_hub.open311 import views

    monkeypatch.setattr(views, "MAX_RESULTS", 2)
    moment = utcnow().replace(microsecond=0) - timedelta(hours=1)
    with app.test_request_context():
        made = [factories.issue(platform_id=platform.id, now=moment).reference for _ in range(5)]
        db.session.commit()
    seen, url = [], "/open311/v2/requests.json"
    while url:
        response = client.get(url)
        seen += refs(response)
        url = response.headers.get("Link", "").partition(">")[0].lstrip("<")
    assert sorted(seen) == sorted(made) and len(seen) == 5


def test_receipt_lookups_answer_every_receipt_and_end_date_out_of_range_is_refused(
        app, client, platform, monkeypatch):
    from consult_hub.open311 import views

    monkeypatch.setattr(views, "MAX_RESULTS", 2)
    newest = _numbered(app, platform.id, 5)
    asked = client.get("/open311/v2/requests.json", query_string={
        "service_request_id": ",".join(newest)})
    assert sorted(refs(asked)) == sorted(newest) and "Link" not in asked.headers
    late = client.get("/open311/v2/requests.json?end_date=9999-12-31T23:59:59Z")
    assert late.status_code == 400 and late.json[0]["description"].startswith("end_date: ")


# -- integrating systems: API keys ------------------------------------------------------------

HOTLINE = {"REMOTE_ADDR": "10.12.34.5"}  # every call a hotline relays comes from this address


def issue_key_as_city_staff(app: Flask, client, auth, *, rate_limit: str = "") -> str:
    """City staff issue a key on its page; the key is shown once, on the answer."""
    with app.app_context():
        factories.user("admin", username="city")
        db.session.commit()
    auth.login("city")
    page = client.get("/manage/api-keys/")
    assert page.status_code == 200
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text).group(1)
    made = client.post("/manage/api-keys/", data={
        "csrf_token": token, "name": "12345 热线", "system": "市民服务热线（市政务服务中心）",
        "rate_limit": rate_limit})
    assert made.status_code == 201, made.text
    key = re.search(r"o311_[A-Za-z0-9_-]{43}", made.text).group(0)
    assert key not in client.get("/manage/api-keys/").text  # never shown again
    auth.logout()
    return key


def audit_actions(app: Flask) -> list[str]:
    from consult_hub.models import AuditLog

    with app.app_context():
        return list(db.session.scalars(sa.select(AuditLog.action)
                                       .where(AuditLog.entity_type == "api_keys")
                                       .order_by(AuditLog.id)))


def test_a_hotline_with_a_key_posts_all_day_while_a_keyless_client_is_limited(
        app, client, auth, platform):
    key = issue_key_as_city_staff(app, client, auth)
    assert audit_actions(app) == ["api_key_issue"]
    for n in range(20):  # an hour of calls on a hotline, all from one server address
        relayed = client.post("/open311/v2/requests.json", environ_base=HOTLINE, data={
            "api_key": key, "service_code": "doorstep.society", "description": f"{DESCRIPTION}{n}",
            "attribute[platform]": platform.code})
        assert relayed.status_code == 201, (n, relayed.text)
    # The keyed posts did not use up the address's residents' limit: a keyless client there
    # still has its own, and no more.
    limit = int(app.config["SUBMISSION_RATE_LIMIT"].split()[0])
    for _ in range(limit):
        assert client.post("/open311/v2/requests.json", environ_base=HOTLINE, data={
            "service_code": "doorstep.society", "description": DESCRIPTION,
            "attribute[platform]": platform.code}).status_code == 201
    refused = client.post("/open311/v2/requests.json", environ_base=HOTLINE, data={
        "service_code": "doorstep.society", "description": DESCRIPTION,
        "attribute[platform]": platform.code})
    assert refused.status_code == 429
    with app.app_context():
        from consult_hub.models import ApiKey

        row = db.session.scalar(sa.select(ApiKey))
        assert row.last_used_at is not None and row.rate_limit == "600 per hour"
        assert db.session.scalar(sa.select(sa.func.count(Issue.id))) == 20 + limit


def test_each_key_has_its_own_limit(app, client, auth, platform):
    key = issue_key_as_city_staff(app, client, auth, rate_limit="3 per hour")
    data = {"api_key": key, "service_code": "doorstep.society", "description": DESCRIPTION,
            "attribute[platform]": platform.code}
    assert [client.post("/open311/v2/requests.json", data=data).status_code
            for _ in range(4)] == [201, 201, 201, 429]


def test_a_revoked_or_unknown_key_is_refused_naming_api_key(app, client, auth, platform):
    key = issue_key_as_city_staff(app, client, auth)
    auth.login("city")
    with app.app_context():
        from consult_hub.models import ApiKey

        key_id = db.session.scalar(sa.select(ApiKey.id))
    page = client.get("/manage/api-keys/")
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text).group(1)
    revoked = client.post(f"/manage/api-keys/{key_id}/revoke", data={"csrf_token": token})
    assert revoked.status_code == 303
    assert "已吊销" in client.get("/manage/api-keys/").text
    auth.logout()
    assert audit_actions(app) == ["api_key_issue", "api_key_revoke"]
    for offered, fmt in ((key, "json"), (key, "xml"), ("o311_" + "x" * 43, "json"),
                         ("not-a-key", "xml")):
        answer = post(client, fmt, api_key=offered, **{"attribute[platform]": platform.code})
        assert answer.status_code == 403, offered
        [error] = answer.json if fmt == "json" else xml_records(answer.text, "error")
        assert str(error["code"]) == "403" and error["description"].startswith("api_key: ")
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Issue.id))) == 0


@pytest.mark.parametrize(("role", "status"), [("district_admin", 403), ("coordinator", 403)])
def test_only_city_staff_issue_keys(app, client, auth, role, status):
    with app.app_context():
        factories.user(role, username="someone")
        db.session.commit()
    auth.login("someone")
    assert client.get("/manage/api-keys/").status_code == status


def test_a_key_with_a_bad_limit_is_refused_naming_the_field(app, client, auth):
    with app.app_context():
        factories.user("admin", username="city")
        db.session.commit()
    auth.login("city")
    page = client.get("/manage/api-keys/")
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text).group(1)
    refused = client.post("/manage/api-keys/", data={
        "csrf_token": token, "name": "12345 热线", "system": "热线", "rate_limit": "lots"})
    assert refused.status_code == 422
    assert 'id="rate_limit-error"' in refused.text or "600 per hour" in refused.text
    assert audit_actions(app) == []


def test_discovery_says_integrating_systems_need_a_key_to_post(client):
    found = client.get("/open311/v2/discovery.json").json
    assert "api_key" in found["key_service"] and "12345" in found["key_service"]
    assert found["endpoints"][0]["formats"] == ["text/xml", "application/json"]
    root = ET.fromstring(client.get("/open311/v2/discovery.xml").text)
    assert "api_key" in root.findtext("key_service")


# -- a hotline's location, contact and photo -----------------------------------------------------

ADDRESS = "洪山区珞喻路 1037 号 3 栋 502"  # as the caller said it, door number and all
PUBLISHED_ADDRESS = "洪山区珞喻路 1037 号附近"


def test_an_address_without_platform_waits_for_staff_to_choose_one(app, client, auth, platform):
    created = post(client, address_string=ADDRESS, address_id="HS-0012345",
                   email="caller@example.org", media_url="https://12345.example.org/p/1.jpg",
                   phone=PHONE)
    assert created.status_code == 201, created.text
    reference = created.json[0]["service_request_id"]
    assert ADDRESS not in created.text and "caller@" not in created.text
    with app.app_context():
        stored = db.session.scalar(sa.select(Issue).where(Issue.reference == reference))
        assert stored.platform_id is None and stored.district_id is None
        assert (stored.submitted_address, stored.address_id, stored.address) == (
            ADDRESS, "HS-0012345", None)
        assert stored.submitter_email == "caller@example.org"
        assert stored.media_url == "https://12345.example.org/p/1.jpg"
        issue_id = stored.id
        factories.user("admin", username="city")
        db.session.commit()
    # Private until published: no reader sees it, or its address.
    for path in (f"/open311/v2/requests/{reference}.json", "/open311/v2/requests.json",
                 "/open311/v2/requests.xml", f"/issues/{reference}"):
        assert ADDRESS not in client.get(path).text

    # City staff review it: the reported address, the email and the photo link are on the
    # page; accepting without a platform is refused, naming it.
    auth.login("city")
    assert reference in client.get("/manage/issues/?status=pending").text  # city staff's list
    page = client.get(f"/manage/issues/{issue_id}")
    assert page.status_code == 200
    assert ADDRESS in page.text and "caller@example.org" in page.text and "HS-0012345" in page.text
    assert 'href="https://12345.example.org/p/1.jpg"' in page.text
    assert 'name="platform"' in page.text
    version = re.search(r'name="version"[^>]*value="(\d+)"', page.text).group(1)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text).group(1)
    form = {"csrf_token": token, "version": version, "title": PUBLIC_TITLE,
            "description": PUBLIC_SUMMARY, "address": PUBLISHED_ADDRESS,
            **classification(page.text)}
    refused = client.post(f"/manage/issues/{issue_id}/act/accept", data=form)
    assert refused.status_code == 422 and "请选择受理平台" in refused.text
    leaking = client.post(f"/manage/issues/{issue_id}/act/accept", data={
        **form, "platform": str(platform.id), "address": "珞喻路 13912345678"})
    assert leaking.status_code == 422
    accepted = client.post(f"/manage/issues/{issue_id}/act/accept",
                           data={**form, "platform": str(platform.id)})
    assert accepted.status_code == 303, accepted.text
    with app.app_context():
        stored = db.session.get(Issue, issue_id)
        assert stored.platform_id == platform.id and stored.district_id == platform.district_id
        assert stored.address == PUBLISHED_ADDRESS and stored.submitted_address == ADDRESS

    # Published: GET shows the location staff published and their summary, never the
    # reported address, the email or the photo link.
    [read] = client.get(f"/open311/v2/requests/{reference}.json").json
    assert read["address"] == PUBLISHED_ADDRESS and read["description"] == PUBLIC_SUMMARY
    assert read["address_id"] is None and read["media_url"] is None
    [as_xml] = xml_records(client.get(f"/open311/v2/requests/{reference}.xml").text, "request")
    assert as_xml["address"] == PUBLISHED_ADDRESS
    for text in (client.get(f"/open311/v2/requests/{reference}.json").text,
                 client.get("/open311/v2/requests.xml").text):
        for private in (ADDRESS, "502", "HS-0012345", "caller@", "12345.example.org", PHONE):
            assert private not in text


def classification(page: str) -> dict[str, str]:
    """The kind and category the accept form offers, if it asks for them (a submission in
    plain words is classified at review)."""
    chosen = {}
    for name, value in (("kind", "doorstep"), ("category", "society")):
        if re.search(rf'name="{name}"', page):
            chosen[name] = value
    return chosen


def test_a_platform_or_position_still_places_a_request_with_an_address(app, client, platform):
    created = post(client, address_string="二七路 100 号", lat="30.601", long="114.301")
    assert created.status_code == 201
    with app.app_context():
        stored = db.session.scalar(sa.select(Issue))
        assert stored.platform_id == platform.id and stored.submitted_address == "二七路 100 号"


@pytest.mark.parametrize(("fields", "field"), [
    ({"email": "not an email"}, "email"),
    ({"media_url": "javascript:alert(1)"}, "media_url"),
    ({"media_url": "ftp://example.org/a.jpg"}, "media_url"),
    ({"media_url": "http://[::1"}, "media_url"),
    ({"address_string": "路" * 201}, "address_string"),
])
def test_bad_location_and_contact_name_the_field(app, client, platform, fields, field):
    response = post(client, **{"attribute[platform]": platform.code, **fields})
    assert response.status_code == 400
    [error] = response.json
    assert error["description"].startswith(f"{field}: ")
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Issue.id))) == 0


# -- errors everywhere, whole days, pages past the end --------------------------------------------


@pytest.mark.parametrize(("method", "path", "status", "fmt"), [
    ("GET", "/open311/v2/tokens/abc.json", 404, "json"),
    ("GET", "/open311/v2/requests.csv", 404, "json"),
    ("GET", "/open311/v2/services.html", 404, "json"),
    ("GET", "/open311/v2/nothing.xml", 404, "xml"),
    ("GET", "/open311/", 404, "json"),
    ("GET", "/open311/v3/requests.xml", 404, "xml"),
    ("DELETE", "/open311/v2/requests.json", 405, "json"),
    ("PUT", "/open311/v2/requests/WH24-00001.xml", 405, "xml"),
])
def test_unknown_paths_and_formats_answer_georeport_errors(client, method, path, status, fmt):
    response = client.open(path, method=method)
    assert response.status_code == status
    if fmt == "json":
        assert response.content_type.startswith("application/json")
        [error] = response.json
    else:
        assert response.content_type.startswith("text/xml")
        [error] = xml_records(response.text, "error")
    assert str(error["code"]) == str(status) and error["description"]
    assert "<html" not in response.text


def test_a_date_only_end_date_covers_the_whole_day(app, client, platform):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    shanghai = ZoneInfo("Asia/Shanghai")
    day = utcnow().astimezone(shanghai).date() - timedelta(days=3)
    late = datetime(day.year, day.month, day.day, 23, 30, tzinfo=shanghai)
    with app.test_request_context():
        reference = factories.issue(platform_id=platform.id, now=late).reference
        next_day = factories.issue(platform_id=platform.id,
                                   now=late + timedelta(hours=1)).reference
        db.session.commit()
    found = refs(client.get(f"/open311/v2/requests.json?end_date={day.isoformat()}"))
    assert reference in found and next_day not in found
    within = refs(client.get("/open311/v2/requests.json", query_string={
        "start_date": day.isoformat(), "end_date": day.isoformat()}))
    assert within == [reference]


def test_a_page_past_the_last_answers_an_empty_list(app, client, platform, monkeypatch):
    from consult_hub.open311 import views

    monkeypatch.setattr(views, "MAX_RESULTS", 2)
    _numbered(app, platform.id, 3)
    for fmt in ("json", "xml"):
        response = client.get(f"/open311/v2/requests.{fmt}?page=999999999")
        assert response.status_code == 200, response.text
        if fmt == "json":
            assert response.json == []
        else:
            assert xml_records(response.text, "request") == []


def test_relayed_contact_and_location_are_erased_with_the_phone(app, client, platform):
    """The retention sweep erases the email, the reported address and the photo link with
    the name and phone; the location staff published stays."""
    from consult_hub.issues.retention import erase_expired_contacts

    reference = post(client, address_string=ADDRESS, email="caller@example.org",
                     media_url="https://12345.example.org/p/1.jpg", phone=PHONE,
                     **{"attribute[platform]": platform.code}).json[0]["service_request_id"]
    accept(app, reference)
    with app.test_request_context():
        issue = db.session.scalar(sa.select(Issue).where(Issue.reference == reference))
        issue.address = PUBLISHED_ADDRESS
        change_status(issue, "resolve", actor_id=None, resolution="已处理。",
                      now=utcnow() - timedelta(days=400))
        db.session.commit()
        assert erase_expired_contacts(utcnow())["erased"] == 1
        db.session.expire_all()
        issue = db.session.scalar(sa.select(Issue).where(Issue.reference == reference))
        assert (issue.submitter_email, issue.submitted_address, issue.media_url,
                issue.submitter_phone) == (None, None, None, None)
        assert issue.address == PUBLISHED_ADDRESS


def test_staff_export_a_submission_still_without_a_platform(app, client, auth):
    reference = post(client, address_string=ADDRESS).json[0]["service_request_id"]
    with app.app_context():
        factories.user("admin", username="city")
        db.session.commit()
    auth.login("city")
    exported = client.get("/manage/export/issues.csv")
    assert exported.status_code == 200 and reference in exported.text
