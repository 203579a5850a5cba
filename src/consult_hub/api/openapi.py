"""The OpenAPI 3.1 document of /api/v1, written as data.

Query parameters (``PARAMETERS``) and request bodies (``schemas``) are the very dicts the
views validate against; schemathesis checks the rest against the running views.
"""

from __future__ import annotations

from typing import Any

from consult_hub.api.schemas import (
    ACTION_BODIES,
    AREA,
    DATE,
    DEFAULT_PER_PAGE,
    DEPARTMENT,
    DEPARTMENT_TALLY,
    ERROR,
    EVENT,
    EVENT_CANCEL,
    EVENT_CONCLUDE,
    EVENT_DETAIL,
    EVENT_PLAN,
    EVENT_RECORD,
    EVENT_UPDATE,
    ID,
    ISSUE,
    ISSUE_CREATE,
    ISSUE_DETAIL,
    ISSUE_REF,
    MAX_ID,
    MAX_PAGE,
    MAX_PER_PAGE,
    MEMBER,
    PHOTO,
    PLATFORM,
    PLATFORM_DETAIL,
    PLATFORM_REF,
    PROPOSAL,
    PROPOSAL_DEPARTMENT,
    PROPOSAL_DETAIL,
    PROPOSER,
    RECORDED,
    TALLY,
    TIMELINE_ENTRY,
    YEAR_REVIEW,
    Schema,
    array,
    choice,
    integer,
    obj,
    page_of,
    ref,
    text,
)
from consult_hub.core.categories import Category
from consult_hub.core.pagination import BROWSE_LIMIT
from consult_hub.events.models import EventStatus
from consult_hub.issues.lifecycle import TRANSITIONS
from consult_hub.issues.models import IssueKind, IssueStatus
from consult_hub.platforms.models import PlatformKind, PlatformStatus
from consult_hub.proposals.models import ProposalOutcome, ProposerKind

TITLE = "Consult Hub API"
VERSION = "1.0.0"


def query(name: str, schema: Schema, description: str) -> Schema:
    return {"name": name, "in": "query", "required": False, "schema": schema,
            "description": description}


def path(name: str, schema: Schema, description: str) -> Schema:
    return {"name": name, "in": "path", "required": True, "schema": schema,
            "description": description}


DISTRICT_CODE = text(32)
PAGING = [
    query("page", integer(1, MAX_PAGE, default=1),
          f"Page number; past the last page is empty. Pages reach the first {BROWSE_LIMIT:,} "
          "items: beyond them, a longer list answers 400 (filter it, or continue with after)"),
    query("per_page", integer(1, MAX_PER_PAGE, default=DEFAULT_PER_PAGE), "Items per page"),
    query("after", integer(0, MAX_ID),
          "Only items after the item with this id, in list order (the next link of the last "
          "numbered page sets it); total, pages and page count from there"),
]
PARAMETERS: dict[str, list[Schema]] = {
    "platforms": [
        *PAGING,
        query("district", DISTRICT_CODE, "District code (see /districts)"),
        query("kind", choice(PlatformKind), "Platform kind"),
        query("status", choice(PlatformStatus), "Platform status"),
        query("demonstration", {"type": "boolean"},
              "true: demonstration sites only; false: the others"),
        query("q", text(100), "Substring of the name, address or code"),
    ],
    "events": [
        *PAGING,
        query("platform_id", ID, "Events of this platform"),
        query("district", DISTRICT_CODE, "Events at platforms of this district (code)"),
        query("status", choice(EventStatus), "Event status"),
        query("category", choice(Category), "Topic category"),
        query("from", DATE, "Starting on or after this day (Asia/Shanghai)"),
        query("to", DATE, "Starting on or before this day (Asia/Shanghai)"),
    ],
    "issues": [
        *PAGING,
        query("status", choice(IssueStatus), "Problem status"),
        query("kind", choice(IssueKind), "Problem kind"),
        query("category", choice(Category), "Topic category"),
        query("district", DISTRICT_CODE, "District code"),
        query("platform_id", ID, "Problems raised with this platform"),
        query("overdue", {"type": "boolean"},
              "true: overdue only (due or planned date passed while open); false: the others"),
    ],
    "proposals": [
        *PAGING,
        query("year", integer(2000, 2100), "Proposals of this session year"),
        query("category", choice(Category), "Field (领域)"),
        query("outcome", choice(ProposalOutcome),
              "Answered with this outcome class (resolved = A, planned = B, constrained = C)"),
        query("proposer_kind", choice(ProposerKind),
              "member: one member; joint: members jointly; collective: a body"),
        query("is_key", {"type": "boolean"},
              "true: key proposals (重点提案) only; false: the others"),
        query("department", text(32),
              "Department code (see /departments): handled by it, as lead or co-handling"),
        query("q", text(50), "Substring of the title"),
    ],
    "departments": [
        *PAGING,
        query("district", DISTRICT_CODE, "City departments and this district's own"),
        query("active", {"type": "boolean"}, "true: in use; false: retired"),
    ],
}

