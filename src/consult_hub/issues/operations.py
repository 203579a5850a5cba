"""Writes on residents' problems. They flush but do not commit: the caller commits once."""

from __future__ import annotations

import re
import secrets
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa

from consult_hub.audit.operations import diff, record
from consult_hub.core.categories import Category
from consult_hub.core.conflicts import check_version
from consult_hub.core.db import max_length, utcnow
from consult_hub.core.errors import ValidationFailed
from consult_hub.core.i18n import N_
from consult_hub.core.i18n import gettext as _
from consult_hub.core.i18n import lazy_gettext as _l
from consult_hub.core.timefmt import local_today
from consult_hub.events import operations as event_operations
from consult_hub.events.models import Event
from consult_hub.extensions import db
from consult_hub.issues import lifecycle, subjects
from consult_hub.issues.models import (
    RATEABLE_STATUSES,
    Issue,
    IssueKind,
    IssueSource,
    IssueStatus,
    IssueUpdate,
    ReferenceCounter,
    Satisfaction,
)
from consult_hub.issues.privacy import public_text_errors
from consult_hub.issues.references import format_reference, reference_prefix
from consult_hub.platforms.models import Platform


def next_reference(when: datetime) -> str:
    """Hand out the next receipt number for the year of ``when``.

    The counter row is bumped with UPDATE … RETURNING, which locks it until the
    transaction ends, so concurrent submissions never get the same number.
    """
    prefix = reference_prefix(when)
    bump = (
        sa.update(ReferenceCounter)
        .where(ReferenceCounter.prefix == prefix)
        .values(last_value=ReferenceCounter.last_value + 1)
        .returning(ReferenceCounter.last_value)
    )
    number = db.session.execute(bump).scalar()
    if number is None:
        insert = _insert_ignore(ReferenceCounter, {"prefix": prefix, "last_value": 0})
        db.session.execute(insert)
        number = db.session.execute(bump).scalar_one()
    return format_reference(prefix, number)


def _insert_ignore(model: Any, values: dict[str, Any]) -> sa.Insert:
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(model).values(**values).on_conflict_do_nothing()


def new_tracking_token() -> str:
    return secrets.token_urlsafe(24)


TITLE_LENGTH = max_length(Issue.title)
SUBMITTER_NAME_LENGTH = max_length(Issue.submitter_name)
ADDRESS_LENGTH = max_length(Issue.address)
# A mobile number (optionally +86), or a landline with its area code: 3 digits for 010 and
# 02x, 4 for the rest; separators (spaces, hyphens, brackets) are ignored.
_MOBILE = re.compile(r"(?:\+?86)?(1[3-9]\d{9})")
_LANDLINE = re.compile(r"(0(?:10|2\d))(\d{8})|(0[3-9]\d{2})(\d{7,8})")


def normalise_phone(value: str | None) -> str | None:
    """``13800001234`` or ``027-85612345`` from what a person typed; None if not a phone number."""
    digits = re.sub(r"[\s\-()()]", "", value or "")
    if match := _MOBILE.fullmatch(digits):
        return match.group(1)
    if match := _LANDLINE.fullmatch(digits):
        area, number = (match.group(1), match.group(2)) if match.group(1) else match.group(3, 4)
        return f"{area}-{number}"
    return None


def _check_enums(errors: dict[str, str], **pairs: tuple[Any, Any]) -> dict[str, Any]:
    """Parse each ``name=(EnumClass, value)``; a bad value becomes an error on ``name``."""
    parsed: dict[str, Any] = {}
    for name, (enum_cls, value) in pairs.items():
        try:
            parsed[name] = enum_cls(value)
        except ValueError:
            errors[name] = _("无效的取值 %(value)s", value=repr(value))
    return parsed


def _check_text(errors: dict[str, str], *, title: str, description: str,
                kind: IssueKind | str | None, category: Category | str | None,
                unclassified: bool = False) -> dict[str, Any]:
    """The problem's own words and classification, checked and tidied, as model values.

    ``unclassified``: a resident's submission, which may come without a kind and category
    (staff give them at review); given ones are still checked."""
    if not (title or "").strip():
        errors["title"] = _("请填写标题")
    elif len(title.strip()) > TITLE_LENGTH:
        errors["title"] = _("标题不超过 %(n)s 个字符", n=TITLE_LENGTH)
    if not (description or "").strip():
        errors["description"] = _("请填写问题描述")
    pairs = {name: (enum_cls, value) for name, enum_cls, value in (
        ("kind", IssueKind, kind), ("category", Category, category))
        if not (unclassified and value in (None, ""))}
    parsed = {"kind": None, "category": None, **_check_enums(errors, **pairs)}
    return {"title": (title or "").strip(), "description": (description or "").strip(), **parsed}


