"""Writes on residents' problems. They flush but do not commit: the caller commits once."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import current_app

from consult_hub.audit.operations import diff, record
from consult_hub.core.categories import Category
from consult_hub.core.db import utcnow
from consult_hub.core.errors import ValidationFailed
from consult_hub.core.timefmt import local_today, to_local
from consult_hub.extensions import db
from consult_hub.issues import lifecycle
from consult_hub.issues.models import (
    Issue,
    IssueKind,
    IssueSource,
    IssueStatus,
    IssueUpdate,
    ReferenceCounter,
)
from consult_hub.platforms.models import Platform

REFERENCE_DIGITS = 5


def reference_prefix(when: datetime) -> str:
    """``WH24`` for a problem received in 2024 in Wuhan (year in the people's zone)."""
    return f"{current_app.config['CITY_CODE']}{to_local(when).year % 100:02d}"


def format_reference(prefix: str, number: int) -> str:
    return f"{prefix}-{number:0{REFERENCE_DIGITS}d}"


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


def create_issue(
    *,
    platform: Platform,
    title: str,
    description: str,
    kind: IssueKind | str,
    category: Category | str,
    source: IssueSource | str,
    event_id: int | None = None,
    submitter_name: str | None = None,
    submitter_phone: str | None = None,
    actor_id: int | None = None,
    now: datetime | None = None,
) -> Issue:
    """Record a new problem as received, with its first timeline entry."""
    now = now or utcnow()
    errors: dict[str, str] = {}
    if not (title or "").strip():
        errors["title"] = "请填写标题"
    elif len(title.strip()) > 200:
        errors["title"] = "标题不超过 200 个字符"
    if not (description or "").strip():
        errors["description"] = "请填写问题描述"
    enums = {"kind": (IssueKind, kind), "category": (Category, category),
             "source": (IssueSource, source)}
    parsed: dict[str, Any] = {}
    for name, (enum_cls, value) in enums.items():
        try:
            parsed[name] = enum_cls(value)
        except ValueError:
            errors[name] = f"无效的取值 {value!r}"
    if errors:
        raise ValidationFailed(errors)
    issue = Issue(
        reference=next_reference(now),
        title=title.strip(),
        description=description.strip(),
        platform_id=platform.id,
        district_id=platform.district_id,
        event_id=event_id,
        submitter_name=(submitter_name or "").strip() or None,
        submitter_phone=(submitter_phone or "").strip() or None,
        tracking_token=new_tracking_token(),
        status=IssueStatus.RECEIVED,
        created_by_id=actor_id,
        created_at=now,
        updated_at=now,
        **parsed,
    )
    issue.updates.append(
        IssueUpdate(action="receive", from_status=None, to_status=IssueStatus.RECEIVED,
                    note=None, is_public=True, actor_id=actor_id, created_at=now)
    )
    db.session.add(issue)
    db.session.flush()
    record("issue_create", issue, {"reference": issue.reference, "status": "received"},
           actor_id=actor_id)
    return issue


def change_status(
    issue: Issue, action: str, *, actor_id: int | None, now: datetime | None = None, **values: Any
) -> IssueUpdate:
    """Apply a lifecycle action and audit it; raises ValidationFailed on bad input."""
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