MONTH = path("month", {"type": "string", "pattern": "^[0-9]{4}-(0[1-9]|1[0-2])$"},
             "A month that has begun, e.g. 2024-11")
EVENT_ID = path("event_id", ID, "Event id")
YEAR = path("year", integer(1, 9999), "A year with records, e.g. 2024")
PROPOSAL_ID = path("proposal_id", ID, "Proposal id (as in its public page /proposals/<id>)")
REFERENCE = path("reference", text(32, min_length=1),
                 "Receipt code, e.g. WH24-00123 (case and full-width forms are accepted)")

COMPONENTS: dict[str, Schema] = {
    "Error": ERROR, "Area": AREA, "PlatformRef": PLATFORM_REF, "Member": MEMBER,
    "Platform": PLATFORM, "PlatformDetail": PLATFORM_DETAIL,
    "Event": EVENT, "EventDetail": EVENT_DETAIL, "Photo": PHOTO,
    "IssueRef": ISSUE_REF, "Issue": ISSUE, "IssueDetail": ISSUE_DETAIL,
    "TimelineEntry": TIMELINE_ENTRY, "Department": DEPARTMENT, "Tally": TALLY,
    "DepartmentTally": DEPARTMENT_TALLY, "YearReview": YEAR_REVIEW,
    "Recorded": RECORDED,
    "Proposer": PROPOSER, "ProposalDepartment": PROPOSAL_DEPARTMENT, "Proposal": PROPOSAL,
    "ProposalDetail": PROPOSAL_DETAIL, "ProposalPage": page_of(ref("Proposal")),
    "PlatformPage": page_of(ref("Platform")), "EventPage": page_of(ref("Event")),
    "IssuePage": page_of(ref("Issue")), "DepartmentPage": page_of(ref("Department")),
    "DistrictList": obj({"items": array(ref("Area"))}, required=["items"]),
    "EventPlan": EVENT_PLAN, "EventUpdate": EVENT_UPDATE, "EventRecord": EVENT_RECORD,
    "EventConclude": EVENT_CONCLUDE, "EventCancel": EVENT_CANCEL, "IssueCreate": ISSUE_CREATE,
    **{f"IssueAction{action.title()}": body for action, body in ACTION_BODIES.items()},
}

ERRORS = {
    "400": "Malformed JSON, or a query parameter that is not valid (`fields` names it)",
    "401": "No bearer token, or one that is unknown, revoked or whose user is deactivated",
    "403": "The token's user may not do this here (the refusal is audited)",
    "404": "No such resource",
    "409": "The record changed since it was read (`version`), or its state forbids this",
    "413": "The request body is too large",
    "415": "The body is not application/json",
    "422": "The body does not validate; `fields` maps each field to what is wrong",
    "429": "Too many requests; retry later",
}
RESPONSES = {
    code: {"description": description,
           "content": {"application/json": {"schema": ref("Error")}},
           **({"headers": {"WWW-Authenticate": {
               "schema": {"type": "string"}, "required": True,
               "description": 'Bearer realm="consult-hub"'}}} if code == "401" else {})}
    for code, description in ERRORS.items()
}
LINK_HEADER = {"Link": {"schema": {"type": "string"}, "required": True,
                        "description": 'RFC 8288 links: rel="next", "prev", "first", "last"'}}
LOCATION_HEADER = {"Location": {"schema": {"type": "string", "format": "uri"}, "required": True,
                                "description": "The new resource in the API"}}


