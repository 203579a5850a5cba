"""Authenticate API requests by their bearer token (tokens themselves: ``auth/tokens.py``).

The session cookie never authenticates an API call: writes carry the token or get 401.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import wraps
from typing import Any, TypeVar

import sqlalchemy as sa
from flask import g, request
from sqlalchemy.orm import joinedload

from consult_hub.api.errors import ApiError
from consult_hub.auth.models import ApiToken, User
from consult_hub.auth.tokens import (
    API_TOKEN,
    CHALLENGE,
    LAST_USED_GRANULARITY,
    TOKEN_PREFIX,
    hash_token,
    is_expired,
)
from consult_hub.core.db import utcnow
from consult_hub.core.i18n import gettext as _
from consult_hub.extensions import db

F = TypeVar("F", bound=Callable[..., Any])


# --- Authentication --------------------------------------------------------------------------


def bearer_token() -> str | None:
    """The token of an ``Authorization: Bearer …`` header, if there is one."""
    scheme, _sep, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return token


def _unauthorized(message: str, *, invalid: bool) -> ApiError:
    challenge = CHALLENGE + (', error="invalid_token"' if invalid else "")
    return ApiError(401, message, headers={"WWW-Authenticate": challenge})


class TokenExpired(Exception):
    """The token was valid but has outlived API_TOKEN_DAYS."""


def user_from_token(token: str, now: datetime) -> User | None:
    """The active user a live token belongs to; notes when the token was last used.

    Raises TokenExpired for an expired token, so the caller can say so: its owner then
    knows to make a new one rather than to look for a revocation.
    """
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200 or not token.isascii():
        return None
    row = db.session.scalar(
        sa.select(ApiToken).where(ApiToken.token_hash == hash_token(token),
                                  ApiToken.revoked_at.is_(None))
        .options(joinedload(ApiToken.user)))
    if row is None or not row.user.is_active:
        return None
    if is_expired(row, now):
        raise TokenExpired
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_GRANULARITY:
        # Its own small transaction: kept even when the write that follows is refused.
        db.session.execute(sa.update(ApiToken).where(ApiToken.id == row.id)
                           .values(last_used_at=now))
        db.session.commit()
    return row.user


def token_required(view: F) -> F:
    """Authenticate the request by its bearer token (401 otherwise) and act as its user.

    The user becomes ``current_user`` for this request only (nothing goes into the
    session), so audit rows and refusals (``scopes.require``) name them.
    """

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        token = bearer_token()
        if token is None:
            raise _unauthorized(_("需要 API 令牌：Authorization: Bearer <令牌>"), invalid=False)
        try:
            user = user_from_token(token, utcnow())
        except TokenExpired:
            raise _unauthorized(_("API 令牌已过期，请在“API 令牌”页面新建一个"),
                                invalid=True) from None
        if user is None:
            raise _unauthorized(_("API 令牌无效、已吊销或其用户已停用"), invalid=True)
        g._login_user = user  # Flask-Login's per-request user; the session is left alone
        return view(*args, **kwargs)

    wrapper.access = (API_TOKEN,)
    return wrapper


def rate_limit_key() -> str:
    """Writes are limited per token (by its hash), reads per client address."""
    token = bearer_token()
    if token:
        return "api-token:" + hash_token(token)[:32]
    return "api-addr:" + (request.remote_addr or "unknown")
