"""Models as the API shows them: public fields only, shaped as ``api/schemas.py`` describes.

Nothing here reads a submitter's name or phone, the resident's own words (submitted_*), a
department's unconfirmed reply, a tracking token, a private timeline note or a staff account;
what is not listed here is not sent. A problem's status is its public one (a reply waiting
for confirmation reads 办理中), and only published problems are listed with an event.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum
from typing import Any

from flask import g
from flask_babel import get_locale

from consult_hub.areas.models import Area, AreaLevel
from consult_hub.core.links import external_url
from consult_hub.departments.models import Department
from consult_hub.events.models import Event
from consult_hub.issues.models import (
    ANSWERED_STATUSES,
    DESCRIPTION_WITHHELD_STATUSES,
    Issue,
    IssueUpdate,
)
from consult_hub.members.models import Member
from consult_hub.platforms.models import Platform
from consult_hub.proposals import models as proposal_models
from consult_hub.proposals.models import HandlingRole, Proposal
from consult_hub.public.queries import DistrictChoice, published


def stamp(value: datetime | date | None) -> str | None:
    return value.isoformat() if value is not None else None


def labelled(name: str, value: Enum | None) -> dict[str, Any]:
    """``{name: value, name_label: label}`` for an enum field."""
    return {name: value.value if value is not None else None, f"{name}_label": _label(value)}


def _label(value: Enum | None) -> str | None:
    """The member's label in the request's language, translated once per request.

    A page of 100 problems shows 500 labels; translating each one anew took a third of
    the time spent presenting them.
    """
    if value is None:
        return None
    labels = g.setdefault("api_labels", {})
    # str-valued members of two enums can compare equal; the locale, in case a context
    # outlives one request (a test, a command) and the language changes.
    key = (type(value), value.value, str(get_locale()))
    if key not in labels:
        labels[key] = getattr(value, "label", None)
    return labels[key]


def area(found: Area | DistrictChoice | None) -> dict[str, Any] | None:
    if found is None:
        return None
    return {"id": found.id, "code": found.code, "name": found.name}


def platform_ref(platform: Platform) -> dict[str, Any]:
    return {"id": platform.id, "code": platform.code, "name": platform.name,
            "district": area(platform.district)}


def member(found: Member) -> dict[str, Any]:
    return {"id": found.id, "name": found.name, "sector": found.sector,
            **labelled("level", found.level)}


def platform(found: Platform, *, members: list[Member] | None = None) -> dict[str, Any]:
    place = found.area
    community = place if place.level is AreaLevel.COMMUNITY else None
    street = place.parent if community is not None else (
        place if place.level is AreaLevel.STREET else None)
    data = {
        "id": found.id, "code": found.code, "name": found.name,
        **labelled("kind", found.kind), **labelled("status", found.status),
        "district": area(found.district), "street": area(street), "community": area(community),
        "address": found.address, "latitude": found.latitude, "longitude": found.longitude,
        "convener": found.convener, "description": found.description,
        "established_on": stamp(found.established_on),
        "is_demonstration": found.is_demonstration,
        "demonstration_year": found.demonstration_year,
        "url": external_url("api.platform", platform_id=found.id),
        "html_url": external_url("public.platform", platform_id=found.id),
    }
    if members is not None:
        data["members"] = [member(m) for m in members]
    return data


def event(found: Event) -> dict[str, Any]:
    return {
        "id": found.id, "code": found.code, "platform": platform_ref(found.platform),
        "topic": found.topic, **labelled("category", found.category),
        "starts_at": stamp(found.starts_at), "ends_at": stamp(found.ends_at),
        "location": found.location, **labelled("format", found.format),
        **labelled("attendance", found.attendance), "attendance_note": found.attendance_note,
        "agenda": found.agenda, **labelled("status", found.status),
        "minutes": found.minutes, "opinions": found.opinions,
        "resident_count": found.resident_count, "department_count": found.department_count,
        "expert_count": found.expert_count, "held_at": stamp(found.held_at),
        "outcome": found.outcome, "concluded_at": stamp(found.concluded_at),
        "cancel_reason": found.cancel_reason, "cancelled_at": stamp(found.cancelled_at),
        "version": found.version,
        "url": external_url("api.event", event_id=found.id),
        "html_url": external_url("public.event", event_id=found.id),
    }


def event_detail(found: Event) -> dict[str, Any]:
    """The event with its attendees, the problems raised there and (once held) its photos."""
    photos = found.photos if found.happened else []
    return {
        **event(found),
        "attendees": [member(m) for m in sorted(found.attendees, key=lambda m: (m.name, m.id))],
        "issues": [issue_ref(i) for i in published(found.issues)],
        "photos": [{"id": p.id, "caption": p.caption, "width": p.width, "height": p.height,
                    "url": external_url("events.photo", photo_id=p.id)}
                   for p in photos],
    }


def issue_url(reference: str) -> str:
    return external_url("api.issue", reference=reference)


def issue_ref(found: Issue) -> dict[str, Any]:
    return {"reference": found.reference, "title": found.title,
            **labelled("status", found.public_status), "url": issue_url(found.reference)}


def issue(found: Issue, today: date) -> dict[str, Any]:
    status = found.public_status
    return {
        "reference": found.reference, "title": found.title,
        "description": (None if status in DESCRIPTION_WITHHELD_STATUSES
                        else found.description),
        **labelled("kind", found.kind), **labelled("category", found.category),
        **labelled("source", found.source), **labelled("status", status),
        # None only for a submission still waiting for review (a hotline's, relayed with an
        # address alone), which only a staff action's answer shows.
        "platform": platform_ref(found.platform) if found.platform is not None else None,
        "event": ({"id": found.event.id, "topic": found.event.topic,
                   "url": external_url("api.event", event_id=found.event.id)}
                  if found.event is not None else None),
        "department": department_ref(found.department),
        "due_on": stamp(found.due_on), "planned_on": stamp(found.planned_on),
        "is_overdue": found.is_overdue(today),
        "resolution": found.resolution if status in ANSWERED_STATUSES else None,
        "duplicate_of": found.duplicate_of.reference if found.duplicate_of else None,
        "created_at": stamp(found.created_at), "resolved_at": stamp(found.resolved_at),
        "closed_at": stamp(found.closed_at),
        **labelled("satisfaction", found.satisfaction),
        "version": found.version,
        "url": issue_url(found.reference),
        "html_url": external_url("public.issue", reference=found.reference),
    }


def timeline_entry(update: IssueUpdate) -> dict[str, Any]:
    """One public timeline entry; who took the action is not shown."""
    return {"action": update.action,
            "from_status": update.from_status.value if update.from_status else None,
            "to_status": update.to_status.value, "to_status_label": update.to_status.label,
            "note": update.note, "created_at": stamp(update.created_at)}


def department_ref(found: Department | None) -> dict[str, Any] | None:
    return {"id": found.id, "name": found.name} if found is not None else None


def department(found: Department) -> dict[str, Any]:
    return {"id": found.id, "code": found.code, "name": found.name,
            "district": area(found.district), "is_active": found.is_active}


def _proposal_department(found: Department) -> dict[str, Any]:
    return {"id": found.id, "code": found.code, "name": found.name}


def proposal(found: Proposal) -> dict[str, Any]:
    """An accepted proposal as its public page shows it: the outcome and reply once answered
    (not while it is re-handled), the reply's text only when it is published."""
    answered = found.status in proposal_models.ANSWERED_STATUSES
    outcome = found.outcome if answered else None
    collective = found.proposer_kind is proposal_models.ProposerKind.COLLECTIVE
    return {
        "id": found.id, "year": found.year, "number": found.number, "title": found.title,
        "reasons": found.reasons, "suggestions": found.suggestions,
        **labelled("category", found.category),
        **labelled("proposer_kind", found.proposer_kind),
        "proposers": [] if collective else [
            {"id": row.member.id, "name": row.member.name, "is_lead": row.is_lead}
            for row in found.proposers],
        **labelled("collective_kind", found.collective_kind if collective else None),
        "collective_name": found.collective_name if collective else None,
        "is_key": found.is_key,
        "lead_department": _proposal_department(found.lead_department),
        "co_departments": [_proposal_department(row.department) for row in found.departments
                           if row.role is HandlingRole.CO],
        **labelled("outcome", outcome),
        "outcome_letter": outcome.letter if outcome is not None else None,
        "replied_at": stamp(found.replied_at) if answered else None,
        "reply_public": found.reply_public,
        "reply": found.reply if answered and found.reply_public else None,
        "url": external_url("api.proposal", proposal_id=found.id),
        "html_url": external_url("proposals.public_show", proposal_id=found.id),
    }


def proposal_detail(found: Proposal) -> dict[str, Any]:
    """The proposal with the published problems it grew from, by their public title only."""
    return {
        **proposal(found),
        "issues": [{"reference": i.reference, "title": i.title, "url": issue_url(i.reference),
                    "html_url": external_url("public.issue", reference=i.reference)}
                   for i in published(found.issues)],
    }
