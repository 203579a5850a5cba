"""Writes on public-opinion reports (社情民意信息). They flush but do not commit: the caller
(``core/saving.py``'s ``save``) commits once.

A report's reference is ``SQ<year>-NNNN`` (the year it was written, in the people's time zone,
and its number within the year), handed out from the same locked counter table as problems'
receipts (prefix ``SQ<year>``). Its district is derived, never typed: the platform's, else the
member's, else the writing staff's; its source likewise (a member's report, a platform's, or
the district CPPCC's own).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from consult_hub.audit.operations import diff, record
from consult_hub.auth.models import User
from consult_hub.core.categories import Category
from consult_hub.core.conflicts import check_version
from consult_hub.core.db import max_length, utcnow
from consult_hub.core.errors import ValidationFailed
from consult_hub.core.i18n import gettext as _
from consult_hub.core.timefmt import to_local
from consult_hub.events.models import Event, EventStatus
from consult_hub.extensions import db
from consult_hub.issues.models import Issue, ReferenceCounter
from consult_hub.members.models import Member
from consult_hub.opinions import lifecycle
from consult_hub.opinions.models import OpinionReport, OpinionSource, OpinionStatus
from consult_hub.platforms.models import Platform

TITLE_LENGTH = max_length(OpinionReport.title)
BODY_LENGTH = 20000
REFERENCE_PREFIX = "SQ"
# The text an edit form changes (and compares on a conflict).
TEXT_FIELDS = ("title", "body", "category", "is_livelihood")
# Until a decision, district and city staff may still correct a report.
EDITABLE = frozenset({OpinionStatus.DRAFT, OpinionStatus.SUBMITTED})
# Events whose opinions and minutes a report may be written from.
HELD = frozenset({EventStatus.HELD, EventStatus.CONCLUDED})


def counter_prefix(year: int) -> str:
    """The counter row of ``year``'s references: ``SQ2024`` (fits ReferenceCounter.prefix)."""
    return f"{REFERENCE_PREFIX}{year}"


def format_reference(year: int, number: int) -> str:
    """``SQ2024-0012``: the demo generator writes references with this too."""
    return f"{counter_prefix(year)}-{number:04d}"


def _insert_ignore(values: dict[str, Any]) -> sa.Insert:
    if db.session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(ReferenceCounter).values(**values).on_conflict_do_nothing()


def next_reference(when: datetime) -> str:
    """Hand out the next reference of the year of ``when`` (locked counter, as receipts)."""
    year = to_local(when).year
    prefix = counter_prefix(year)
    bump = (sa.update(ReferenceCounter).where(ReferenceCounter.prefix == prefix)
            .values(last_value=ReferenceCounter.last_value + 1)
            .returning(ReferenceCounter.last_value))
    number = db.session.execute(bump).scalar()
    if number is None:
        db.session.execute(_insert_ignore({"prefix": prefix, "last_value": 0}))
        number = db.session.execute(bump).scalar_one()
    return format_reference(year, number)


def derive_source(platform: Platform | None, member: Member | None) -> OpinionSource:
    """A member's report, else a platform's, else the district CPPCC's own."""
    if member is not None:
        return OpinionSource.MEMBER
    if platform is not None:
        return OpinionSource.PLATFORM
    return OpinionSource.DISTRICT


def derive_district(platform: Platform | None, member: Member | None,
                    district_id: int | None) -> int | None:
    """The platform's district, else the member's, else ``district_id`` (the writing staff's,
    or the one city staff chose); None: a city-level report."""
    if platform is not None:
        return platform.district_id
    if member is not None and member.district_id is not None:
        return member.district_id
    return district_id


def _check_text(errors: dict[str, Any], *, title: str | None, body: str | None,
                category: Category | str | None) -> dict[str, Any]:
    title, body = (title or "").strip(), (body or "").strip()
    if not title:
        errors["title"] = _("请填写标题")
    elif len(title) > TITLE_LENGTH:
        errors["title"] = _("标题不超过 %(n)s 个字符", n=TITLE_LENGTH)
    if not body:
        errors["body"] = _("请填写正文")
    elif len(body) > BODY_LENGTH:
        errors["body"] = _("正文不超过 %(n)s 个字符", n=BODY_LENGTH)
    parsed = None
    if category in (None, ""):
        errors["category"] = _("请选择类别")
    else:
        try:
            parsed = Category(category)
        except ValueError:
            errors["category"] = _("无效的取值 %(value)s", value=repr(category))
    return {"title": title, "body": body, "category": parsed}


