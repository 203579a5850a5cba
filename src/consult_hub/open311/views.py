"""Open311 GeoReport v2 views.

Services are the problem kinds × categories (``doorstep.society``); service requests are
residents' problems, identified by their public receipt (``WH24-00123``). Every answer comes
as JSON or XML (``.json`` / ``.xml``); errors are GeoReport error lists naming the field.

What a request shows is what the public problem page shows: only problems staff reviewed and
published (a submission waiting for review answers 404 like an unknown one), no submitter's
name or phone, no private note, the public status (an unconfirmed reply reads 办理中), and the
the public summary staff wrote when they accepted it, and the location they published. A POST
is a resident's submission, under the same checks and the same rate limit as the web form; it
waits for review, private, and its answer echoes none of it. An integrating system (a 12345
hotline) sends the ``api_key`` city staff issued it and is counted under that key's own limit.
Consent to the privacy notice is the relaying system's to collect (consent_version stays
empty; docs/open311.md). Everything under /open311/, unknown paths and formats included,
answers GeoReport error lists.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, current_app, g, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from consult_hub.apikeys.models import ApiKey
from consult_hub.apikeys.operations import default_rate_limit, live_key, mark_used
from consult_hub.auth.decorators import public
from consult_hub.core import pagination, params
from consult_hub.core.categories import Category
from consult_hub.core.db import utcnow
from consult_hub.core.forms import FORBIDDEN_CHARACTERS
from consult_hub.core.links import current_url_without_query, external_url, site_url
from consult_hub.core.saving import save
from consult_hub.core.timefmt import local_zone
from consult_hub.extensions import csrf, limiter
from consult_hub.issues.models import (
    ANSWERED_STATUSES,
    DUE_STATUSES,
    PUBLIC_STATUS,
    IssueKind,
    IssueSource,
    IssueStatus,
)
from consult_hub.issues.operations import create_issue
from consult_hub.issues.references import normalise_reference
from consult_hub.open311 import queries

bp = Blueprint("open311", __name__, url_prefix="/open311/v2")
csrf.exempt(bp)  # machine clients post form data without a session

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
CHANGESET = "2026-12-07T00:00:00+08:00"  # when this endpoint's behaviour last changed
FORMATS = "<any(json, xml):fmt>"
DEFAULT_WINDOW = timedelta(days=90)
MAX_RESULTS = 200  # per answer (page_size); GeoReport v2 leaves the maximum to the server
MAX_REFERENCES = 1000  # service_request_id values heeded in one query
TITLE_CHARS = 30
DESCRIPTION_LIMIT = 5000
# create_issue's field names as a GeoReport client knows them.
POST_FIELDS = {"title": "attribute[title]", "description": "description",
               "kind": "service_code", "category": "service_code", "source": "service_code",
               "submitter_name": "first_name", "submitter_phone": "phone",
               "event_id": "service_code", "submitter_email": "email",
               "submitted_address": "address_string", "address_id": "address_id",
               "media_url": "media_url", "platform": "attribute[platform]"}
PREFIX = "/open311/"
DATE_ONLY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class Open311Error(Exception):
    def __init__(self, status: int, errors: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{f}: {m}" for f, m in errors))
        self.status = status
        self.errors = errors  # (field, message)


def submission_limit() -> str:
    return current_app.config["SUBMISSION_RATE_LIMIT"]


# -- API keys of integrating systems ----------------------------------------------------------
# A POST with ``api_key`` is counted under that key's own limit, per key, instead of the
# residents' limit per address (a hotline relays every call from one address). A key that is
# unknown or revoked is refused (403) before anything is stored, so it lifts no limit.


def _offered_key() -> str:
    return request.form.get("api_key", "").strip() if request.method == "POST" else ""


def _key() -> ApiKey | None:
    """The live key the request offers (looked up once per request), or None."""
    if "open311_key" not in g:
        offered = _offered_key()
        g.open311_key = live_key(offered) if offered else None
    return g.open311_key


def _keyed() -> bool:
    return bool(_offered_key())


def _without_live_key() -> bool:
    return _key() is None


def key_limit() -> str:
    found = _key()
    return found.rate_limit if found is not None else default_rate_limit()


def key_bucket() -> str:
    found = _key()
    return f"open311-key:{found.id}" if found is not None else "open311-key:none"


# -- rendering --------------------------------------------------------------------------------


def _xml(root: str, item: str, records: list[dict[str, Any]]) -> bytes:
    top = ET.Element(root)
    for record in records:
        node = ET.SubElement(top, item)
        for key, value in record.items():
            _xml_value(node, key, value)
    return ET.tostring(top, encoding="utf-8", xml_declaration=True)


def _xml_value(parent: ET.Element, key: str, value: Any) -> None:
    child = ET.SubElement(parent, key)
    if isinstance(value, list):
        singular = key[:-1] if key.endswith("s") else key
        for part in value:
            _xml_value(child, singular, part)
    elif isinstance(value, dict):
        for name, part in value.items():
            _xml_value(child, name, part)
    elif isinstance(value, bool):
        child.text = "true" if value else "false"
    elif value is not None:
        child.text = str(value)


def _answer(fmt: str, root: str, item: str, records: list[dict[str, Any]],
            status: int = 200) -> Response:
    if fmt == "xml":
        response = Response(_xml(root, item, records), status=status,
                            mimetype="text/xml", content_type="text/xml; charset=utf-8")
    else:
        response = Response(json.dumps(records, ensure_ascii=False), status=status,
                            content_type="application/json; charset=utf-8")
    if request.method == "GET":
        response.headers["Access-Control-Allow-Origin"] = "*"  # public data, any web client
    return response


def _errors(fmt: str, status: int, errors: list[tuple[str, str]]) -> Response:
    records = [{"code": status, "description": f"{name}: {message}" if name else message}
               for name, message in errors]
    return _answer(fmt, "errors", "error", records, status)


def _fmt() -> str:
    return (request.view_args or {}).get("fmt") or \
        ("xml" if request.path.endswith(".xml") else "json")


@bp.errorhandler(Open311Error)
def open311_error(error: Open311Error):
    return _errors(_fmt(), error.status, error.errors)


@bp.errorhandler(HTTPException)
def http_error(error: HTTPException):
    """404, 405, 429 … as GeoReport errors, in the format asked for."""
    if error.code is None or error.code < 400:
        return error
    message = {404: "not found", 429: "too many requests: please try again later"}.get(
        error.code, error.description or error.name)
    response = _errors(_fmt(), error.code, [("", message)])
    if isinstance(error, MethodNotAllowed) and error.valid_methods:
        response.headers["Allow"] = ", ".join(error.valid_methods)
    return response


KNOWN_FORMATS = ("json", "xml")


@bp.before_app_request
def unrouted():
    """A URL under /open311/ that matches no route (an unknown path, a format other than
    .json/.xml, a method the resource does not take) answers a GeoReport error list, in XML
    for .xml and JSON otherwise, not the site's HTML page. The blueprint's own handlers only
    see routed requests; this runs before routing errors are raised."""
    failed = request.routing_exception
    if failed is None or not (request.path + "/").startswith(PREFIX):
        return None
    if not isinstance(failed, HTTPException) or failed.code is None or failed.code < 400:
        return None  # a redirect (a missing trailing slash …) stays one
    name, _dot, extension = request.path.rpartition("/")[2].rpartition(".")
    fmt = "xml" if extension == "xml" else "json"
    if isinstance(failed, MethodNotAllowed):
        response = _errors(fmt, 405, [("", f"{request.method} is not allowed here")])
        response.headers["Allow"] = ", ".join(failed.valid_methods or ())
        return response
    if name and extension and extension not in KNOWN_FORMATS:
        message = f"unknown format .{extension[:16]}: use .json or .xml"
    else:
        message = "not found: see /open311/v2/discovery.json"
    return _errors(fmt, failed.code, [("", message)])


def _when(value: datetime | None, zone: ZoneInfo) -> str | None:
    return value.astimezone(zone).isoformat(timespec="seconds") if value else None


def _day_end(value: date | None, zone: ZoneInfo) -> str | None:
    """A due or planned date as the last second of that day, in the people's zone."""
    if value is None:
        return None
    return datetime.combine(value, time(23, 59, 59), tzinfo=zone).isoformat()


