"""JSON API views: public reads, and writes authenticated by per-user bearer tokens.

Reads show public fields only (``api/present.py``). Writes go through the same operations
and scope rules as the staff forms. Bodies and query strings are checked against the
schemas of the OpenAPI document (``api/openapi.py``), which is served at /api/v1/openapi.json.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from enum import Enum
from typing import Any, TypeVar
from urllib.parse import urlencode

import sqlalchemy as sa
from flask import Blueprint, Response, current_app, request
from flask_login import current_user

from consult_hub.api import openapi, present, queries, schemas
from consult_hub.api.auth import rate_limit_key, token_required
from consult_hub.api.errors import ApiError, json_response
from consult_hub.api.errors import register as register_errors
from consult_hub.api.validation import json_body, query_args
from consult_hub.auth.decorators import public
from consult_hub.auth.scopes import (
    can_manage_platform,
    can_take_action,
    is_department_contact,
    require,
    require_platform,
)
from consult_hub.core import pagination
from consult_hub.core.categories import Category
from consult_hub.core.db import utcnow
from consult_hub.core.i18n import gettext as _
from consult_hub.core.links import current_url_without_query, external_url
from consult_hub.core.pagination import CappedPagination
from consult_hub.core.params import BadParam, to_month
from consult_hub.core.saving import save
from consult_hub.core.timefmt import local_today
from consult_hub.events import operations as event_operations
from consult_hub.events.models import Event, EventStatus
from consult_hub.extensions import csrf, db, limiter
from consult_hub.issues import operations as issue_operations
from consult_hub.issues import queries as issue_queries
from consult_hub.issues.lifecycle import TRANSITIONS
from consult_hub.issues.models import Issue, IssueKind, IssueStatus
from consult_hub.issues.operations import change_status, create_issue
from consult_hub.issues.references import normalise_reference, parse_reference
from consult_hub.platforms.models import Platform, PlatformKind, PlatformStatus
from consult_hub.platforms.queries import PlatformFilters
from consult_hub.proposals.models import ProposalOutcome, ProposerKind
from consult_hub.public import queries as public_queries
from consult_hub.tallies import cppcc
from consult_hub.tallies import queries as tally_queries

bp = Blueprint("api", __name__, url_prefix="/api/v1")
# Bearer tokens, never cookies, authenticate writes: a forged cross-site request has no token.
csrf.exempt(bp)
register_errors(bp)

E = TypeVar("E", bound=Enum)
MONTH = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])")


def _read_limit() -> str:
    return current_app.config["API_READ_RATE_LIMIT"]


def _write_limit() -> str:
    return current_app.config["API_WRITE_RATE_LIMIT"]


limiter.limit(_read_limit, key_func=rate_limit_key, methods=["GET"], per_method=True)(bp)
limiter.limit(_write_limit, key_func=rate_limit_key, methods=["POST", "PATCH"],
              per_method=True)(bp)


# --- Helpers --------------------------------------------------------------------------------


def _enum(enum_cls: type[E], value: str | None) -> E | None:
    return enum_cls(value) if value is not None else None


def _found(model: type[Any], ident: int) -> Any:
    """The row with this id (path parameter), or 404 — also for ids no database can hold."""
    found = db.session.get(model, ident) if 0 < ident <= schemas.MAX_ID else None
    if found is None:
        raise ApiError(404, _("找不到这个资源"))
    return found


def _district_id(code: str | None) -> int | None:
    """The id of the district a ``district`` filter names (by code); 400 for an unknown code."""
    if code is None:
        return None
    district = tally_queries.district_by_code(code)
    if district is None:
        raise ApiError(400, _("查询参数不正确"), code="invalid_parameter",
                       fields={"district": _("没有编码为 %(code)s 的区", code=code)})
    return district.id


def _page(stmt: sa.Select[Any], args: dict[str, Any],
          render: Callable[[Any], dict[str, Any]]) -> Response:
    """One page of ``stmt``: items, counts, and links to the neighbouring pages.

    Counting a nation's ten million problems on every page took longer than the page itself,
    so, as on the public lists (``core/pagination.py``), ``total`` counts at most
    ``BROWSE_LIMIT`` items (``total_exact`` false: at least that many) and pages are served
    by number within them; a page beyond is 400 (its OFFSET would walk millions of rows).
    ``after`` (an id) starts the list past an item, as cheaply at the end as at the start:
    the ``next`` link of the last numbered page uses it, so following ``next`` reaches
    every item.
    """
    if args["after"] is not None:
        stmt = stmt.where(stmt.column_descriptions[0]["entity"].id > args["after"])
    page = CappedPagination(select=stmt, session=db.session(), page=args["page"],
                            per_page=args["per_page"], max_per_page=schemas.MAX_PER_PAGE,
                            error_out=False, count=True)
    if page.beyond and page.capped:
        raise ApiError(400, _("查询参数不正确"), code="invalid_parameter", fields={"page": _(
            "页码只能翻到前 %(limit)s 项；请用筛选条件缩小范围，或沿 next 链接（after）继续",
            limit=pagination.BROWSE_LIMIT)})
    last = max(page.pages, 1)

    def link(number: int, after: int | None = None) -> str:
        params = {**request.args.to_dict(), "page": number, "per_page": page.per_page}
        if after is not None:
            params["after"] = after
        # Not url_for: it would take a query's _method or _scheme as its own arguments.
        return f"{current_url_without_query()}?{urlencode(params)}"

    if page.page < page.pages:
        following: str | None = link(page.page + 1)
    elif page.capped and page.items:  # the last numbered page of a longer list
        following = link(1, after=page.items[-1].id)
    else:
        following = None
    links = {"self": link(page.page), "first": link(1), "last": link(last), "next": following,
             "prev": link(min(page.page - 1, last)) if page.page > 1 else None}
    header = ", ".join(f'<{url}>; rel="{rel}"' for rel, url in links.items()
                       if url is not None and rel != "self")
    body = {"items": [render(item) for item in page.items], "page": page.page,
            "per_page": page.per_page, "total": page.total, "total_exact": not page.capped,
            "pages": page.pages, "links": links}
    return json_response(body, headers={"Link": header})


# --- Reads ----------------------------------------------------------------------------------


@bp.get("/openapi.json")
@public
def openapi_document():
    return json_response(openapi.document())


@bp.get("/districts")
@public
def districts():
    # The public filters' cached choices (id, code, name by code): a nation has 3,000.
    return json_response({"items": [present.area(d) for d in public_queries.district_choices()]})


@bp.get("/platforms")
@public
def platforms():
    args = query_args(openapi.PARAMETERS["platforms"])
    filters = PlatformFilters(
        q=args["q"], district_id=_district_id(args["district"]),
        kind=_enum(PlatformKind, args["kind"]), status=_enum(PlatformStatus, args["status"]),
        demonstration=args["demonstration"])
    return _page(queries.platform_list(filters), args, present.platform)


@bp.get("/platforms/<int:platform_id>")
@public
def platform(platform_id: int):
    found = public_queries.platform_page(platform_id) if platform_id <= schemas.MAX_ID else None
    if found is None:
        raise ApiError(404, _("找不到这个平台"))
    members = sorted((m for m in found.members if m.is_active), key=lambda m: (m.name, m.id))
    return json_response(present.platform(found, members=members))


@bp.get("/events")
@public
def events():
    args = query_args(openapi.PARAMETERS["events"])
    query = queries.EventQuery(
        platform_id=args["platform_id"], district_id=_district_id(args["district"]),
        status=_enum(EventStatus, args["status"]), category=_enum(Category, args["category"]),
        date_from=args["from"], date_to=args["to"])
    return _page(queries.event_list(query), args, present.event)


@bp.get("/events/<int:event_id>")
@public
def event(event_id: int):
    found = public_queries.event_page(event_id) if event_id <= schemas.MAX_ID else None
    if found is None:
        raise ApiError(404, _("找不到这场活动"))
    return json_response(present.event_detail(found))


@bp.get("/issues")
@public
def issues():
    args = query_args(openapi.PARAMETERS["issues"])
    query = queries.IssueQuery(
        status=_enum(IssueStatus, args["status"]), kind=_enum(IssueKind, args["kind"]),
        category=_enum(Category, args["category"]), district_id=_district_id(args["district"]),
        platform_id=args["platform_id"], overdue=args["overdue"])
    today = local_today(utcnow())
    return _page(queries.issue_list(query, today), args, lambda i: present.issue(i, today))


def _issue(reference: str) -> Issue:
    """The problem with this receipt code (``wh24 00123`` works too), or 404."""
    canonical = parse_reference(normalise_reference(reference))
    found = public_queries.issue_by_reference(canonical) if canonical else None
    if found is None:
        raise ApiError(404, _("找不到编号为 %(reference)s 的问题", reference=reference[:32]))
    return found


@bp.get("/issues/<reference>")
@public
def issue(reference: str):
    found = _issue(reference)
    return json_response({
        **present.issue(found, local_today(utcnow())),
        "timeline": [present.timeline_entry(u) for u in public_queries.public_timeline(found.id)],
    })


@bp.get("/proposals")
@public
def proposals():
    args = query_args(openapi.PARAMETERS["proposals"])
    query = queries.ProposalQuery(
        year=args["year"], category=_enum(Category, args["category"]),
        outcome=_enum(ProposalOutcome, args["outcome"]),
        proposer_kind=_enum(ProposerKind, args["proposer_kind"]), is_key=args["is_key"],
        department_id=_department_id(args["department"]), text=args["q"])
    return _page(queries.proposal_list(query), args, present.proposal)


def _department_id(code: str | None) -> int | None:
    """The id of the department a ``department`` filter names (by code); 400 if unknown."""
    if code is None:
        return None
    found = queries.department_by_code(code)
    if found is None:
        raise ApiError(400, _("查询参数不正确"), code="invalid_parameter",
                       fields={"department": _("没有编码为 %(code)s 的承办单位", code=code)})
    return found.id


@bp.get("/proposals/<int:proposal_id>")
@public
def proposal(proposal_id: int):
    """An accepted proposal; any other (a draft, one waiting for review or not accepted) is
    404, as on the public page."""
    found = queries.proposal_detail(proposal_id) if proposal_id <= schemas.MAX_ID else None
    if found is None:
        raise ApiError(404, _("找不到这件提案"))
    return json_response(present.proposal_detail(found))


@bp.get("/departments")
@public
def departments():
    args = query_args(openapi.PARAMETERS["departments"])
    stmt = queries.department_list(_district_id(args["district"]), args["active"])
    return _page(stmt, args, present.department)


# --- Tallies --------------------------------------------------------------------------------


def _month(text: str) -> date:
    """A month that has begun and has records (``2024-11``), or 404."""
    now = utcnow()
    try:
        month = to_month(text) if MONTH.fullmatch(text) else None
    except BadParam:  # year 0000
        month = None
    if (month is None or month > tally_queries.current_month(now)
            or month.year not in tally_queries.report_years(now)):
        raise ApiError(404, _("没有这个月份的统计"))
    return month


def _tally(month: date, report: tally_queries.MonthReport, *, scope: str,
           metrics: dict[str, Any], platform_found: Platform | None = None) -> Response:
    return json_response({
        "month": f"{month:%Y-%m}", "scope": scope,
        "district": present.area(report.scope.district),
        "platform": present.platform_ref(platform_found) if platform_found else None,
        "is_live": report.is_live, "metrics": metrics,
        "districts": [{"district": present.area(area), "metrics": figures}
                      for area, figures in report.districts],
    })


@bp.get("/tallies/<month>")
@public
def city_tally(month: str):
    when = _month(month)
    report = tally_queries.load_month(when, tally_queries.ReportScope(), utcnow())
    return _tally(when, report, scope="city", metrics=report.metrics)


@bp.get("/tallies/<month>/districts/<code>")
@public
def district_tally(month: str, code: str):
    when = _month(month)
    district = tally_queries.district_by_code(code)
    if district is None:
        raise ApiError(404, _("没有编码为 %(code)s 的区", code=code[:32]))
    report = tally_queries.load_month(when, tally_queries.ReportScope(district), utcnow())
    return _tally(when, report, scope="district", metrics=report.metrics)


@bp.get("/tallies/<month>/platforms/<int:platform_id>")
@public
def platform_tally(month: str, platform_id: int):
    when = _month(month)
    found = _found(Platform, platform_id)
    report = tally_queries.load_month(when, tally_queries.ReportScope(found.district), utcnow(),
                                      with_platforms=True)
    figures = next((m for p, m in report.platforms if p.id == found.id),
                   tally_queries.zero_metrics())
    return _tally(when, report, scope="platform", metrics=figures, platform_found=found)


@bp.get("/tallies/<month>/departments/<int:department_id>")
@public
def department_tally(month: str, department_id: int):
    """One department's figures for a month (docs/metrics.md § Departments)."""
    from consult_hub.departments.models import Department

    when = _month(month)
    found = _found(Department, department_id)
    metrics, is_live = tally_queries.load_department(when, found, utcnow())
    return json_response({"month": f"{when:%Y-%m}", "scope": "department",
                          "department": present.department(found), "is_live": is_live,
                          "metrics": metrics})


