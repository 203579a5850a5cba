"""Open311 read through a client others wrote (the ``georeport`` package, JSON and XML), and
the raw answers checked against the GeoReport v2 element names.

georeport speaks HTTP through ``requests``; here its requests reach the app through a
transport adapter (no network, no server), so every byte it parses is the app's answer.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import timedelta
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

import pytest

from consult_hub.core.db import utcnow
from consult_hub.core.timefmt import local_today
from consult_hub.extensions import db
from consult_hub.issues.operations import change_status
from tests.support import factories

georeport = pytest.importorskip("georeport", reason="pip install georeport (the dev extra)")
requests = pytest.importorskip("requests")

ROOT = "http://consult.test/open311/v2"
# GeoReport v2, GET Service Requests: the elements of a service request, in the spec's order.
REQUEST_ELEMENTS = ["service_request_id", "status", "status_notes", "service_name",
                    "service_code", "description", "agency_responsible", "service_notice",
                    "requested_datetime", "updated_datetime", "expected_datetime", "address",
                    "address_id", "zipcode", "lat", "long", "media_url"]
SERVICE_ELEMENTS = ["service_code", "service_name", "description", "metadata", "type",
                    "keywords", "group"]


class AppAdapter(requests.adapters.BaseAdapter):
    """A ``requests`` transport that hands each request to the Flask test client."""

    def __init__(self, client: Any) -> None:
        super().__init__()
        self.client = client

    def send(self, request: Any, **kwargs: Any) -> Any:
        url = urlsplit(request.url)
        answer = self.client.open(url.path, method=request.method, query_string=url.query,
                                  data=request.body, headers=dict(request.headers))
        response = requests.Response()
        response.status_code = answer.status_code
        response._content = answer.get_data()
        response.headers = requests.structures.CaseInsensitiveDict(answer.headers)
        response.encoding = requests.utils.get_encoding_from_headers(response.headers)
        response.url, response.request = request.url, request
        return response

    def close(self) -> None:
        pass


@pytest.fixture()
def through_requests(client, monkeypatch):
    session = requests.Session()
    session.mount("http://consult.test", AppAdapter(client))
    monkeypatch.setattr(georeport.georeport, "requests", SimpleNamespace(get=session.get,
                                                                         post=session.post))
    return session


@pytest.fixture()
def published(app, make):
    """An open problem with a published address and a resolved one, both public."""
    platform = make("platform", latitude=30.6, longitude=114.3, address="二七路 100 号")
    with app.test_request_context():
        department = factories.department()
        open_one = factories.issue(platform_id=platform.id)
        open_one.address = "二七路与沿江大道路口"
        change_status(open_one, "assign", actor_id=None, department=department,
                      due_on=utcnow().date() + timedelta(days=7))
        done = factories.issue(platform_id=platform.id, kind="urgent", category="economy")
        change_status(done, "resolve", actor_id=None, resolution="已清理。")
        db.session.commit()
        return {"open": open_one.reference, "done": done.reference,
                "department": department.name}


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_georeport_lists_services_and_reads_requests(app, through_requests, published, fmt):
    reader = georeport.GeoReport(ROOT, output_format=fmt)
    services = reader.get_service_list()
    assert len(services) == 15
    assert {s["service_code"] for s in services} >= {"urgent.economy", "doorstep.society"}
    found = reader.get_service_requests(status="open")
    found = found if isinstance(found, list) else [found]  # xmltodict: one element, no list
    assert [r["service_request_id"] for r in found] == [published["open"]]
    one = reader.get_service_request(published["done"])
    assert one["status"] == "closed" and one["status_notes"] == "已解决或采纳：已清理。"
    assert one["service_code"] == "urgent.economy"
    shown = reader.get_service_request(published["open"])
    assert shown["address"] == "二七路与沿江大道路口"
    assert shown["agency_responsible"] == published["department"]
    # A bare date is a day in the people's zone (Asia/Shanghai): after 16:00 UTC that is
    # already tomorrow's date in UTC terms.
    with app.app_context():
        today = local_today(utcnow()).isoformat()
    by_day = reader.get_service_requests(start_date=today, end_date=today)
    by_day = by_day if isinstance(by_day, list) else [by_day]
    assert {r["service_request_id"] for r in by_day} == {published["open"], published["done"]}


def test_raw_answers_use_the_specs_element_names(client, published):
    [as_json] = client.get(f"/open311/v2/requests/{published['open']}.json").json
    assert list(as_json) == REQUEST_ELEMENTS
    root = ET.fromstring(client.get(f"/open311/v2/requests/{published['open']}.xml").text)
    assert root.tag == "service_requests"
    [request] = root.findall("request")
    assert [child.tag for child in request] == REQUEST_ELEMENTS
    assert float(request.findtext("lat")) == 30.6 and float(request.findtext("long")) == 114.3
    services = ET.fromstring(client.get("/open311/v2/services.xml").text)
    assert services.tag == "services"
    assert [c.tag for c in services.find("service")] == SERVICE_ELEMENTS
    assert list(client.get("/open311/v2/services.json").json[0]) == SERVICE_ELEMENTS
    discovery = ET.fromstring(client.get("/open311/v2/discovery.xml").text)
    assert [c.tag for c in discovery] == ["changeset", "contact", "key_service", "endpoints"]
    endpoint = discovery.find("endpoints/endpoint")
    assert [c.tag for c in endpoint] == ["specification", "url", "changeset", "type", "formats"]
    errors = ET.fromstring(client.get("/open311/v2/requests/WH99-99999.xml").text)
    assert errors.tag == "errors"
    assert [c.tag for c in errors.find("error")] == ["code", "description"]
