"""Passwords, sessions and sign-in of user accounts.

Creating and changing accounts (their role, district and platforms) is account
administration, in ``accounts/operations.py``.
"""

from __future__ import annotations

import secrets

import sqlalchemy as sa

from consult_hub.audit.operations import record
from consult_hub.auth.models import User
from consult_hub.auth.passwords import (
    check_nothing,
    hash_password,
    needs_rehash,
    password_problem,
    verify_password,
)
from consult_hub.auth.tokens import revoke_user_tokens
from consult_hub.core.db import utcnow
from consult_hub.core.errors import ValidationFailed
from consult_hub.core.i18n import gettext as _
from consult_hub.extensions import db


def new_session_token() -> str:
    return secrets.token_hex(16)


def _revoke_tokens(user: User, *, actor_id: int | None, reason: str) -> None:
    """API tokens act with the account's rights: they die when its trust changes hands."""
    revoke_user_tokens(user, actor_id=actor_id, reason=reason)


def reset_password(user: User, password: str, *, actor: User | None = None) -> None:
    """Set a new password chosen by staff; the user is signed out everywhere.

    Their API tokens are revoked, and unless they reset their own, they must choose a
    password of their own at the next sign-in: whoever set this one knows it.
    """
    problem = password_problem(password, username=user.username, name=user.name)
    if problem:
        raise ValidationFailed({"password": problem})
    by_owner = actor is not None and actor.id == user.id
    user.password_hash = hash_password(password)
    user.session_token = new_session_token()
    user.must_change_password = not by_owner
    if by_owner:
        user.password_changed_at = utcnow()
    db.session.flush()
    record("user_password_reset", user, {"password": ["（旧密码）", "（新密码）"],
                                         "signed_out": [False, True]})
    _revoke_tokens(user, actor_id=actor.id if actor else None, reason="password_reset")


def change_own_password(user: User, *, current: str, new: str) -> None:
    """The owner replaces their password: signed out elsewhere, tokens revoked, flag cleared.

    The current password is asked for so that a session left open on a shared computer
    cannot be turned into the account itself.
    """
    if not verify_password(user.password_hash, current or ""):
        raise ValidationFailed({"current": _("当前密码不正确")})
    problem = password_problem(new, username=user.username, name=user.name)
    if problem is None and new == current:
        problem = _("新密码不能与当前密码相同")
    if problem:
        raise ValidationFailed({"password": problem})
    user.password_hash = hash_password(new)
    user.session_token = new_session_token()
    user.must_change_password = False
    user.password_changed_at = utcnow()
    db.session.flush()
    record("user_password_change", user, {"password": ["（旧密码）", "（新密码）"],
                                          "signed_out": [False, True]}, actor_id=user.id)
    _revoke_tokens(user, actor_id=user.id, reason="password_change")


def sign_out_everywhere(user: User) -> None:
    """A new session token: every session and "remember me" cookie of ``user`` stops working."""
    user.session_token = new_session_token()
    db.session.flush()


def authenticate(username: str, password: str) -> User | None:
    """Return the active user with these credentials, or None; upgrade old hashes."""
    user = db.session.scalar(sa.select(User).where(User.username == username.strip()))
    if user is None:
        check_nothing(password)
        return None
    if not verify_password(user.password_hash, password) or not user.is_active:
        return None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    return user