def _year_review(year: int, district: Any = None) -> Response:
    """A year's opinion reports and proposal review (docs/metrics.md), with the sentences."""
    if year not in tally_queries.report_years(utcnow()):
        raise ApiError(404, _("没有这一年的统计"))
    summary = cppcc.year_summary(year, None if district is None else [district.id])
    return json_response({"scope": "city" if district is None else "district",
                          "district": present.area(district), **summary.as_dict()})


@bp.get("/tallies/years/<int:year>")
@public
def city_year_review(year: int):
    return _year_review(year)


@bp.get("/tallies/years/<int:year>/districts/<code>")
@public
def district_year_review(year: int, code: str):
    district = tally_queries.district_by_code(code)
    if district is None:
        raise ApiError(404, _("没有编码为 %(code)s 的区", code=code[:32]))
    return _year_review(year, district)


# --- Writes ---------------------------------------------------------------------------------


def _conflict(message: str | None = None, fields: dict[str, str] | None = None) -> ApiError:
    return ApiError(409, message or _("这条记录刚被他人修改，请重新读取后再试"), code="conflict",
                    fields=fields)


def _api_name(name: str, renames: dict[str, str]) -> str:
    """An operation's field name as the API spells it
    (``problems-0-title`` → ``problems[0].title``)."""
    if name in renames:
        return renames[name]
    rows = re.fullmatch(r"(\w+)-(\d+)-(\w+)", name)
    return f"{rows[1]}[{rows[2]}].{rows[3]}" if rows else name