def service_code(kind: IssueKind, category: Category) -> str:
    return f"{kind.value}.{category.value}"


def _service(kind: IssueKind, category: Category) -> dict[str, Any]:
    return {
        "service_code": service_code(kind, category),
        "service_name": f"{kind.source_label} · {category.source_label}",
        "description": f"{kind.source_label}中属于“{category.source_label}”领域的问题",
        "metadata": False,
        "type": "realtime",
        "keywords": f"{kind.source_label},{category.source_label},{kind.value},{category.value}",
        "group": kind.source_label,
    }


def _status_notes(issue: Any, status: IssueStatus) -> str:
    if issue.resolution and status in ANSWERED_STATUSES:
        return f"{status.source_label}：{issue.resolution}"
    return status.source_label


def _expected(issue: Any, status: IssueStatus, zone: ZoneInfo) -> str | None:
    if status is IssueStatus.PLANNED:
        return _day_end(issue.planned_on, zone)
    if status in DUE_STATUSES:
        return _day_end(issue.due_on, zone)
    return None


def service_request(issue: Any, zone: ZoneInfo) -> dict[str, Any]:
    """One problem (a row of ``queries.REQUEST_COLUMNS``) as a GeoReport service request."""
    status = PUBLIC_STATUS.get(issue.status, issue.status)  # a reply not yet confirmed: 办理中
    return {
        "service_request_id": issue.reference,
        "status": "closed" if status.is_closed else "open",
        "status_notes": _status_notes(issue, status),
        "service_name": f"{issue.kind.source_label} · {issue.category.source_label}",
        "service_code": service_code(issue.kind, issue.category),
        # The public summary staff wrote when they accepted it: every request here has one.
        "description": issue.description,
        "agency_responsible": issue.department_name,
        "service_notice": f"受理平台：{issue.platform_name}",
        "requested_datetime": _when(issue.created_at, zone),
        "updated_datetime": _when(issue.updated_at, zone),
        "expected_datetime": _expected(issue, status, zone),
        # The location staff published, else the platform's address (the place it is handled).
        "address": issue.published_address or issue.platform_address,
        "address_id": None,
        "zipcode": None,
        "lat": issue.latitude,
        "long": issue.longitude,
        "media_url": None,
    }


