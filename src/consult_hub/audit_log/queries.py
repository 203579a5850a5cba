"""Read the audit log: the admin's filtered, newest-first list."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy.orm import joinedload

from consult_hub.audit.models import AuditLog
from consult_hub.auth.models import User
from consult_hub.core.timefmt import local_midnight
from consult_hub.extensions import db

PER_PAGE = 50


@dataclass
class AuditFilters:
    """What the list is narrowed to; empty fields do not filter."""

    actor: str = ""  # username
    action: str = ""
    entity_type: str = ""
    entity_id: int | None = None
    date_from: date | None = None  # local dates, both ends included
    date_to: date | None = None
    ip: str = ""


def _matches(column: Any, value: str) -> sa.ColumnElement[bool]:
    """Equal to ``value``, or starting with it when it ends with ``*``."""
    if value.endswith("*"):
        return column.startswith(value[:-1], autoescape=True)
    return column == value


def _where(filters: AuditFilters) -> list[sa.ColumnElement[bool]]:
    clauses: list[sa.ColumnElement[bool]] = []
    if filters.actor:
        # Through the user's id, so that the (actor_id, created_at) index does the work.
        clauses.append(AuditLog.actor_id.in_(
            sa.select(User.id).where(_matches(sa.func.lower(User.username),
                                              filters.actor.lower()))))
    if filters.action:
        clauses.append(_matches(AuditLog.action, filters.action))
    if filters.entity_type:
        clauses.append(AuditLog.entity_type == filters.entity_type)
    if filters.entity_id is not None:
        clauses.append(AuditLog.entity_id == filters.entity_id)
    if filters.date_from:
        clauses.append(AuditLog.created_at >= local_midnight(filters.date_from))
    if filters.date_to:
        clauses.append(AuditLog.created_at < local_midnight(filters.date_to + timedelta(days=1)))
    if filters.ip:
        clauses.append(_matches(AuditLog.ip_address, filters.ip))
    return clauses


def audit_page(filters: AuditFilters, page: int, per_page: int = PER_PAGE) -> Pagination:
    """One page of matching rows, newest first, with their actors loaded alongside."""
    stmt = (
        sa.select(AuditLog).where(*_where(filters))
        .options(joinedload(AuditLog.actor))
        .order_by(AuditLog.created_at.desc(), AuditLog.id.desc())
    )
    return db.paginate(stmt, page=page, per_page=per_page, error_out=False)


@dataclass
class Change:
    """One line of a row's changes: a field with its value before and after, or a plain value."""

    field: str
    before: str | None
    after: str | None
    is_pair: bool


def _text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "、".join(str(_text(item)) for item in value) or None
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def changes_of(row: AuditLog) -> list[Change]:
    """The row's ``changes`` as lines: ``[before, after]`` pairs (from ``diff``) or single
    values."""
    lines = []
    for name, value in (row.changes or {}).items():
        if isinstance(value, list) and len(value) == 2:
            lines.append(Change(name, _text(value[0]), _text(value[1]), True))
        else:
            lines.append(Change(name, None, _text(value), False))
    return lines