def _commit(write: Callable[[], Any], *, renames: dict[str, str] | None = None,
            conflicts: tuple[str, ...] = ("status",), version: int | None = None) -> Any:
    """Run one write and commit it (``core.saving.save``); a refusal is 422, 409 when the
    state moved on or the record is no longer at the ``version`` the client read."""
    saved = save(None, write, moved_on=conflicts)
    if saved:
        return saved.value
    if saved.conflict is not None:
        raise _conflict(_("读取后已被修改（当前版本 %(now)s，您读取的是 %(then)s），请重新读取",
                          now=saved.conflict.current_version, then=version),
                        {"version": _("版本已过期")})
    if saved.raced:
        raise _conflict()
    fields = {_api_name(name, renames or {}): str(message)
              for name, message in saved.errors.items()}
    if saved.status == 409:
        raise _conflict(_("当前状态不允许这项操作"), fields)
    raise ApiError(422, _("请修改标出的字段"), fields=fields)


def _target(model: type[Any], ident: int, name: str) -> Any:
    """The row a body field points to, or 422 naming the field."""
    found = db.session.get(model, ident)
    if found is None:
        raise ApiError(422, _("请修改标出的字段"), fields={name: _("不存在")})
    return found


def _created(data: dict[str, Any], location: str) -> Response:
    return json_response(data, 201, headers={"Location": location})


