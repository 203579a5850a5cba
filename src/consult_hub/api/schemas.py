"""JSON Schemas of the API: the OpenAPI document publishes them and the validator enforces them.

Request bodies and query parameters are checked against exactly these dicts
(``api/validation.py``), so the document cannot drift from the behaviour.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

from consult_hub.core.categories import Category
from consult_hub.core.db import max_length
from consult_hub.core.pagination import BROWSE_LIMIT
from consult_hub.events.models import Event, EventAttendance, EventFormat, EventStatus
from consult_hub.issues.lifecycle import TRANSITIONS
from consult_hub.issues.models import (
    PROPOSABLE_STATUSES,
    Issue,
    IssueKind,
    IssueSource,
    IssueStatus,
    Satisfaction,
)
from consult_hub.members.models import MemberLevel
from consult_hub.platforms.models import PlatformKind, PlatformStatus
from consult_hub.proposals.models import CollectiveKind, ProposalOutcome, ProposerKind

Schema = dict[str, Any]

MAX_ID = 2**31 - 1  # the largest id either database stores
MAX_PER_PAGE = 100
DEFAULT_PER_PAGE = 30
MAX_PAGE = 1_000_000
# Earliest and latest instants accepted for event times: beyond these, time zone
# arithmetic overflows Python's datetime, and no real event falls outside them.
MIN_YEAR, MAX_YEAR = 1990, 2100


def nullable(schema: Schema) -> Schema:
    """Allow ``null`` besides ``schema``'s type.

    An ``enum`` lists every value the field takes, whatever its ``type`` says: null must be
    among them too, or every null fails validation (and clients generated from the document
    refuse it).
    """
    kind = schema["type"]
    widened = {**schema, "type": [*(kind if isinstance(kind, list) else [kind]), "null"]}
    if "enum" in schema and None not in schema["enum"]:
        widened["enum"] = [*schema["enum"], None]
    return widened


def text(max_length: int, *, min_length: int | None = None, **extra: Any) -> Schema:
    schema: Schema = {"type": "string", "maxLength": max_length, **extra}
    if min_length is not None:
        schema["minLength"] = min_length
    return schema


def integer(minimum: int, maximum: int, **extra: Any) -> Schema:
    return {"type": "integer", "minimum": minimum, "maximum": maximum, **extra}


def choice(enum_cls: type[Enum], **extra: Any) -> Schema:
    return {"type": "string", "enum": [member.value for member in enum_cls], **extra}


def obj(properties: dict[str, Schema], required: list[str] | tuple[str, ...] = (),
        **extra: Any) -> Schema:
    """A closed object: fields outside ``properties`` are refused (requests) or never sent."""
    return {"type": "object", "additionalProperties": False, "properties": properties,
            "required": list(required), **extra}


def array(items: Schema, max_items: int | None = None) -> Schema:
    schema: Schema = {"type": "array", "items": items}
    if max_items is not None:
        schema["maxItems"] = max_items
    return schema


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


ID = integer(1, MAX_ID)
DATE: Schema = {"type": "string", "format": "date"}
DATE_TIME: Schema = {"type": "string", "format": "date-time"}
BOOLEAN: Schema = {"type": "boolean"}
# Links are absolute, on the deployment's SITE_URL.
URL: Schema = {"type": "string", "format": "uri"}
VERSION = integer(1, MAX_ID, description="The version last read; a stale one answers 409.")


def with_labels(name: str, enum_cls: type[Enum], *, optional: bool = False) -> dict[str, Schema]:
    """``name`` and ``name_label`` properties for an enum field."""
    value, label = choice(enum_cls), {"type": "string"}
    if optional:
        # The title names the enum: without it, openapi-python-client splits the nullable
        # type into three copies of the enum (IssueSatisfactionType1 | …Type2Type1 | …).
        value, label = nullable({**value, "title": name}), nullable(label)
    return {name: value, f"{name}_label": label}


# --- Errors and pages ---------------------------------------------------------------------

ERROR = obj({
    "error": obj({
        "code": {"type": "string", "description": "Machine-readable, e.g. validation_failed"},
        "message": {"type": "string"},
        "fields": {"type": "object", "additionalProperties": {"type": "string"},
                   "description": "Field name → what is wrong with it"},
    }, required=["code", "message", "fields"]),
}, required=["error"])

LINKS = obj({
    "self": URL,
    "first": URL,
    "last": URL,
    "next": nullable({**URL, "description": (
        "The following page; from the last numbered page of a longer list, "
        "the items after its last one (after=)")}),
    "prev": nullable(URL),
}, required=["self", "first", "last", "next", "prev"])


def page_of(item: Schema) -> Schema:
    return obj({
        "items": array(item),
        "page": integer(1, MAX_PAGE),
        "per_page": integer(1, MAX_PER_PAGE),
        "total": {"type": "integer", "minimum": 0,
                  "description": "Items in the list; at least this many when total_exact is false"},
        "total_exact": {"type": "boolean",
                        "description": "false when counting stopped at the browsing limit "
                                       f"({BROWSE_LIMIT:,}): the list holds more than total"},
        "pages": {"type": "integer", "minimum": 0,
                  "description": "Pages of total: the pages reachable by number"},
        "links": LINKS,
    }, required=["items", "page", "per_page", "total", "total_exact", "pages", "links"])


# --- Response objects -----------------------------------------------------------------------

AREA = obj({"id": ID, "code": {"type": "string"}, "name": {"type": "string"}},
           required=["id", "code", "name"])
PLATFORM_REF = obj({"id": ID, "code": {"type": "string"}, "name": {"type": "string"},
                    "district": ref("Area")},
                   required=["id", "code", "name", "district"])
MEMBER = obj({"id": ID, "name": {"type": "string"}, "sector": {"type": "string"},
              **with_labels("level", MemberLevel)},
             required=["id", "name", "sector", "level", "level_label"])
DEPARTMENT = obj({"id": ID, "code": {"type": "string"}, "name": {"type": "string"},
                  "district": {"anyOf": [ref("Area"), {"type": "null"}],
                               "description": "null for a city department"},
                  "is_active": BOOLEAN},
                 required=["id", "code", "name", "district", "is_active"])

_PLATFORM_FIELDS = {
    "id": ID, "code": {"type": "string"}, "name": {"type": "string"},
    **with_labels("kind", PlatformKind), **with_labels("status", PlatformStatus),
    "district": ref("Area"),
    "street": {"anyOf": [ref("Area"), {"type": "null"}]},
    "community": {"anyOf": [ref("Area"), {"type": "null"}]},
    "address": {"type": "string"},
    "latitude": nullable({"type": "number"}), "longitude": nullable({"type": "number"}),
    "convener": nullable({"type": "string"}),
    "description": nullable({"type": "string", "description": "Markdown"}),
    "established_on": DATE,
    "is_demonstration": BOOLEAN,
    "demonstration_year": nullable({"type": "integer"}),
    "url": {**URL, "description": "This platform in the API"},
    "html_url": {**URL, "description": "The public page"},
}
PLATFORM = obj(_PLATFORM_FIELDS, required=list(_PLATFORM_FIELDS))
PLATFORM_DETAIL = obj({**_PLATFORM_FIELDS, "members": array(ref("Member"))},
                      required=[*_PLATFORM_FIELDS, "members"])

_EVENT_FIELDS = {
    "id": ID, "code": nullable({"type": "string"}),
    "platform": ref("PlatformRef"),
    "topic": {"type": "string"}, **with_labels("category", Category),
    "starts_at": DATE_TIME, "ends_at": DATE_TIME, "location": {"type": "string"},
    **with_labels("format", EventFormat),
    **with_labels("attendance", EventAttendance, optional=True),
    "attendance_note": nullable({"type": "string"}),
    "agenda": nullable({"type": "string"}),
    **with_labels("status", EventStatus),
    "minutes": nullable({"type": "string"}), "opinions": nullable({"type": "string"}),
    "resident_count": {"type": "integer"}, "department_count": {"type": "integer"},
    "expert_count": {"type": "integer"},
    "held_at": nullable(DATE_TIME), "outcome": nullable({"type": "string"}),
    "concluded_at": nullable(DATE_TIME), "cancel_reason": nullable({"type": "string"}),
    "cancelled_at": nullable(DATE_TIME),
    "version": ID,
    "url": URL, "html_url": URL,
}
EVENT = obj(_EVENT_FIELDS, required=list(_EVENT_FIELDS))
ISSUE_REF = obj({"reference": {"type": "string"}, "title": {"type": "string"},
                 **with_labels("status", IssueStatus), "url": URL},
                required=["reference", "title", "status", "status_label", "url"])
PHOTO = obj({"id": ID, "url": URL, "caption": nullable({"type": "string"}),
             "width": {"type": "integer"}, "height": {"type": "integer"}},
            required=["id", "url", "caption", "width", "height"])
EVENT_DETAIL = obj({**_EVENT_FIELDS, "attendees": array(ref("Member")),
                    "issues": array(ref("IssueRef")), "photos": array(ref("Photo"))},
                   required=[*_EVENT_FIELDS, "attendees", "issues", "photos"])

_ISSUE_FIELDS = {
    "reference": {"type": "string"}, "title": {"type": "string"},
    "description": nullable({"type": "string", "description":
                             "Published once the problem is accepted (null before)"}),
    # A submission waiting for review may lack its classification and platform (staff give
    # them when accepting it): only the answer to a staff action on it shows those nulls.
    **with_labels("kind", IssueKind, optional=True),
    **with_labels("category", Category, optional=True),
    **with_labels("source", IssueSource), **with_labels("status", IssueStatus),
    "platform": {"anyOf": [ref("PlatformRef"), {"type": "null"}], "description": (
        "null only for a submission waiting for review that came without one")},
    "event": {"anyOf": [obj({"id": ID, "topic": {"type": "string"}, "url": URL},
                            required=["id", "topic", "url"]), {"type": "null"}]},
    "department": {"anyOf": [obj({"id": ID, "name": {"type": "string"}},
                                 required=["id", "name"]), {"type": "null"}]},
    "due_on": nullable(DATE), "planned_on": nullable(DATE),
    "is_overdue": BOOLEAN,
    "resolution": nullable({"type": "string", "description":
                            "The public answer, while the status carries one"}),
    "duplicate_of": nullable({"type": "string", "description": "Reference of the original"}),
    "created_at": DATE_TIME, "resolved_at": nullable(DATE_TIME),
    "closed_at": nullable(DATE_TIME),
    **with_labels("satisfaction", Satisfaction, optional=True),
    "version": ID,
    "url": URL, "html_url": URL,
}
ISSUE = obj(_ISSUE_FIELDS, required=list(_ISSUE_FIELDS))
TIMELINE_ENTRY = obj({
    "action": {"type": "string"},
    "from_status": nullable(choice(IssueStatus, title="from_status")),
    "to_status": choice(IssueStatus),
    "to_status_label": {"type": "string"},
    "note": nullable({"type": "string"}), "created_at": DATE_TIME,
}, required=["action", "from_status", "to_status", "to_status_label", "note", "created_at"])
ISSUE_DETAIL = obj({**_ISSUE_FIELDS, "timeline": array(ref("TimelineEntry"))},
                   required=[*_ISSUE_FIELDS, "timeline"])

METRICS: Schema = {
    "type": "object",
    "description": "The figures of docs/metrics.md; shares and the median may be null. "
                   "City and district rows also carry the opinion reports' (opinions_*) "
                   "and the proposals' (proposals_*) monthly figures",
    "additionalProperties": {"type": ["number", "null"]},
}
TALLY = obj({
    "month": {"type": "string", "pattern": r"^\d{4}-\d{2}$"},
    "scope": {"type": "string", "enum": ["city", "district", "platform"]},
    "district": {"anyOf": [ref("Area"), {"type": "null"}]},
    "platform": {"anyOf": [ref("PlatformRef"), {"type": "null"}]},
    "is_live": {"type": "boolean", "description": "Counted now (not frozen yet)"},
    "metrics": METRICS,
    "districts": array(obj({"district": ref("Area"), "metrics": METRICS},
                           required=["district", "metrics"])),
}, required=["month", "scope", "district", "platform", "is_live", "metrics", "districts"])

# docs/metrics.md § Departments: counts, the days summed for the average, derived figures.
_DEPARTMENT_COUNT = {"type": "integer", "minimum": 0}
_DEPARTMENT_SHARE = {"type": ["number", "null"], "minimum": 0, "maximum": 1}
DEPARTMENT_METRICS: Schema = obj({
    **{name: _DEPARTMENT_COUNT for name in (
        "assigned", "acknowledged_in_time", "replied", "replied_on_time", "confirmed",
        "reworked", "extensions_requested", "extensions_approved", "rated", "rated_satisfied",
        "rated_basically", "rated_unsatisfied", "open_end", "overdue_end")},
    "reply_days_total": {"type": "number", "minimum": 0,
                         "description": "Days from assignment to reply, summed over replies"},
    "acknowledged_share": {**_DEPARTMENT_SHARE,
                           "description": "acknowledged_in_time / assigned (2 working days)"},
    "on_time_share": {**_DEPARTMENT_SHARE, "description": "replied_on_time / replied"},
    "average_days_to_reply": {"type": ["number", "null"], "minimum": 0,
                              "description": "reply_days_total / replied, one decimal"},
    "satisfaction_share": {**_DEPARTMENT_SHARE,
                           "description": "(rated_satisfied + rated_basically) / rated"},
})
DEPARTMENT_METRICS["required"] = list(DEPARTMENT_METRICS["properties"])
DEPARTMENT_TALLY = obj({
    "month": {"type": "string", "pattern": r"^\d{4}-\d{2}$"},
    "scope": {"type": "string", "enum": ["department"]},
    "department": ref("Department"),
    "is_live": {"type": "boolean", "description": "Counted now (not frozen yet)"},
    "metrics": DEPARTMENT_METRICS,
}, required=["month", "scope", "department", "is_live", "metrics"])

# docs/metrics.md § Opinion reports (the calendar year's months summed) and § Proposals (the
# session year's proposals in their current state: the 提案办理回顾), with the sentences.
_COUNT: Schema = {"type": "integer", "minimum": 0}
_SHARE: Schema = {"type": ["number", "null"], "minimum": 0, "maximum": 1}
_BY = {"category": ("economy", "politics", "culture", "society", "ecology"),
       "source": ("platform", "member", "district"),
       "outcome": ("resolved", "planned", "constrained"),
       "rating": ("satisfied", "basically", "unsatisfied")}


def _counts(names: tuple[str, ...]) -> Schema:
    return obj(dict.fromkeys(names, _COUNT), required=names)


_OPINION_COUNTS = ("opinions_written", "opinions_submitted", "opinions_livelihood",
                   "opinions_adopted", "opinions_not_adopted", "opinions_forwarded",
                   "opinions_instructed")
_OPINION_SPLITS = tuple(f"opinions_submitted.{d}.{v}" for d in ("category", "source")
                        for v in _BY[d])
_ROUNDED = obj({
    "submitted": {"type": "string", "description": "As printed: 近1,600 for 1,590"},
    "livelihood": {"type": "string", "description": "As printed: 660余 for 666"},
    "livelihood_share": {"type": "string", "description": "Whole percent, as printed: 42%"},
}, required=["submitted", "livelihood", "livelihood_share"])
YEAR_OPINIONS = obj({
    **dict.fromkeys(_OPINION_COUNTS + _OPINION_SPLITS, _COUNT),
    "opinions_livelihood_share": {**_SHARE, "description": "livelihood / submitted"},
    "rounded": {"anyOf": [_ROUNDED, {"type": "null"}],
                "description": "The sentence's rounded forms; null when nothing was submitted"},
}, required=[*_OPINION_COUNTS, *_OPINION_SPLITS, "opinions_livelihood_share", "rounded"])
_REVIEW_COUNTS = ("submitted", "accepted", "accepted_member", "accepted_collective",
                  "not_accepted", "replied", "key", "rated")
_REVIEW_SHARES = ("accepted_member", "accepted_collective", "replied",
                  *(f"{d}.{v}" for d in ("outcome", "category") for v in _BY[d]))
YEAR_PROPOSALS = obj({
    "year": {"type": "integer", "description": "The session year (the proposals' year)"},
    **dict.fromkeys(_REVIEW_COUNTS, _COUNT),
    "outcome": _counts(_BY["outcome"]), "category": _counts(_BY["category"]),
    "rating": _counts(_BY["rating"]),
    "shares": obj(dict.fromkeys(_REVIEW_SHARES, _SHARE), required=_REVIEW_SHARES,
                  description="Of the accepted proposals, 0–1"),
}, required=["year", *_REVIEW_COUNTS, "outcome", "category", "rating", "shares"])
YEAR_REVIEW = obj({
    "year": {"type": "integer"},
    "scope": {"type": "string", "enum": ["city", "district"]},
    "district": {"anyOf": [ref("Area"), {"type": "null"}]},
    "opinions": YEAR_OPINIONS,
    "proposals": YEAR_PROPOSALS,
    "sentences": obj({
        "opinions": {"type": ["string", "null"],
                     "description": "The 社情民意 sentence; null when nothing was submitted"},
        "proposals": array({"type": "string"}),
    }, required=["opinions", "proposals"]),
}, required=["year", "scope", "district", "opinions", "proposals", "sentences"])

# Proposals (提案): the accepted ones only, with what their public page shows.
PROPOSAL_DEPARTMENT = obj({"id": ID, "code": {"type": "string"}, "name": {"type": "string"}},
                          required=["id", "code", "name"])
PROPOSER = obj({"id": ID, "name": {"type": "string"},
                "is_lead": {"type": "boolean", "description": "The lead proposer (领衔)"}},
               required=["id", "name", "is_lead"])
_PROPOSAL_FIELDS = {
    "id": ID,
    "year": {"type": "integer", "description": "The session year it belongs to"},
    "number": {"type": "string", "description": "Case number (案号) given on acceptance, "
               "e.g. 2024-0001"},
    "title": {"type": "string"},
    "reasons": {"type": "string", "description": "案由: the situation and the problem"},
    "suggestions": {"type": "string", "description": "建议: what should be done"},
    **with_labels("category", Category),
    **with_labels("proposer_kind", ProposerKind),
    "proposers": {**array(ref("Proposer")), "description": (
        "The members who proposed it, the lead one first; empty for a collective proposal")},
    **with_labels("collective_kind", CollectiveKind, optional=True),
    "collective_name": nullable({"type": "string", "description": (
        "The body that proposed a collective proposal (null otherwise)")}),
    "is_key": {"type": "boolean", "description": "A key proposal (重点提案)"},
    "lead_department": ref("ProposalDepartment"),
    "co_departments": {**array(ref("ProposalDepartment")),
                       "description": "Co-handling departments (会办)"},
    **with_labels("outcome", ProposalOutcome, optional=True),
    "outcome_letter": nullable({"type": "string", "enum": ["A", "B", "C"],
                                "title": "outcome_letter"}),
    "replied_at": nullable({**DATE_TIME, "description": "When it was answered (办复)"}),
    "reply_public": {"type": "boolean",
                     "description": "Whether the reply's text is published"},
    "reply": nullable({"type": "string", "description": (
        "The published reply; null while it is being handled or when the reply is not "
        "published")}),
    "url": URL, "html_url": URL,
}
PROPOSAL = obj(_PROPOSAL_FIELDS, required=list(_PROPOSAL_FIELDS),
               description="An accepted proposal. outcome, outcome_letter and replied_at are "
                           "null while it is being handled (办理中), also when it was sent "
                           "back for re-handling")
PROPOSAL_DETAIL = obj({
    **_PROPOSAL_FIELDS,
    "issues": {**array(obj({"reference": {"type": "string"}, "title": {"type": "string"},
                            "url": URL, "html_url": URL},
                           required=["reference", "title", "url", "html_url"])),
               "description": "The published residents' problems it grew from"},
}, required=[*_PROPOSAL_FIELDS, "issues"])

RECORDED = obj({"event": ref("Event"), "issues": array(ref("IssueRef"))},
               required=["event", "issues"])

# --- Request bodies -------------------------------------------------------------------------

TOPIC, LOCATION = text(max_length(Event.topic)), text(max_length(Event.location))
AGENDA = text(20000)
LONG_TEXT = text(50000)
ISSUE_TITLE, ISSUE_TEXT = text(max_length(Issue.title)), text(5000)
NOTE_TEXT = text(5000)

EVENT_FIELDS: dict[str, Schema] = {
    "topic": TOPIC,
    "category": choice(Category),
    "format": choice(EventFormat, default=EventFormat.ONSITE.value),
    "starts_at": DATE_TIME,
    "ends_at": DATE_TIME,
    "location": nullable(text(max_length(Event.location),
                              description="Empty or omitted: the platform's address")),
    "attendance": nullable(choice(EventAttendance, description=(
        "Whether residents can come: open to residents or by invitation; null: not stated"))),
    "attendance_note": nullable(text(max_length(Event.attendance_note), description=(
        "How to attend (a place to sign up, the platform's public phone); shown publicly"))),
    "agenda": nullable(AGENDA),
}
EVENT_PLAN = obj({
    "platform_id": ID,
    **EVENT_FIELDS,
    "is_past": {"type": "boolean", "default": False,
                "description": "Log an event that already took place (then record it held)"},
}, required=["platform_id", "topic", "category", "starts_at", "ends_at"])
EVENT_UPDATE = obj({**{name: {k: v for k, v in schema.items() if k != "default"}
                      for name, schema in EVENT_FIELDS.items()}, "version": VERSION},
                   description="Only the fields given change; a planned event only")

PROBLEM = obj({"title": ISSUE_TITLE, "description": ISSUE_TEXT,
               "kind": choice(IssueKind), "category": choice(Category)},
              required=["title", "description", "kind", "category"])
COUNT = integer(0, 100000)
SMALL_COUNT = integer(0, 1000)
EVENT_RECORD = obj({
    "starts_at": DATE_TIME, "ends_at": DATE_TIME,
    "minutes": LONG_TEXT,
    "attendee_ids": array(ID, max_items=500),
    "resident_count": COUNT, "department_count": SMALL_COUNT, "expert_count": SMALL_COUNT,
    "opinions": nullable(LONG_TEXT),
    "problems": array(PROBLEM, max_items=60),
    "version": VERSION,
}, required=["minutes"], description="Times default to the planned ones, counts to 0")
EVENT_CONCLUDE = obj({"outcome": LONG_TEXT, "version": VERSION}, required=["outcome"])
EVENT_CANCEL = obj({"reason": text(2000), "version": VERSION}, required=["reason"])

ISSUE_CREATE = obj({
    "platform_id": ID,
    "title": ISSUE_TITLE,
    "description": ISSUE_TEXT,
    "kind": choice(IssueKind),
    "category": choice(Category),
    "source": choice(IssueSource, default=IssueSource.LIAISON_POINT.value),
    "event_id": nullable(ID),
    "submitter_name": nullable(text(64, description="Kept private; never returned")),
    "submitter_phone": nullable(text(32, description="Kept private; never returned")),
}, required=["platform_id", "title", "description", "kind", "category"])

# The lifecycle's field names as the API spells them, with their schema.
ACTION_FIELDS: dict[str, tuple[str, Schema]] = {
    "department": ("department_id", ID),
    "due_on": ("due_on", DATE),
    "planned_on": ("planned_on", DATE),
    "resolution": ("resolution", NOTE_TEXT),
    "reason": ("reason", NOTE_TEXT),
    "note": ("note", NOTE_TEXT),
    "is_public": ("is_public", {
        "type": "boolean", "default": True,
        "description": "Whether the note shows on the public timeline. Left out: public for "
                       "staff, internal for a department's token."}),
    "duplicate_of": ("duplicate_of", text(32, description="Reference of the original problem")),
    "title": ("title", text(200, description="The public title")),
    "description": ("description", NOTE_TEXT),
    "reply": ("reply", NOTE_TEXT),
    "proposed_status": ("proposed_status", {"type": "string", "enum": [
        status.value for status in PROPOSABLE_STATUSES]}),
    "requested_due_on": ("requested_due_on", DATE),
    # Review of a resident's or a hotline's submission: the platform when it came without one,
    # the classification, and the address published with it.
    "platform": ("platform_id", integer(1, MAX_ID, description=(
        "The platform of a submission that came without one (a hotline relays only an "
        "address); refused when it already has one"))),
    "kind": ("kind", choice(IssueKind)),
    "category": ("category", choice(Category)),
    "address": ("address", text(max_length(Issue.address), description=(
        "The location published with the problem: a road or an estate, no house number"))),
}


def action_body(action: str) -> Schema:
    """The body of one lifecycle action: exactly the fields its transition names."""
    transition = TRANSITIONS[action]
    properties = {ACTION_FIELDS[name][0]: ACTION_FIELDS[name][1]
                  for name in (*transition.requires, *transition.optional)}
    return obj({**properties, "version": VERSION},
               required=[ACTION_FIELDS[name][0] for name in transition.requires])


ACTION_BODIES = {action: action_body(action) for action in TRANSITIONS}