# -- discovery and services ---------------------------------------------------------------------


@bp.route(f"/discovery.{FORMATS}")
@public
def discovery(fmt: str):
    site = site_url()
    record = {
        "changeset": CHANGESET,
        "contact": f"{current_app.config['CITY_NAME']}政协 · {site}",
        # GeoReport: how to get an API key. Reading needs none; integrating systems need one
        # to POST beyond the residents' limit.
        "key_service": (
            "对接系统（如 12345 热线）提交问题须在表单中带 api_key，"
            f"由{current_app.config['CITY_NAME']}政协工作人员签发，联系 {site}；"
            "读取不需要 api_key。不带 api_key 的提交按居民提交计，"
            f"每个地址限 {submission_limit()}。 (Integrating systems must POST with an api_key "
            "issued by the city CPPCC staff, each counted under its own rate limit; reads need "
            "no key; keyless POSTs count as residents' submissions, rate-limited per address.)"),
        "endpoints": [{
            "specification": SPECIFICATION,
            "url": external_url("open311.discovery", fmt=fmt).rsplit("/", 1)[0],
            "changeset": CHANGESET,
            "type": "production",
            "formats": ["text/xml", "application/json"],
        }],
    }
    if fmt == "xml":
        return Response(_discovery_xml(record), content_type="text/xml; charset=utf-8",
                        headers={"Access-Control-Allow-Origin": "*"})
    return Response(json.dumps(record, ensure_ascii=False),
                    content_type="application/json; charset=utf-8",
                    headers={"Access-Control-Allow-Origin": "*"})


