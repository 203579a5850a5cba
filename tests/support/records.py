"""Reading stored rows back outside a request: one object, a count, the audit rows of an action."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Flask

from consult_hub.audit.models import AuditLog
from consult_hub.extensions import db


def load(app: Flask, model: Any, ident: int) -> Any:
    with app.app_context():
        obj = db.session.get(model, ident)
        db.session.expunge(obj)
        return obj


def count(app: Flask, model: Any, *where: Any) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def audit_rows(app: Flask, action: str) -> list[AuditLog]:
    with app.app_context():
        rows = list(db.session.scalars(sa.select(AuditLog).where(AuditLog.action == action)
                                       .order_by(AuditLog.id)))
        db.session.expunge_all()
        return rows
