"""Write audit rows: in the caller's transaction for changes, on their own for refusals."""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum
from typing import Any

import sqlalchemy as sa
from flask import has_request_context, request
from flask_login import current_user

from consult_hub.audit.models import AuditLog
from consult_hub.core.db import utcnow
from consult_hub.extensions import db


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _request_fields() -> dict[str, Any]:
    if not has_request_context():
        return {"ip_address": None, "user_agent": None}
    return {
        "ip_address": request.remote_addr,
        "user_agent": (request.user_agent.string or "")[:200] or None,
    }


def _actor_id() -> int | None:
    if has_request_context() and current_user and current_user.is_authenticated:
        return current_user.id
    return None


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """The fields whose value changed, as ``{field: [before, after]}``."""
    return {
        key: [_plain(before.get(key)), _plain(after.get(key))]
        for key in sorted(set(before) | set(after))
        if before.get(key) != after.get(key)
    }


def record(
    action: str,
    entity: Any = None,
    changes: dict[str, Any] | None = None,
    actor_id: int | None = None,
) -> AuditLog:
    """Add an audit row to the current session; the caller's commit writes it."""
    row = AuditLog(
        actor_id=actor_id if actor_id is not None else _actor_id(),
        action=action,
        entity_type=entity.__tablename__ if entity is not None else None,
        entity_id=getattr(entity, "id", None),
        changes={k: _plain(v) if not isinstance(v, list) else [_plain(x) for x in v]
                 for k, v in (changes or {}).items()} or None,
        created_at=utcnow(),
        **_request_fields(),
    )
    db.session.add(row)
    return row


def record_denied(what: str) -> None:
    """Log a refused attempt at once, outside the request's transaction (which is discarded)."""
    with db.engine.begin() as conn:
        conn.execute(
            sa.insert(AuditLog).values(
                actor_id=_actor_id(),
                action="access_denied",
                changes={"target": what,
                         "method": request.method if has_request_context() else None},
                created_at=utcnow(),
                **_request_fields(),
            )
        )
