"""Per-user API tokens: issue, list and revoke them (the API authenticates with them).

A token is ``ch_`` and 43 random URL-safe characters; only its SHA-256 is stored. With
that much entropy a salt adds nothing, and an unsalted hash can be looked up directly.
Bearer authentication of API requests is ``api/auth.py``; the account pages (this folder)
and the API's token pages both use what is here.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app

from consult_hub.audit.operations import record
from consult_hub.auth.models import ApiToken, User
from consult_hub.core.db import utcnow
from consult_hub.core.errors import ValidationFailed
from consult_hub.core.i18n import gettext as _
from consult_hub.extensions import db

TOKEN_PREFIX = "ch_"
SHOWN_PREFIX = 11  # "ch_" and 8 characters: enough to tell a user's tokens apart
NAME_LENGTH = 64
MAX_ACTIVE_TOKENS = 20
# last_used_at is a hint for the owner, not a log: refresh it at most this often.
LAST_USED_GRANULARITY = timedelta(minutes=1)
API_TOKEN = "api-token"  # the access mark of views guarded by a token
CHALLENGE = 'Bearer realm="consult-hub"'


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


# --- Operations (the token pages call these; they flush and audit, the view commits) ----------


def issue_token(user: User, name: str, *, now: datetime | None = None) -> tuple[ApiToken, str]:
    """Create a token for ``user``; returns the row and the token, which is never stored."""
    name = (name or "").strip()
    if not name:
        raise ValidationFailed({"name": _("请填写令牌名称，例如它用在哪个系统")})
    if len(name) > NAME_LENGTH:
        raise ValidationFailed({"name": _("名称不超过 %(n)s 个字符", n=NAME_LENGTH)})
    if len(active_tokens(user)) >= MAX_ACTIVE_TOKENS:
        raise ValidationFailed({"name": _("最多同时保留 %(n)s 个有效令牌，请先吊销不用的",
                                          n=MAX_ACTIVE_TOKENS)})
    token = new_token()
    made = now or utcnow()
    row = ApiToken(user_id=user.id, name=name, prefix=token[:SHOWN_PREFIX],
                   token_hash=hash_token(token), created_at=made,
                   expires_at=made + token_lifetime())
    db.session.add(row)
    db.session.flush()
    record("api_token_create", row, {"name": [None, name], "prefix": [None, row.prefix]},
           actor_id=user.id)
    return row, token


def token_lifetime() -> timedelta:
    return timedelta(days=current_app.config["API_TOKEN_DAYS"])


def expires_at(row: ApiToken) -> datetime:
    """When ``row`` stops working (a row without a date: its lifetime from when it was made)."""
    return row.expires_at or row.created_at + token_lifetime()


def is_expired(row: ApiToken, now: datetime | None = None) -> bool:
    return expires_at(row) <= (now or utcnow())


def revoke_token(row: ApiToken, *, actor_id: int | None, now: datetime | None = None,
                 reason: str | None = None) -> None:
    """Stop a token from working; the row stays so its owner sees when it was revoked.

    ``reason`` is audited when the token dies with its account's trust (``password_reset``,
    ``password_change``, ``deactivated``) rather than by someone's choice of this token.
    """
    if row.revoked_at is not None:
        return
    row.revoked_at = now or utcnow()
    db.session.flush()
    changes: dict[str, Any] = {"revoked_at": [None, row.revoked_at.isoformat()]}
    if reason:
        changes["reason"] = [None, reason]
    record("api_token_revoke", row, changes, actor_id=actor_id)


def revoke_user_tokens(user: User, *, actor_id: int | None, reason: str) -> int:
    """Revoke every live token of ``user``; returns how many (each one audited)."""
    live = active_tokens(user)
    for row in live:
        revoke_token(row, actor_id=actor_id, reason=reason)
    return len(live)


def active_tokens(user: User) -> list[ApiToken]:
    """Tokens that still work: neither revoked nor expired."""
    now = utcnow()
    return [t for t in tokens_of(user) if t.revoked_at is None and not is_expired(t, now)]


def tokens_of(user: User) -> list[ApiToken]:
    """The user's tokens, newest first."""
    return list(db.session.scalars(
        sa.select(ApiToken).where(ApiToken.user_id == user.id)
        .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())))


@dataclass(frozen=True)
class TokenLine:
    """A token as its list shows it: when it stops working, and whether it still does."""

    row: ApiToken
    expires_at: datetime
    state: str  # "active", "expired" or "revoked"


def token_lines(user: User) -> list[TokenLine]:
    now = utcnow()
    lines = []
    for row in tokens_of(user):
        state = ("revoked" if row.revoked_at is not None
                 else "expired" if is_expired(row, now) else "active")
        lines.append(TokenLine(row, expires_at(row), state))
    return lines


