"""Create and change user accounts: the staff pages and the ``flask user create`` command.

The same rules serve the command (no ``actor``) and the staff pages (``actor`` is the
signed-in user, whose scope limits what they may grant). An account's districts and platforms
sit in lower folders, so account administration sits above them (docs/architecture.md);
passwords, sign-in and sessions stay in ``auth/operations.py``.
"""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa

from consult_hub.areas.models import Area, AreaLevel
from consult_hub.audit.operations import diff, record
from consult_hub.auth.models import Role, User
from consult_hub.auth.operations import new_session_token
from consult_hub.auth.passwords import hash_password, password_problem
from consult_hub.auth.scopes import (
    can_grant_department,
    can_grant_member,
    can_manage_platform,
    grantable_roles,
)
from consult_hub.auth.tokens import revoke_user_tokens
from consult_hub.core.errors import ValidationFailed
from consult_hub.core.i18n import gettext as _
from consult_hub.departments.models import Department
from consult_hub.extensions import db
from consult_hub.members.models import Member
from consult_hub.platforms.models import Platform

EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def account_values(user: User) -> dict[str, Any]:
    """The audited fields of an account (never its password or token)."""
    return {
        "username": user.username, "name": user.name, "email": user.email,
        "role": user.role, "district_id": user.district_id,
        "department_id": user.department_id, "member_id": user.member_id,
        "platform_ids": sorted(p.id for p in user.platforms), "is_active": user.is_active,
    }


def _parse_role(role: Role | str, errors: dict[str, str]) -> Role | None:
    try:
        return Role(role)
    except ValueError:
        errors["role"] = _("未知角色 %(role)s；可选 %(roles)s", role=repr(role),
                           roles=", ".join(r.value for r in Role))
        return None


def _find_district(errors: dict[str, str], code: str | None,
                   district_id: int | None) -> Area | None:
    if not code and district_id is None:
        return None
    query = sa.select(Area).where(Area.level == AreaLevel.DISTRICT)
    query = query.where(Area.code == code) if code else query.where(Area.id == district_id)
    district = db.session.scalar(query)
    if district is None:
        errors["district"] = (_("找不到区代码 %(code)s", code=code) if code
                              else _("找不到所选的区"))
    return district


def _find_department(errors: dict[str, str], code: str | None,
                     department_id: int | None) -> Department | None:
    """The department (承办单位) a contact's account is for, by its code (the command line) or
    id (the users page)."""
    if not code and department_id is None:
        return None
    query = sa.select(Department)
    query = (query.where(Department.code == code) if code
             else query.where(Department.id == department_id))
    department = db.session.scalar(query)
    if department is None:
        errors["department"] = (_("找不到代码为 %(code)s 的承办单位", code=code) if code
                                else _("找不到所选的承办单位"))
    return department


def _find_member(errors: dict[str, str], ref: str | int | None,
                 member_id: int | None) -> Member | None:
    """The member (政协委员) an account is for: by id or code (the command line's ``--member``)
    or id (the users page)."""
    if ref is None and member_id is None:
        return None
    query = sa.select(Member)
    if member_id is not None:
        query = query.where(Member.id == member_id)
    else:
        text = str(ref).strip()
        query = query.where(sa.or_(Member.code == text, *(
            [Member.id == int(text)] if text.isdigit() and len(text) < 10 else [])))
    member = db.session.scalars(query.limit(1)).first()
    if member is None:
        errors["member"] = (_("找不到委员 %(ref)s", ref=str(ref).strip()) if member_id is None
                            else _("找不到所选的委员"))
    return member


def _check_member(errors: dict[str, str], *, role: Role | None, member: Member | None,
                  actor: User | None, user: User | None = None) -> None:
    """A member's account names its member: one ``actor`` may grant (district staff: their own
    district's), serving, and without another account; no other role has one."""
    if "member" in errors:
        return
    if role is Role.MEMBER and member is None:
        errors["member"] = _("政协委员账号必须指定委员（--member）")
    elif member is not None and role is not Role.MEMBER:
        errors["member"] = _("只有政协委员账号可以指定委员")
    elif member is None:
        return
    elif actor is not None and not can_grant_member(actor, member):
        errors["member"] = _("只能为本区的委员创建账号")
    elif (user is None or user.member_id != member.id) and (owner := db.session.scalar(
            sa.select(User.username).where(User.member_id == member.id))):
        errors["member"] = _("委员%(name)s已有账号 %(username)s（每位委员一个账号）",
                             name=member.name, username=owner)
    elif not member.is_active and (user is None or user.member_id != member.id):
        errors["member"] = _("%(name)s 已不在任", name=member.name)


