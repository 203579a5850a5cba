"""No lost updates: optimistic locking for edit forms.

An edit form carries the record's ``version`` and a snapshot of the values the
user started from. On save, a version that moved on means someone else saved
first: ``EditConflict`` says which fields they changed (their snapshot against
the stored values) and who did it, and the view answers 409 with the user's own
input still in the form. Models also use ``version_id_col``, so a race between
the check and the commit still fails (StaleDataError) instead of overwriting.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import Enum
from typing import Any

import sqlalchemy as sa

from consult_hub.core.db import Base
from consult_hub.extensions import db


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple | set):
        return sorted(_plain(v) for v in value)
    if hasattr(value, "id") and hasattr(value, "__tablename__"):
        return value.id
    return value


def values_of(obj: Any, fields: Iterable[str]) -> dict[str, Any]:
    """The current values of ``fields`` on ``obj``, as JSON-friendly data."""
    return {name: _plain(getattr(obj, name)) for name in fields}


def snapshot(obj: Any, fields: list[str]) -> str:
    """What the editor started from, for the form's hidden ``original`` field."""
    return json.dumps(values_of(obj, fields), ensure_ascii=False, sort_keys=True)


@dataclass
class EditConflict(Exception):
    """Someone saved the record after this user opened it."""

    changed: dict[str, tuple[Any, Any]] = field(default_factory=dict)  # field: (was, now)
    by: str | None = None
    at: datetime | None = None
    current_version: int | None = None

    def __str__(self) -> str:
        return f"edit conflict on {', '.join(self.changed) or 'the record'}"


def _last_change(obj: Any) -> tuple[str | None, datetime | None]:
    """Who last changed ``obj`` and when, from the audit trail.

    The audit and users tables are looked up by name in the shared metadata: core sits
    below the feature folders that define them (docs/architecture.md).
    """
    audit, users = Base.metadata.tables["audit_log"], Base.metadata.tables["users"]
    row = db.session.execute(
        sa.select(users.c.name, audit.c.created_at)
        .select_from(audit.outerjoin(users, users.c.id == audit.c.actor_id))
        .where(audit.c.entity_type == obj.__tablename__, audit.c.entity_id == obj.id)
        .order_by(audit.c.id.desc()).limit(1)
    ).one_or_none()
    if row is None:
        return None, None
    return row.name, row.created_at


def check_version(obj: Any, *, version: Any, original: str | None = None,
                  fields: Iterable[str] = ()) -> None:
    """Raise EditConflict unless ``obj`` is still at the ``version`` the form was opened on.

    Operations call it first thing. ``None`` means the caller holds no version (an importer,
    an API request without one): it acts on the record as it stands. A form always posts
    one (``""`` when missing, which matches nothing).
    """
    if version is None:
        return
    try:
        opened_at = int(version)
    except (TypeError, ValueError):
        opened_at = -1
    if opened_at == obj.version:
        return
    try:
        started = json.loads(original or "{}")
    except ValueError:
        started = {}
    if not isinstance(started, dict):  # valid JSON, but not what the form wrote ("-1", [])
        started = {}
    fields = list(fields)
    now = values_of(obj, fields)
    changed = {name: (started.get(name), now[name]) for name in fields
               if name in started and started[name] != now[name]}
    by, at = _last_change(obj)
    raise EditConflict(changed=changed, by=by, at=at, current_version=obj.version)


def readable(conflict: EditConflict, model: type) -> EditConflict:
    """The conflict's values as people read them: labels, names, local times — not codes and ids.

    Works from the model's columns, so every edit form shows its conflicts the same way.
    """
    from consult_hub.core.i18n import gettext as _
    from consult_hub.core.timefmt import format_datetime

    columns = sa.inspect(model).columns

    def show(name: str, value: Any) -> Any:
        column = columns.get(name)
        if value is None or value == "" or column is None:
            return value if value != "" else None
        enum_cls = getattr(column.type, "enum_class", None)
        if enum_cls is not None:
            try:
                return enum_cls(value).label
            except ValueError:
                return value
        if isinstance(column.type, sa.Boolean):
            return _("是") if value else _("否")
        stored_as = getattr(column.type, "impl", column.type)  # UTCDateTime is a decorator
        if isinstance(stored_as, sa.DateTime) and isinstance(value, str):
            return format_datetime(datetime.fromisoformat(value))
        for key in column.foreign_keys:
            target = key.column.table
            if "name" in target.c:
                found = db.session.execute(
                    sa.select(target.c.name).where(key.column == value)).scalar_one_or_none()
                return found if found is not None else value
        return value

    return EditConflict(
        changed={name: (show(name, was), show(name, now))
                 for name, (was, now) in conflict.changed.items()},
        by=conflict.by, at=conflict.at, current_version=conflict.current_version)


def conflict_from_stale(obj: Any, original: str | None, fields: list[str]) -> EditConflict:
    """Build the conflict after a StaleDataError at commit: reload and compare."""
    db.session.rollback()
    db.session.refresh(obj)
    try:
        check_version(obj, version=-1, original=original, fields=fields)
    except EditConflict as conflict:
        return conflict
    raise AssertionError("unreachable: version -1 never matches")
