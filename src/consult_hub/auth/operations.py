"""Create users and check their credentials."""

from __future__ import annotations

import secrets

import sqlalchemy as sa

from consult_hub.areas.models import Area, AreaLevel
from consult_hub.audit.operations import record
from consult_hub.auth.models import Role, User
from consult_hub.auth.passwords import (
    DUMMY_HASH,
    MIN_PASSWORD_LENGTH,
    hash_password,
    needs_rehash,
    verify_password,
)
from consult_hub.core.db import utcnow
from consult_hub.core.errors import ValidationFailed
from consult_hub.extensions import db
from consult_hub.platforms.models import Platform


def new_session_token() -> str:
    return secrets.token_hex(16)


def create_user(
    *,
    username: str,
    password: str,
    role: Role | str,
    name: str | None = None,
    email: str | None = None,
    district_code: str | None = None,
    platform_ids: list[int] | None = None,
) -> User:
    """Validate and add a user to the session (the caller commits)."""
    errors: dict[str, str] = {}
    username = (username or "").strip()
    try:
        role = Role(role)
    except ValueError:
        errors["role"] = f"未知角色 {role!r};可选 {', '.join(r.value for r in Role)}"
        role = None  # type: ignore[assignment]
    if not username or len(username) > 64:
        errors["username"] = "用户名不能为空,且不超过 64 个字符"
    elif db.session.scalar(sa.select(User.id).where(User.username == username)):
        errors["username"] = f"用户名 {username} 已存在"
    if len(password or "") < MIN_PASSWORD_LENGTH:
        errors["password"] = f"密码至少 {MIN_PASSWORD_LENGTH} 位"
    district = None
    if district_code:
        district = db.session.scalar(
            sa.select(Area).where(Area.code == district_code, Area.level == AreaLevel.DISTRICT)
        )
        if district is None:
            errors["district"] = f"找不到区代码 {district_code}"
    if role is Role.DISTRICT_ADMIN and not district_code:
        errors["district"] = "区政协工作人员必须指定所属区(--district)"
    platforms: list[Platform] = []
    if platform_ids:
        platforms = list(db.session.scalars(sa.select(Platform).where(Platform.id.in_(platform_ids))))
        missing = sorted(set(platform_ids) - {p.id for p in platforms})
        if missing:
            errors["platform"] = f"找不到平台 {', '.join(map(str, missing))}"
        if role is not Role.COORDINATOR and platform_ids:
            errors.setdefault("platform", "只有平台联络员可以关联平台")
    if errors:
        raise ValidationFailed(errors)
    user = User(
        username=username,
        name=name or username,
        email=email,
        password_hash=hash_password(password),
        role=role,
        district=district,
        session_token=new_session_token(),
    )
    user.platforms = platforms
    db.session.add(user)
    db.session.flush()
    record("user_create", user, {"username": username, "role": role.value})
    return user


def authenticate(username: str, password: str) -> User | None:
    """Return the active user with these credentials, or None; upgrade old hashes."""
    user = db.session.scalar(sa.select(User).where(User.username == username.strip()))
    if user is None:
        verify_password(DUMMY_HASH, password)
        return None
    if not verify_password(user.password_hash, password) or not user.is_active:
        return None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    return user