def _writable_event(event_id: int) -> Event:
    found = _found(Event, event_id)
    require_platform(found.platform)
    return found


EVENT_EDIT_FIELDS = tuple(schemas.EVENT_FIELDS)


@bp.post("/events")
@token_required
def plan_event():
    body = json_body(schemas.EVENT_PLAN)
    target = _target(Platform, body["platform_id"], "platform_id")
    require_platform(target)
    created = _commit(lambda: event_operations.plan_event(
        target, actor_id=current_user.id, is_past=body["is_past"],
        **{name: body.get(name) for name in EVENT_EDIT_FIELDS}),
        renames={"platform": "platform_id"})
    return _created(present.event(created), external_url("api.event", event_id=created.id))


@bp.patch("/events/<int:event_id>")
@token_required
def update_event(event_id: int):
    found = _writable_event(event_id)
    body = json_body(schemas.EVENT_UPDATE)
    version = body.pop("version", None)
    values = {name: body[name] if name in body else getattr(found, name)
              for name in EVENT_EDIT_FIELDS}
    _commit(lambda: event_operations.update_event(found, version=version,
                                                  actor_id=current_user.id, **values),
            version=version)
    return json_response(present.event(found))


@bp.post("/events/<int:event_id>/record")
@token_required
def record_event(event_id: int):
    found = _writable_event(event_id)
    body = json_body(schemas.EVENT_RECORD)
    raised = _commit(lambda: issue_operations.record_held(
        found, starts_at=body.get("starts_at") or found.starts_at,
        ends_at=body.get("ends_at") or found.ends_at, minutes=body["minutes"],
        attendee_ids=body.get("attendee_ids") or [],
        resident_count=body.get("resident_count") or 0,
        department_count=body.get("department_count") or 0,
        expert_count=body.get("expert_count") or 0, opinions=body.get("opinions"),
        problems=body.get("problems") or [], actor_id=current_user.id,
        version=body.get("version")), renames={"attendees": "attendee_ids"},
        version=body.get("version"))
    return json_response({"event": present.event(found),
                          "issues": [present.issue_ref(i) for i in raised]})