# One request per write, as a reader would send it (ids are the reader's own).
EXAMPLES: dict[str, dict[str, Any]] = {
    "EventPlan": {"platform_id": 1, "topic": "老旧小区加装电梯协商", "category": "society",
                  "starts_at": "2030-05-06T09:30:00+08:00",
                  "ends_at": "2030-05-06T11:30:00+08:00", "format": "onsite"},
    "EventUpdate": {"location": "社区党群服务中心二楼", "version": 1},
    "EventRecord": {"minutes": "居民代表、物业和街道就加装电梯的费用分摊达成一致。",
                    "resident_count": 12, "department_count": 2, "expert_count": 0,
                    "problems": [{"title": "电梯井占用消防通道", "kind": "doorstep",
                                  "category": "society",
                                  "description": "需要调整设计方案，保证消防车通行。"}]},
    "EventConclude": {"outcome": "加装电梯已于6月开工。"},
    "EventCancel": {"reason": "暴雨预警，改期举行。"},
    "IssueCreate": {"platform_id": 1, "title": "小区夜间停车难", "kind": "doorstep",
                    "category": "society", "description": "晚上车位不足，车辆占用消防通道。"},
    "IssueActionAssign": {"department_id": 1, "due_on": "2030-06-30"},
    "IssueActionResolve": {"resolution": "已施划停车位 40 个。"},
    "IssueActionNote": {"note": "已约物业现场查看。", "is_public": True},
}


def _errors(*codes: str) -> dict[str, Any]:
    return {code: {"$ref": f"#/components/responses/{code}"} for code in codes}


def _json(schema_name: str, description: str, headers: dict[str, Any] | None = None) -> Schema:
    response: Schema = {"description": description,
                        "content": {"application/json": {"schema": ref(schema_name)}}}
    if headers:
        response["headers"] = headers
    return response


def read(operation_id: str, summary: str, tag: str, schema_name: str, *,
         parameters: list[Schema] | None = None, errors: tuple[str, ...] = ("404",),
         headers: dict[str, Any] | None = None) -> Schema:
    return {"get": {
        "operationId": operation_id, "summary": summary, "tags": [tag],
        "parameters": parameters or [], "security": [],
        "responses": {"200": _json(schema_name, "OK", headers), **_errors(*errors, "429")},
    }}


def write(operation_id: str, summary: str, tag: str, body: str, result: str, *,
          method: str = "post", status: str = "200", parameters: list[Schema] | None = None,
          errors: tuple[str, ...] = ("404", "409"), description: str = "") -> Schema:
    headers = LOCATION_HEADER if status == "201" else None
    return {method: {
        "operationId": operation_id, "summary": summary, "description": description,
        "tags": [tag], "parameters": parameters or [], "security": [{"bearerAuth": []}],
        "requestBody": {"required": True, "content": {"application/json": {
            "schema": ref(body), **({"example": EXAMPLES[body]} if body in EXAMPLES else {})}}},
        "responses": {status: _json(result, "Done", headers),
                      **_errors("400", "401", "403", *errors, "413", "415", "422", "429")},
    }}