EMAIL_LENGTH = max_length(Issue.submitter_email)
ADDRESS_ID_LENGTH = max_length(Issue.address_id)
MEDIA_URL_LENGTH = max_length(Issue.media_url)
# One @, no spaces, a dot in the domain: enough to call the resident back; not verified.
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def _check_location(errors: dict[str, str], *, email: str | None, address: str | None,
                    address_id: str | None, media_url: str | None) -> dict[str, Any]:
    """A relayed submission's contact email, reported location and photo link, checked.

    All private: the email beside the phone, the address and its id until staff publish a
    location, the photo link for staff only (never fetched here: it is the relaying
    system's, opened by staff in their own browser)."""
    email, address = (email or "").strip() or None, (address or "").strip() or None
    address_id, media_url = (address_id or "").strip() or None, (media_url or "").strip() or None
    if email and (len(email) > EMAIL_LENGTH or not _EMAIL.fullmatch(email)):
        errors["submitter_email"] = _("请填写有效的电子邮箱地址")
    if address and len(address) > ADDRESS_LENGTH:
        errors["submitted_address"] = _("地址不超过 %(n)s 个字符", n=ADDRESS_LENGTH)
    if address_id and len(address_id) > ADDRESS_ID_LENGTH:
        errors["address_id"] = _("地址编号不超过 %(n)s 个字符", n=ADDRESS_ID_LENGTH)
    if media_url:
        try:
            parts = urlsplit(media_url)
            web = parts.scheme.lower() in ("http", "https") and bool(parts.hostname)
        except ValueError:  # a malformed host, such as an unclosed [IPv6
            web = False
        if not web or len(media_url) > MEDIA_URL_LENGTH or re.search(r"\s", media_url):
            errors["media_url"] = _("照片链接应为以 http:// 或 https:// 开头的网址")
    return {"submitter_email": email, "submitted_address": address, "address_id": address_id,
            "media_url": media_url}


def create_issue(
    *,
    platform: Platform | None,
    title: str,
    description: str,
    kind: IssueKind | str | None = None,
    category: Category | str | None = None,
    source: IssueSource | str,
    event_id: int | None = None,
    submitter_name: str | None = None,
    submitter_phone: str | None = None,
    actor_id: int | None = None,
    now: datetime | None = None,
    needs_review: bool = False,
    consent_version: str | None = None,
    subject: str | None = None,
    sms_consent: bool = False,
    submitter_email: str | None = None,
    reported_address: str | None = None,
    address_id: str | None = None,
    media_url: str | None = None,
) -> Issue:
    """Record a new problem with its first timeline entry.

    Staff raise problems as received and published (they wrote the text). A resident's own
    submission (``needs_review``: the web form, Open311) waits as pending, private, with the
    resident's words kept as submitted, until staff accept and publish it; it may come
    without a kind and category (staff classify it then), with an everyday ``subject``
    (issues/subjects.py) and with the resident's wish for text messages (``sms_consent``,
    which needs a mobile number).
    """
    now = now or utcnow()
    errors: dict[str, str] = {}
    parsed = _check_text(errors, title=title, description=description, kind=kind,
                         category=category, unclassified=needs_review)
    if subject and subjects.subject_of(subject) is None:
        errors["subject"] = _("无效的取值 %(value)s", value=repr(subject))
    parsed.update(_check_enums(errors, source=(IssueSource, source)))
    name = (submitter_name or "").strip() or None
    if name and len(name) > SUBMITTER_NAME_LENGTH:
        errors["submitter_name"] = _("姓名不超过 %(n)s 个字符", n=SUBMITTER_NAME_LENGTH)
    phone = None
    if (submitter_phone or "").strip():
        phone = normalise_phone(submitter_phone)
        if phone is None:
            errors["submitter_phone"] = _("请填写有效的手机号（11 位）或带区号的固定电话")
    if sms_consent and "submitter_phone" not in errors and (phone is None or "-" in phone):
        errors["submitter_phone"] = _("要接收短信通知，请填写手机号")
    if event_id is not None:
        event = db.session.get(Event, event_id)
        if event is None or platform is None or event.platform_id != platform.id:
            errors["event_id"] = _("所选活动不属于这个平台")
    if platform is None and not needs_review:
        # Only a submission waiting for review may lack a platform: staff choose it then.
        errors["platform"] = _("请选择平台")
    located = _check_location(errors, email=submitter_email, address=reported_address,
                              address_id=address_id, media_url=media_url)
    if errors:
        raise ValidationFailed(errors)
    status = IssueStatus.PENDING if needs_review else IssueStatus.RECEIVED
    issue = Issue(
        reference=next_reference(now),
        published_at=None if needs_review else now,
        submitted_title=parsed["title"] if needs_review else None,
        submitted_text=parsed["description"] if needs_review else None,
        consent_version=consent_version,
        subject=subject or None,
        sms_consent_at=now if sms_consent else None,
        platform_id=platform.id if platform is not None else None,
        district_id=platform.district_id if platform is not None else None,
        **located,
        event_id=event_id,
        submitter_name=name,
        submitter_phone=phone,
        tracking_token=new_tracking_token(),
        status=status,
        created_by_id=actor_id,
        created_at=now,
        updated_at=now,
        **parsed,
    )
    issue.updates.append(
        IssueUpdate(action="receive", from_status=None, to_status=status,
                    note=None, is_public=True, actor_id=actor_id, created_at=now)
    )
    db.session.add(issue)
    db.session.flush()
    record("issue_create", issue, {"reference": issue.reference, "status": status.value},
           actor_id=actor_id)
    return issue