def _find_platforms(errors: dict[str, str], platform_ids: list[int]) -> list[Platform]:
    if not platform_ids:
        return []
    platforms = list(db.session.scalars(sa.select(Platform).where(Platform.id.in_(platform_ids))))
    missing = sorted(set(platform_ids) - {p.id for p in platforms})
    if missing:
        errors["platform"] = _("找不到平台 %(ids)s", ids=", ".join(map(str, missing)))
    return platforms


def _check_profile(errors: dict[str, str], name: str | None, email: str | None) -> None:
    if name is not None and len(name) > 64:
        errors["name"] = _("姓名不超过 64 个字符")
    if email and (len(email) > 254 or not EMAIL.fullmatch(email)):
        errors["email"] = _("请填写有效的电子邮箱地址，例如 name@example.cn")


def _check_department(errors: dict[str, str], *, role: Role | None,
                      department: Department | None, actor: User | None,
                      user: User | None = None) -> None:
    """A department's contact names their department, one ``actor`` may grant (district staff:
    their own district's departments); no other role has one."""
    if "department" in errors:
        return
    if role is Role.DEPARTMENT and department is None:
        errors["department"] = _("承办单位联系人必须指定承办单位（--department）")
    elif department is not None and role is not Role.DEPARTMENT:
        errors["department"] = _("只有承办单位联系人可以指定承办单位")
    elif department is None:
        return
    elif not department.is_active and (user is None or user.department_id != department.id):
        errors["department"] = _("承办单位%(name)s已停用", name=department.name)
    elif actor is not None and not can_grant_department(actor, department):
        errors["department"] = _("只能为本区的承办单位创建联系人账号")


def _check_assignment(errors: dict[str, str], *, role: Role | None, district: Area | None,
                      platforms: list[Platform], actor: User | None,
                      user: User | None = None, department: Department | None = None,
                      member: Member | None = None) -> None:
    """Role, district, department, member and platforms fit together, and lie within what
    ``actor`` may grant."""
    if role is Role.DISTRICT_ADMIN and district is None:
        errors.setdefault("district", _("区政协工作人员必须指定所属区（--district）"))
    if platforms and role is not Role.COORDINATOR:
        errors.setdefault("platform", _("只有平台联络员可以关联平台"))
    _check_department(errors, role=role, department=department, actor=actor, user=user)
    _check_member(errors, role=role, member=member, actor=actor, user=user)
    if actor is None or role is None:
        return  # the command line acts with full rights
    if role is Role.COORDINATOR and not platforms:
        errors.setdefault("platform", _("平台联络员至少要关联一个平台"))
    grantable = grantable_roles(actor)
    if user is None and role not in grantable:
        errors.setdefault("role", _("您不能创建%(role)s账号", role=role.label))
    moved = user is not None and (role is not user.role
                                  or (district.id if district else None) != user.district_id)
    if moved and not (role in grantable and user.role in grantable):
        errors.setdefault("role", _("只有市政协工作人员可以更改角色和所属区"))
    before = {p.id: p for p in (user.platforms if user is not None else [])}
    after = {p.id: p for p in platforms}
    changed = [p for pid, p in {**before, **after}.items() if (pid in before) != (pid in after)]
    if not all(can_manage_platform(actor, p) for p in changed):
        errors.setdefault("platform", _("只能关联或移除本区的平台"))