def _paths() -> dict[str, Any]:
    list_of = {"errors": ("400",), "headers": LINK_HEADER}
    paths: dict[str, Any] = {
        "/openapi.json": {"get": {
            "operationId": "openapi", "summary": "This document", "tags": ["meta"],
            "security": [],
            "responses": {"200": {"description": "The OpenAPI document", "content": {
                "application/json": {"schema": {"type": "object"}}}}, **_errors("429")},
        }},
        "/districts": read("listDistricts", "Districts and their codes", "places",
                           "DistrictList", errors=()),
        "/platforms": read("listPlatforms", "Platforms, by id", "platforms", "PlatformPage",
                           parameters=PARAMETERS["platforms"], **list_of),
        "/platforms/{platform_id}": read(
            "getPlatform", "One platform with its members (下沉委员)", "platforms",
            "PlatformDetail", parameters=[path("platform_id", ID, "Platform id")]),
        "/events": {
            **read("listEvents", "Events, by id", "events", "EventPage",
                   parameters=PARAMETERS["events"], **list_of),
            **write("planEvent", "Plan an event (or log one already held, with is_past)",
                    "events", "EventPlan", "Event", status="201", errors=()),
        },
        "/events/{event_id}": {
            **read("getEvent", "One event with attendees, problems raised and photos",
                   "events", "EventDetail", parameters=[EVENT_ID]),
            **write("updateEvent", "Change a planned event; a new time or place reschedules it",
                    "events", "EventUpdate", "Event", method="patch", parameters=[EVENT_ID]),
        },
        "/events/{event_id}/record": write(
            "recordEvent", "Record a planned event as held, with minutes and problems raised",
            "events", "EventRecord", "Recorded", parameters=[EVENT_ID]),
        "/events/{event_id}/conclude": write(
            "concludeEvent", "Feed the outcome back: held → concluded", "events",
            "EventConclude", "Event", parameters=[EVENT_ID]),
        "/events/{event_id}/cancel": write(
            "cancelEvent", "Call off a planned event, saying why", "events", "EventCancel",
            "Event", parameters=[EVENT_ID]),
        "/issues": {
            **read("listIssues", "Problems, by id", "issues", "IssuePage",
                   parameters=PARAMETERS["issues"], **list_of),
            **write("createIssue", "Raise a problem at a platform", "issues", "IssueCreate",
                    "Issue", status="201", errors=(),
                    description="The submitter's name and phone are stored for follow-up "
                                "and never returned by any read."),
        },
        "/issues/{reference}": read(
            "getIssue", "One problem with its public timeline", "issues", "IssueDetail",
            parameters=[REFERENCE]),
        "/proposals": read("listProposals", "Accepted proposals (立案), by id", "proposals",
                           "ProposalPage", parameters=PARAMETERS["proposals"], **list_of),
        "/proposals/{proposal_id}": read(
            "getProposal", "One accepted proposal with the problems it grew from", "proposals",
            "ProposalDetail", parameters=[PROPOSAL_ID]),
        "/departments": read("listDepartments", "Departments problems are assigned to",
                             "places", "DepartmentPage", parameters=PARAMETERS["departments"],
                             **list_of),
        "/tallies/{month}": read(
            "getCityTally", "The city's figures for a month, with each district's",
            "tallies", "Tally", parameters=[MONTH]),
        "/tallies/{month}/districts/{code}": read(
            "getDistrictTally", "One district's figures for a month", "tallies", "Tally",
            parameters=[MONTH, path("code", text(32, min_length=1), "District code")]),
        "/tallies/{month}/platforms/{platform_id}": read(
            "getPlatformTally", "One platform's figures for a month", "tallies", "Tally",
            parameters=[MONTH, path("platform_id", ID, "Platform id")]),
        "/tallies/{month}/departments/{department_id}": read(
            "getDepartmentTally", "One department's figures for a month (assigned, "
            "acknowledged within 2 working days, replied on time, …; docs/metrics.md)",
            "tallies", "DepartmentTally",
            parameters=[MONTH, path("department_id", ID, "Department id")]),
        "/tallies/years/{year}": read(
            "getCityYearReview", "The city's opinion reports of a calendar year and proposal "
            "review of a session year (提案办理回顾), with the report's sentences",
            "tallies", "YearReview", parameters=[YEAR]),
        "/tallies/years/{year}/districts/{code}": read(
            "getDistrictYearReview", "One district's opinion reports and proposal review",
            "tallies", "YearReview",
            parameters=[YEAR, path("code", text(32, min_length=1), "District code")]),
    }
    for action, transition in TRANSITIONS.items():
        target = transition.target.value if transition.target else "unchanged"
        paths[f"/issues/{{reference}}/actions/{action}"] = write(
            f"issue{action.title()}", f"{transition.label} ({action} → {target})", "issues",
            f"IssueAction{action.title()}", "Issue", parameters=[REFERENCE],
            description="Allowed from: " + ", ".join(sorted(s.value for s in transition.sources)))
    return paths


def document() -> dict[str, Any]:
    """The whole document, ready to serve as JSON."""
    return {
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
        "info": {
            "title": TITLE, "version": VERSION,
            "description": (
                "Public reads need no token. Writes need `Authorization: Bearer <token>`; "
                "each user creates and revokes tokens under /manage/tokens. Errors are "
                '`{"error": {"code", "message", "fields"}}`. Lists are ordered by id and '
                "paginated with `page` and `per_page`; `total` counts at most "
                f"{BROWSE_LIMIT:,} items "
                "(`total_exact` false beyond), and the `next` links reach every item. "
                "Times are RFC 3339 with an offset."),
        },
        "servers": [{"url": "/api/v1"}],
        "tags": [{"name": name} for name in
                 ("platforms", "events", "issues", "proposals", "tallies", "places", "meta")],
        "paths": _paths(),
        "components": {
            "schemas": COMPONENTS,
            "responses": RESPONSES,
            "securitySchemes": {"bearerAuth": {
                "type": "http", "scheme": "bearer",
                "description": "A personal API token (ch_…), created under /manage/tokens"}},
        },
    }