def _discovery_xml(record: dict[str, Any]) -> bytes:
    top = ET.Element("discovery")
    for key in ("changeset", "contact", "key_service"):
        ET.SubElement(top, key).text = record[key]
    endpoints = ET.SubElement(top, "endpoints")
    for endpoint in record["endpoints"]:
        node = ET.SubElement(endpoints, "endpoint")
        for key in ("specification", "url", "changeset", "type"):
            ET.SubElement(node, key).text = endpoint[key]
        formats = ET.SubElement(node, "formats")
        for name in endpoint["formats"]:
            ET.SubElement(formats, "format").text = name
    return ET.tostring(top, encoding="utf-8", xml_declaration=True)


@bp.route(f"/services.{FORMATS}")
@public
def services(fmt: str):
    records = [_service(kind, category) for kind in IssueKind for category in Category]
    return _answer(fmt, "services", "service", records)


def _parse_service_code(text: str, field: str = "service_code") -> tuple[IssueKind, Category]:
    kind, _, category = text.strip().partition(".")
    try:
        return IssueKind(kind), Category(category)
    except ValueError:
        raise Open311Error(400, [(field, f"未知的服务代码 {text.strip()!r}"
                                         "（见 services.json）")]) from None


@bp.route(f"/services/<code>.{FORMATS}")
@public
def service_definition(code: str, fmt: str):
    """No service has extra attributes (metadata is false), so there is no definition to give."""
    _parse_service_code(code)
    raise Open311Error(404, [("service_code", f"服务 {code} 没有附加属性（metadata 为 false）")])


# -- reading requests ---------------------------------------------------------------------------


def _parse_time(name: str) -> datetime | None:
    text = request.args.get(name, "").strip()
    if not text:
        return None
    try:  # a time without offset is local time; years far from date's limits
        return params.to_datetime(text, local_zone())
    except params.BadParam:
        raise Open311Error(400, [(name, "应为 ISO 8601 时间，例如 2024-03-01T00:00:00+08:00")]) \
            from None


def _list_arg(name: str) -> list[str]:
    return [part.strip() for part in request.args.get(name, "").split(",") if part.strip()]


def _count_arg(name: str, default: int, maximum: int | None = None) -> int:
    """A whole number from 1 (to ``maximum``), or ``default`` when absent."""
    text = request.args.get(name, "").strip()
    if not text:
        return default
    try:
        return params.to_int(text, low=1, high=maximum or 10**9 - 1)
    except params.BadParam:
        raise Open311Error(400, [(name, f"应为 1 到 {maximum} 之间的整数" if maximum
                                  else "应为正整数")]) from None