def _check_links(errors: dict[str, Any], events: Sequence[Event],
                 issues: Sequence[Issue]) -> None:
    if any(event.status not in HELD for event in events):
        errors["events"] = _("只能引用已举行的活动")
    if any(not issue.is_published for issue in issues):
        errors["issues"] = _("尚未受理公开的问题不能引用")


def report_errors(*, title: str | None, body: str | None, category: Category | str | None,
                  events: Sequence[Event] = (), issues: Sequence[Issue] = ()) -> dict[str, Any]:
    """What is wrong with a new report's text and links (the web form merges its own)."""
    errors: dict[str, Any] = {}
    _check_text(errors, title=title, body=body, category=category)
    _check_links(errors, events, issues)
    return errors


def create_report(
    *,
    author: User | None,
    title: str | None,
    body: str | None,
    category: Category | str | None,
    is_livelihood: bool = False,
    platform: Platform | None = None,
    member: Member | None = None,
    district_id: int | None = None,
    events: Sequence[Event] = (),
    issues: Sequence[Issue] = (),
    submit: bool = False,
    actor_id: int | None = None,
    now: datetime | None = None,
) -> OpinionReport:
    """Write a report as a draft (``submit``: and send it at once), linked to the events and
    problems it was written from. Raises ValidationFailed naming the field."""
    now = now or utcnow()
    errors: dict[str, Any] = {}
    text = _check_text(errors, title=title, body=body, category=category)
    _check_links(errors, events, issues)
    if errors:
        raise ValidationFailed(errors)
    report = OpinionReport(
        reference=next_reference(now), **text, is_livelihood=bool(is_livelihood),
        source=derive_source(platform, member), status=OpinionStatus.DRAFT,
        author_id=author.id if author is not None else None,
        member_id=member.id if member is not None else None,
        platform_id=platform.id if platform is not None else None,
        district_id=derive_district(platform, member, district_id),
        created_at=now, updated_at=now,
    )
    report.events = list(events)
    report.issues = list(issues)
    db.session.add(report)
    db.session.flush()
    record("opinion_create", report, {"reference": report.reference,
                                      "source": report.source.value,
                                      "events": [e.id for e in events],
                                      "issues": [i.id for i in issues]}, actor_id=actor_id)
    if submit:
        change_status(report, "submit", actor_id=actor_id, now=now)
    return report


def update_report(
    report: OpinionReport,
    *,
    title: str | None,
    body: str | None,
    category: Category | str | None,
    is_livelihood: bool,
    actor_id: int | None,
    version: Any = None,
    original: str | None = None,
    now: datetime | None = None,
) -> dict[str, list[Any]]:
    """Correct a report's text and classification, as opened at ``version``; returns the
    audited changes. A decided report is refused (its text is what was decided on)."""
    check_version(report, version=version, original=original, fields=TEXT_FIELDS)
    if report.status not in EDITABLE:
        raise ValidationFailed({"status": _("“%(status)s”的社情民意信息不能再修改",
                                            status=report.status.label)})
    errors: dict[str, Any] = {}
    values = {**_check_text(errors, title=title, body=body, category=category),
              "is_livelihood": bool(is_livelihood)}
    if errors:
        raise ValidationFailed(errors)
    changes = diff({name: getattr(report, name) for name in TEXT_FIELDS}, values)
    if not changes:
        return changes
    for name, value in values.items():
        setattr(report, name, value)
    report.updated_at = now or utcnow()
    db.session.flush()
    record("opinion_edit", report, changes, actor_id=actor_id)
    return changes


AUDITED = ("status", "bulletin_issue", "decision_note", "forwarded_to", "instruction_leader",
           "instruction_text", "instructed_on", "follow_up")


def change_status(report: OpinionReport, action: str, *, actor_id: int | None,
                  version: Any = None, now: datetime | None = None,
                  **values: Any) -> lifecycle.Transition:
    """Take a lifecycle action (``opinions/lifecycle.py``) and audit it; raises
    ValidationFailed on bad input and EditConflict when ``version`` (the page's) is not the
    report's any more."""
    check_version(report, version=version)
    now = now or utcnow()
    before = {name: getattr(report, name) for name in AUDITED}
    transition = lifecycle.apply(report, action, now=now, **values)
    report.updated_at = now
    db.session.flush()
    after = {name: getattr(report, name) for name in AUDITED}
    record(f"opinion_{action}", report, diff(before, after), actor_id=actor_id)
    return transition