# ---- recording an event held, with the problems raised there ---------------------------------

PROBLEM_FIELDS = {"title": _l("问题标题"), "description": _l("问题描述"),
                  "kind": _l("问题类型"), "category": _l("类别")}


def problem_row_errors(rows: list[dict[str, str]]) -> dict[str, str]:
    """Check the problems typed on the record page; blank rows are skipped.

    Keys are ``problems-<index>-<field>``, as the form names them; messages name the row.
    """
    errors: dict[str, str] = {}
    for index, row in enumerate(rows):
        if not any(row.values()):
            continue
        number = index + 1
        for name, label in PROBLEM_FIELDS.items():
            if not row.get(name):
                errors[f"problems-{index}-{name}"] = _l("第 %(n)s 个问题：请填写“%(field)s”",
                                                        n=number, field=label)
        if len(row.get("title", "")) > 200:
            errors[f"problems-{index}-title"] = _l("第 %(n)s 个问题：标题不超过 200 个字符",
                                                   n=number)
        for name, enum_cls in (("kind", IssueKind), ("category", Category)):
            if row.get(name):
                try:
                    enum_cls(row[name])
                except ValueError:
                    errors[f"problems-{index}-{name}"] = _l(
                        "第 %(n)s 个问题：“%(field)s”的取值无效", n=number,
                        field=PROBLEM_FIELDS[name])
    return errors


def record_held(event: Event, *, problems: list[dict[str, str]], actor_id: int | None,
                now: datetime | None = None, **held: Any) -> list[Issue]:
    """Mark a planned event held (``held``: its minutes, attendance and times, as
    ``events/operations.py``'s ``record_held`` takes them) with the problems raised there.

    The problem rows are checked first and their errors go to the event's operation, which
    raises them with its own, so nothing changes unless everything is valid; the caller
    commits once, so the minutes and the problems are stored together or not at all.
    """
    now = now or utcnow()
    event_operations.record_held(event, actor_id=actor_id, now=now,
                                 other_errors=problem_row_errors(problems), **held)
    issues = []
    for index, row in enumerate(problems):
        if not any(row.values()):
            continue
        try:
            issues.append(create_issue(platform=event.platform, source=IssueSource.EVENT,
                                       event_id=event.id, actor_id=actor_id, now=now, **row))
        except ValidationFailed as refused:  # already checked above; kept for safety
            raise ValidationFailed({f"problems-{index}-{name}": message
                                    for name, message in refused.errors.items()}) from None
    return issues