@bp.route(f"/requests.{FORMATS}", methods=["GET"])
@public
def requests(fmt: str):
    """Service requests, newest first, ``page_size`` (at most ``MAX_RESULTS``) at a time.

    ``page_size``, ``page`` and ``before`` extend GeoReport v2, which leaves the number
    returned to the server. ``before`` (a ``service_request_id``) keeps the requests after
    that one: the ``next`` link carries the last one sent, so following it reaches every
    request once at any depth (the index is entered there; no OFFSET walks it). Numbered
    pages reach the newest ``BROWSE_LIMIT``.
    """
    references = [normalise_reference(r) for r in _list_arg("service_request_id")]
    services = [_parse_service_code(code) for code in _list_arg("service_code")]
    statuses = _list_arg("status")
    unknown = [s for s in statuses if s not in ("open", "closed")]
    if unknown:
        raise Open311Error(400, [("status", f"应为 open 或 closed，不是 {unknown[0]!r}")])
    start, end = _parse_time("start_date"), _parse_time("end_date")
    if start and end and start > end:
        raise Open311Error(400, [("end_date", "end_date 不能早于 start_date")])
    if start is None and not references:
        start = (end or utcnow()) - DEFAULT_WINDOW
    older_than = None
    if request.args.get("before", "").strip():
        before_ref = request.args["before"].strip()
        older_than = queries.position(normalise_reference(before_ref))
        if older_than is None:
            raise Open311Error(400, [("before", f"没有编号为 {before_ref[:32]} 的问题")])
    size = _count_arg("page_size", MAX_RESULTS, MAX_RESULTS)
    if references:  # a lookup by receipts answers all of them
        size = max(size, min(len(references), MAX_REFERENCES))
    page = _count_arg("page", 1)
    offset = (page - 1) * size
    before = _end_bound(end)
    filters: dict[str, Any] = {"references": references[:MAX_REFERENCES], "services": services,
                               "start": start, "end": before, "statuses": statuses,
                               "older_than": older_than}
    if offset >= pagination.BROWSE_LIMIT:
        # Past the numbered pages: as in the JSON API, a list that ends before them answers
        # an empty page like any page past its end; only a longer list refuses the page,
        # whose OFFSET would walk every earlier request (the next links reach them).
        if queries.requests(limit=1, offset=pagination.BROWSE_LIMIT, **filters):
            raise Open311Error(400, [("page", f"只能翻到最新的 {pagination.BROWSE_LIMIT} 条；"
                                              "更早的请跟随 Link 头的 next 链接（before 参数）")])
        return _answer(fmt, "service_requests", "request", [])
    found = queries.requests(limit=size + 1, offset=offset, **filters)
    zone = local_zone()
    response = _answer(fmt, "service_requests", "request",
                       [service_request(row, zone) for row in found[:size]])
    if len(found) > size and not references:
        args = {k: v for k, v in request.args.to_dict().items() if k != "page"}
        query = urlencode({**args, "before": found[size - 1].reference, "page_size": size})
        response.headers["Link"] = f'<{current_url_without_query()}?{query}>; rel="next"'
    return response


def _end_bound(end: datetime | None) -> datetime | None:
    """The first moment ``end_date`` leaves out: a date alone covers that whole day in the
    people's zone (Asia/Shanghai); a time covers the whole second it names."""
    if end is None:
        return None
    try:
        if DATE_ONLY.fullmatch(request.args.get("end_date", "").strip()):
            day = end.astimezone(local_zone()).date() + timedelta(days=1)
            return datetime.combine(day, time(0), tzinfo=local_zone())
        return end.replace(microsecond=0) + timedelta(seconds=1)
    except OverflowError:
        raise Open311Error(
            400, [("end_date", "应为 ISO 8601 时间，例如 2024-03-01T00:00:00+08:00")]) from None


@bp.route(f"/requests/<service_request_id>.{FORMATS}")
@public
def request_detail(service_request_id: str, fmt: str):
    found = queries.request_by_reference(normalise_reference(service_request_id))
    if found is None:
        raise Open311Error(404, [("service_request_id", f"没有编号为 {service_request_id} 的问题")])
    return _answer(fmt, "service_requests", "request", [service_request(found, local_zone())])


# -- submitting a request -----------------------------------------------------------------------


def _form_value(*names: str) -> str:
    for name in names:
        value = request.form.get(name, "").strip()
        if value:
            return value
    return ""


def _coordinate(name: str, low: float, high: float) -> float | None:
    text = _form_value(name)
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise Open311Error(400, [(name, "应为数字（WGS84 度）")]) from None
    if not low <= value <= high:
        raise Open311Error(400, [(name, f"应在 {low:g} 到 {high:g} 之间")])
    return value


