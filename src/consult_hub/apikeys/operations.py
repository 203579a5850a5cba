"""Issue, revoke and recognise the API keys of integrating systems.

A key is ``o311_`` and 43 random URL-safe characters; only its SHA-256 is stored (with that
much entropy a salt adds nothing, and an unsalted hash is looked up directly, as for the
API tokens in ``auth/tokens.py``). Issuing and revoking flush and audit; the view commits.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from limits import parse_many

from consult_hub.apikeys.models import ApiKey
from consult_hub.audit.operations import record
from consult_hub.core.db import max_length, utcnow
from consult_hub.core.errors import ValidationFailed
from consult_hub.core.i18n import gettext as _
from consult_hub.extensions import db

KEY_PREFIX = "o311_"
SHOWN_PREFIX = 13  # "o311_" and 8 characters: enough to tell the keys apart
NAME_LENGTH = max_length(ApiKey.name)
SYSTEM_LENGTH = max_length(ApiKey.system)
LIMIT_LENGTH = max_length(ApiKey.rate_limit)
# last_used_at tells staff whether a system still uses its key; it is not a log.
LAST_USED_GRANULARITY = timedelta(minutes=1)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def default_rate_limit() -> str:
    return current_app.config["OPEN311_KEY_RATE_LIMIT"]


def _checked_limit(text: str) -> str:
    text = " ".join((text or "").split()) or default_rate_limit()
    try:
        parsed = parse_many(text)
    except ValueError:
        parsed = []
    if not parsed or len(text) > LIMIT_LENGTH:
        raise ValidationFailed({"rate_limit": _(
            "请按“次数 per 时间”填写，例如 600 per hour；多个限制用分号隔开")})
    return text


def issue_key(*, name: str, system: str, rate_limit: str, actor_id: int | None,
              now: datetime | None = None) -> tuple[ApiKey, str]:
    """Create a key; returns the row and the key itself, which is never stored."""
    errors: dict[str, str] = {}
    name, system = (name or "").strip(), (system or "").strip()
    if not name:
        errors["name"] = _("请填写名称，例如“12345 热线”")
    elif len(name) > NAME_LENGTH:
        errors["name"] = _("名称不超过 %(n)s 个字符", n=NAME_LENGTH)
    if not system:
        errors["system"] = _("请填写使用这个密钥的系统和负责单位")
    elif len(system) > SYSTEM_LENGTH:
        errors["system"] = _("系统说明不超过 %(n)s 个字符", n=SYSTEM_LENGTH)
    try:
        limit = _checked_limit(rate_limit)
    except ValidationFailed as refused:
        errors.update(refused.errors)
    if errors:
        raise ValidationFailed(errors)
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    row = ApiKey(name=name, system=system, prefix=key[:SHOWN_PREFIX], key_hash=hash_key(key),
                 rate_limit=limit, issued_by_id=actor_id, created_at=now or utcnow())
    db.session.add(row)
    db.session.flush()
    record("api_key_issue", row, {"name": [None, name], "system": [None, system],
                                  "prefix": [None, row.prefix], "rate_limit": [None, limit]},
           actor_id=actor_id)
    return row, key


def revoke_key(row: ApiKey, *, actor_id: int | None, now: datetime | None = None) -> bool:
    """Stop a key from working (the row stays, with when); False when it already was."""
    if row.revoked_at is not None:
        return False
    row.revoked_at = now or utcnow()
    db.session.flush()
    record("api_key_revoke", row, {"revoked_at": [None, row.revoked_at.isoformat()]},
           actor_id=actor_id)
    return True


def live_key(key: str) -> ApiKey | None:
    """The unrevoked key ``key`` is, or None."""
    key = (key or "").strip()
    if not key.startswith(KEY_PREFIX) or len(key) > 100:
        return None
    return db.session.scalar(sa.select(ApiKey).where(ApiKey.key_hash == hash_key(key),
                                                     ApiKey.revoked_at.is_(None)))


def mark_used(row: ApiKey, now: datetime | None = None) -> None:
    """Note the key's use (at most once a minute); the caller's commit writes it."""
    now = now or utcnow()
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_GRANULARITY:
        row.last_used_at = now


def all_keys() -> list[ApiKey]:
    """Every key, live ones first, newest first."""
    return list(db.session.scalars(
        sa.select(ApiKey).order_by(ApiKey.revoked_at.is_not(None), ApiKey.created_at.desc(),
                                   ApiKey.id.desc())))