def change_status(
    issue: Issue, action: str, *, actor_id: int | None, now: datetime | None = None,
    version: Any = None, **values: Any
) -> IssueUpdate:
    """Apply a lifecycle action and audit it; raises ValidationFailed on bad input, and
    EditConflict when ``version`` (the page's) is not the problem's any more."""
    check_version(issue, version=version)
    now = now or utcnow()
    before = {"status": issue.status, "department_id": issue.department_id,
              "due_on": issue.due_on, "planned_on": issue.planned_on,
              "resolution": issue.resolution}
    update = lifecycle.apply(issue, action, actor_id=actor_id, now=now,
                             today=local_today(now), **values)
    issue.updated_at = now
    db.session.flush()
    after = {"status": issue.status, "department_id": issue.department_id,
             "due_on": issue.due_on, "planned_on": issue.planned_on,
             "resolution": issue.resolution}
    record(f"issue_{action}", issue, diff(before, after), actor_id=actor_id)
    return update


TEXT_FIELDS = ("title", "description", "kind", "category")


def update_issue(
    issue: Issue,
    *,
    title: str,
    description: str,
    kind: IssueKind | str,
    category: Category | str,
    actor_id: int | None,
    version: Any = None,
    original: str | None = None,
    now: datetime | None = None,
) -> dict[str, list[Any]]:
    """Correct a problem's words and classification, as opened at ``version``; returns the
    audited changes. Raises EditConflict when someone changed the problem since.

    A published problem's title and description are public text: as when it was accepted,
    they may not hold a phone or ID-card number (issues/privacy.py)."""
    check_version(issue, version=version, original=original, fields=TEXT_FIELDS)
    errors: dict[str, str] = {}
    values = _check_text(errors, title=title, description=description, kind=kind,
                         category=category)
    if issue.is_published:
        errors.update({name: message for name, message in public_text_errors(values).items()
                       if name not in errors})
    if errors:
        raise ValidationFailed(errors)
    before = {name: getattr(issue, name) for name in TEXT_FIELDS}
    changes = diff(before, values)
    if not changes:
        return changes
    for name, value in values.items():
        setattr(issue, name, value)
    issue.updated_at = now or utcnow()
    db.session.flush()
    record("issue_edit", issue, changes, actor_id=actor_id)
    return changes


# The public timeline note of a rating, stored in Chinese (shown translated: |stored_text).
RATING_NOTES = {
    Satisfaction.SATISFIED: N_("居民评价：满意"),
    Satisfaction.BASICALLY: N_("居民评价：基本满意"),
    Satisfaction.UNSATISFIED: N_("居民评价：不满意"),
}


def rate_issue(
    issue: Issue,
    satisfaction: Satisfaction | str,
    actor_id: int | None,
    note: str | None = None,
    *,
    now: datetime | None = None,
    version: Any = None,
) -> IssueUpdate:
    """Record the resident's rating of a closed outcome, once; raises ValidationFailed otherwise.

    The rating shows on the public timeline. A comment (``note``) is kept as an internal
    timeline note, since a follow-up call's notes may name the resident.
    """
    check_version(issue, version=version)
    now = now or utcnow()
    try:
        rating = Satisfaction(satisfaction)
    except ValueError:
        raise ValidationFailed({"satisfaction": _("请选择评价")}) from None
    if issue.status not in RATEABLE_STATUSES:
        raise ValidationFailed(
            {"satisfaction": _("“%(status)s”的问题不能评价，办结后才能评价",
                               status=issue.status.label)})
    if issue.satisfaction is not None:
        raise ValidationFailed({"satisfaction": _("已评价为“%(label)s”，不能重复评价",
                                                  label=issue.satisfaction.label)})
    issue.satisfaction = rating
    issue.rated_at = now
    issue.updated_at = now
    update = IssueUpdate(action="rate", from_status=issue.status, to_status=issue.status,
                         note=RATING_NOTES[rating], is_public=True,
                         actor_id=actor_id, created_at=now)
    issue.updates.append(update)
    if (note or "").strip():
        issue.updates.append(IssueUpdate(
            action="note", from_status=issue.status, to_status=issue.status, note=note.strip(),
            is_public=False, actor_id=actor_id, created_at=now))
    db.session.flush()
    record("issue_rate", issue, {"satisfaction": [None, rating.value]}, actor_id=actor_id)
    return update