@bp.post("/events/<int:event_id>/conclude")
@token_required
def conclude_event(event_id: int):
    found = _writable_event(event_id)
    body = json_body(schemas.EVENT_CONCLUDE)
    _commit(lambda: event_operations.conclude_event(
        found, outcome=body["outcome"], actor_id=current_user.id, version=body.get("version")),
        version=body.get("version"))
    return json_response(present.event(found))


@bp.post("/events/<int:event_id>/cancel")
@token_required
def cancel_event(event_id: int):
    found = _writable_event(event_id)
    body = json_body(schemas.EVENT_CANCEL)
    _commit(lambda: event_operations.cancel_event(
        found, reason=body["reason"], actor_id=current_user.id, version=body.get("version")),
        renames={"cancel_reason": "reason"}, version=body.get("version"))
    return json_response(present.event(found))


@bp.post("/issues")
@token_required
def create_problem():
    body = json_body(schemas.ISSUE_CREATE)
    target = _target(Platform, body["platform_id"], "platform_id")
    require_platform(target)
    created = _commit(lambda: create_issue(
        platform=target, title=body["title"], description=body["description"],
        kind=body["kind"], category=body["category"], source=body["source"],
        event_id=body.get("event_id"), submitter_name=body.get("submitter_name"),
        submitter_phone=body.get("submitter_phone"), actor_id=current_user.id))
    return _created(present.issue(created, local_today(utcnow())),
                    present.issue_url(created.reference))


@bp.post("/issues/<reference>/actions/<action>")
@token_required
def issue_action(reference: str, action: str):
    # Staff act on problems the public cannot read yet (a submission waiting for review).
    canonical = parse_reference(normalise_reference(reference))
    found = queries.issue_for_action(canonical) if canonical else None
    if found is None:
        raise ApiError(404, _("找不到编号为 %(reference)s 的问题", reference=reference[:32]))
    if action not in TRANSITIONS:
        raise ApiError(404, _("没有这项操作：%(action)s", action=action[:32]))
    require(can_take_action(current_user, found, action), f"issue:{found.id}:{action}")
    body = json_body(_action_schema(action))
    version = body.pop("version", None)
    values = _lifecycle_values(found, body)
    _commit(lambda: change_status(found, action, actor_id=current_user.id, version=version,
                                  **values),
            renames={"department": "department_id", "platform": "platform_id"},
            conflicts=("action",), version=version)
    return json_response(present.issue(found, local_today(utcnow())))


def _action_schema(action: str) -> dict[str, Any]:
    """The action's body; a department's note is for the district office (internal) unless
    the body says ``is_public``, as on the note form, which starts unticked for a department:
    a contact's working remark should not reach the resident's tracking page by default."""
    schema = schemas.ACTION_BODIES[action]
    if action != "note" or not is_department_contact(current_user):
        return schema
    properties = dict(schema["properties"])
    properties["is_public"] = {**properties["is_public"], "default": False}
    return {**schema, "properties": properties}


def _lifecycle_values(found: Issue, body: dict[str, Any]) -> dict[str, Any]:
    """The body as ``lifecycle.apply`` takes it: the department and the original as rows."""
    values = dict(body)
    if "department_id" in values:
        wanted = values.pop("department_id")
        offered = {d.id: d for d in issue_queries.assignable_departments(found.district_id)}
        if wanted not in offered:
            raise ApiError(422, _("请修改标出的字段"), fields={
                "department_id": _("不是可交办给这个问题的承办单位")})
        values["department"] = offered[wanted]
    if "platform_id" in values:
        # The staff's own platforms, as the review form offers; any other id reaches the
        # lifecycle's check as a bare number, which it refuses naming the field.
        wanted = values.pop("platform_id")
        chosen = db.session.get(Platform, wanted)
        values["platform"] = (chosen if chosen is not None
                              and can_manage_platform(current_user, chosen) else wanted)
    if "duplicate_of" in values:
        original = issue_queries.find_by_reference(current_user, values["duplicate_of"])
        if original is None:
            raise ApiError(422, _("请修改标出的字段"), fields={
                "duplicate_of": _("找不到编号为 %(ref)s 的问题", ref=values["duplicate_of"])})
        values["duplicate_of"] = original
    return values