def create_user(
    *,
    username: str,
    password: str,
    role: Role | str,
    name: str | None = None,
    email: str | None = None,
    district_code: str | None = None,
    district_id: int | None = None,
    platform_ids: list[int] | None = None,
    department_code: str | None = None,
    department_id: int | None = None,
    member_ref: str | None = None,
    member_id: int | None = None,
    actor: User | None = None,
) -> User:
    """Validate and add a user to the session (the caller commits).

    A department's contact (role ``department``) names their department by code (the command
    line's ``--department``) or id (the users page); a member (role ``member``) their Member
    record by id or code (``--member``) or id (the users page), one account per member."""
    errors: dict[str, str] = {}
    username = (username or "").strip()
    name = (name or "").strip() or None
    email = (email or "").strip() or None
    parsed_role = _parse_role(role, errors)
    if not username or len(username) > 64:
        errors["username"] = _("用户名不能为空，且不超过 64 个字符")
    elif db.session.scalar(sa.select(User.id).where(User.username == username)):
        errors["username"] = _("用户名 %(username)s 已存在", username=username)
    problem = password_problem(password, username=username, name=name)
    if problem:
        errors["password"] = problem
    _check_profile(errors, name, email)
    district = _find_district(errors, district_code, district_id)
    platforms = _find_platforms(errors, platform_ids or [])
    department = _find_department(errors, department_code, department_id)
    member = _find_member(errors, member_ref, member_id)
    _check_assignment(errors, role=parsed_role, district=district, platforms=platforms,
                      actor=actor, department=department, member=member)
    if errors:
        raise ValidationFailed(errors)
    user = User(
        username=username,
        name=name or (member.name if member is not None else username),
        email=email,
        password_hash=hash_password(password),
        role=parsed_role,
        district=district,
        department=department,
        member=member,
        session_token=new_session_token(),
        is_active=True,
        must_change_password=True,  # someone else chose it: the owner picks their own first
    )
    user.platforms = platforms
    db.session.add(user)
    db.session.flush()
    record("user_create", user, diff({}, account_values(user)))
    return user


def _active_admins() -> int:
    return db.session.scalar(
        sa.select(sa.func.count(User.id)).where(User.role == Role.ADMIN, User.is_active.is_(True))
    ) or 0


def update_user(
    user: User,
    *,
    name: str,
    email: str | None,
    role: Role | str,
    district_id: int | None,
    platform_ids: list[int],
    actor: User,
    department_id: int | None = None,
    member_id: int | None = None,
) -> None:
    """Change an account's profile, role, district, department, member and platforms; audited
    with before/after."""
    errors: dict[str, str] = {}
    name = (name or "").strip()
    email = (email or "").strip() or None
    if not name:
        errors["name"] = _("请填写姓名")
    _check_profile(errors, name, email)
    parsed_role = _parse_role(role, errors)
    district = _find_district(errors, None, district_id)
    platforms = _find_platforms(errors, platform_ids)
    department = _find_department(errors, None, department_id)
    member = _find_member(errors, None, member_id)
    _check_assignment(errors, role=parsed_role, district=district, platforms=platforms,
                      actor=actor, user=user, department=department, member=member)
    if (user.role is Role.ADMIN and parsed_role is not Role.ADMIN and user.is_active
            and _active_admins() <= 1):
        errors["role"] = _("这是最后一位在用的市政协工作人员，不能更改其角色")
    if errors:
        raise ValidationFailed(errors)
    before = account_values(user)
    user.name, user.email, user.role = name, email, parsed_role
    user.district = district
    user.department = department
    user.member = member
    user.platforms = sorted(platforms, key=lambda p: p.name)
    db.session.flush()
    changes = diff(before, account_values(user))
    if changes:
        record("user_update", user, changes)


def set_user_active(user: User, active: bool, *, actor: User) -> None:
    """Deactivate (signing the user out everywhere) or reactivate an account."""
    if user.is_active == active:
        return
    if not active and user.id == actor.id:
        raise ValidationFailed({"is_active": _("不能停用自己的账号")})
    if not active and user.role is Role.ADMIN and _active_admins() <= 1:
        raise ValidationFailed({"is_active": _("这是最后一位在用的市政协工作人员，不能停用")})
    before = account_values(user)
    user.is_active = active
    if not active:
        user.session_token = new_session_token()
    db.session.flush()
    record("user_deactivate" if not active else "user_reactivate", user,
           diff(before, account_values(user)))
    if not active:
        revoke_user_tokens(user, actor_id=actor.id, reason="deactivated")