def _platform() -> Any:
    """The platform named by ``attribute[platform]`` / ``platform_id``, else the one nearest
    lat/long; None when only an address is given (``address_string`` / ``address_id``): the
    submission waits for review without a platform and staff choose one from the address."""
    located = bool(_form_value("address_string", "address_id"))
    for name in ("attribute[platform]", "platform_id"):
        key = _form_value(name)
        if key:
            found = queries.active_platform_by_key(key)
            if found is None:
                raise Open311Error(400, [(name, f"没有编码或编号为 {key} 的运行中平台")])
            return found
    latitude, longitude = _coordinate("lat", -90, 90), _coordinate("long", -180, 180)
    if (latitude is None) != (longitude is None):
        raise Open311Error(400, [("long" if longitude is None else "lat",
                                  "lat 和 long 须同时提供")])
    if latitude is None or longitude is None:
        if located:
            return None
        raise Open311Error(400, [("attribute[platform]", "请提供受理平台（attribute[platform] 或 "
                                  "platform_id)、位置 lat/long，或地址 address_string")])
    found = queries.nearest_active_platform(latitude, longitude)
    if found is None and not located:
        raise Open311Error(400, [("lat", "附近没有登记了位置的运行中平台；"
                                         "请提供 attribute[platform] 或 address_string")])
    return found


def _submitter_name() -> str:
    """Chinese order (family name first, no space) when either part is Chinese."""
    first, last = _form_value("first_name"), _form_value("last_name")
    if re.search(r"[\u3400-\u9fff]", first + last):
        return f"{last}{first}"
    return " ".join(part for part in (first, last) if part)


def _title(description: str) -> str:
    words = " ".join(description.split())
    return words if len(words) <= TITLE_CHARS else words[:TITLE_CHARS] + "…"


@bp.route(f"/requests.{FORMATS}", methods=["POST"])
@public
@limiter.limit(submission_limit, methods=["POST"], exempt_when=_keyed)
@limiter.limit(key_limit, key_func=key_bucket, methods=["POST"], exempt_when=_without_live_key)
def create_request(fmt: str):
    if _keyed():
        key = _key()
        if key is None:
            raise Open311Error(403, [("api_key", "API 密钥无效或已吊销；请向市政协工作人员申请")])
        mark_used(key)  # stored with the submission
    for name, value in request.form.items(multi=True):
        if FORBIDDEN_CHARACTERS.search(name + value):
            raise Open311Error(400, [(FORBIDDEN_CHARACTERS.sub("", name)[:64],
                                      "含有不允许的控制字符")])
    code = _form_value("service_code")
    if not code:
        raise Open311Error(400, [("service_code", "请提供 service_code（见 services.json）")])
    kind, category = _parse_service_code(code)
    description = _form_value("description")
    if not description:
        raise Open311Error(400, [("description", "请填写问题描述")])
    if len(description) > DESCRIPTION_LIMIT:
        raise Open311Error(400, [("description", f"问题描述不超过 {DESCRIPTION_LIMIT} 个字")])
    platform = _platform()
    # Without a title, the description's start is a working title for staff only: the
    # problem waits for review, unpublished, until staff write its public title.
    # consent_version stays empty: the relaying system collects consent (docs/open311.md).
    saved = save(None, lambda: create_issue(
        platform=platform, title=_form_value("attribute[title]", "title") or _title(description),
        description=description, kind=kind, category=category, source=IssueSource.RESIDENT,
        submitter_name=_submitter_name() or None, submitter_phone=_form_value("phone") or None,
        submitter_email=_form_value("email") or None,
        reported_address=_form_value("address_string") or None,
        address_id=_form_value("address_id") or None, media_url=_form_value("media_url") or None,
        needs_review=True, consent_version=None))
    if not saved:
        raise Open311Error(400, [(POST_FIELDS.get(name, name), str(message))
                                 for name, message in saved.errors.items()])
    issue = saved.value
    # Nothing of the submission is echoed: it is private until staff review it.
    track = external_url("public.issue", reference=issue.reference)
    place = f"受理平台：{platform.name}" if platform is not None else "受理平台由工作人员按地址选择"
    notice = (f"已收到，受理编号 {issue.reference}（{place}）。"
              f"工作人员受理后，问题和办理进展会在 {track} 公开；受理前不公开。"
              "留了电话的，可凭编号和电话后四位查询进度。")
    return _answer(fmt, "service_requests", "request", [{
        "service_request_id": issue.reference, "service_notice": notice, "account_id": None,
    }], status=201)
