"""Open311 GeoReport v2: a client lists services, posts a request and reads it back, in JSON
and XML."""

from __future__ import annotations

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
    assert read["description"] == PUBLIC_TITLE  # taken up yet? Not before it is assigned
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
    # Until a problem is taken up, its description stays private: the title stands in.
    assert shown[made["received"]]["description"] == "小区停车难"
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


@pytest.mark.parametrize("query", ["page=0", "page=x", "page=9999999999", "page=999999999",
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
