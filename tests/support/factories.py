"""Builders with defaults: each adds one object (and what it needs) to the session."""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa

from consult_hub.auth.passwords import hash_password
from consult_hub.core.db import utcnow
from consult_hub.extensions import db
from consult_hub.issues.operations import create_issue
from consult_hub.models import (
    Area,
    AreaLevel,
    Category,
    Department,
    Event,
    EventStatus,
    IssueKind,
    IssueSource,
    Member,
    MemberLevel,
    Platform,
    PlatformKind,
    Role,
    User,
)

_seq = itertools.count(1)
_PASSWORD_HASHES: dict[str, str] = {}


def _n() -> int:
    return next(_seq)


def district(code: str | None = None, name: str | None = None) -> Area:
    n = _n()
    area = Area(code=code or f"D{n}", name=name or f"测试区{n}", level=AreaLevel.DISTRICT)
    db.session.add(area)
    db.session.flush()
    return area


def community(district_id: int | None = None) -> Area:
    n = _n()
    parent = db.session.get(Area, district_id) if district_id else district()
    street = Area(code=f"S{n}", name=f"测试街道{n}", level=AreaLevel.STREET, parent=parent)
    area = Area(code=f"C{n}", name=f"测试社区{n}", level=AreaLevel.COMMUNITY, parent=street)
    db.session.add_all([street, area])
    db.session.flush()
    return area


def platform(district_id: int | None = None, **kwargs: Any) -> Platform:
    n = _n()
    area = community(district_id)
    district_area = area.parent.parent
    values: dict[str, Any] = dict(
        code=f"P{n}", name=f"测试协商议事室{n}", kind=PlatformKind.CONSULT_ROOM,
        area_id=area.id, district_id=district_area.id, address=f"测试路{n}号",
        established_on=date(2023, 1, 1),
    )
    values.update(kwargs)
    obj = Platform(**values)
    db.session.add(obj)
    db.session.flush()
    return obj


def user(role: Role | str = Role.ADMIN, password: str | None = None, *,
         district_id: int | None = None, platform_ids: list[int] | None = None,
         **kwargs: Any) -> User:
    from tests.support.auth import TEST_PASSWORD

    password = password or TEST_PASSWORD
    if password not in _PASSWORD_HASHES:  # argon2 is slow on purpose; hash once per run
        _PASSWORD_HASHES[password] = hash_password(password)
    role = Role(role)
    if role is Role.DISTRICT_ADMIN and district_id is None:
        district_id = district().id
    if role is Role.DEPARTMENT and kwargs.get("department_id") is None:
        kwargs["department_id"] = department().id  # a department's contact needs one
    n = _n()
    obj = User(username=kwargs.pop("username", f"user{n}"), name=kwargs.pop("name", f"用户{n}"),
               password_hash=_PASSWORD_HASHES[password], role=role, district_id=district_id,
               session_token=f"token{n}", **kwargs)
    if platform_ids:
        obj.platforms = list(db.session.scalars(sa.select(Platform).where(
            Platform.id.in_(platform_ids))))
    db.session.add(obj)
    db.session.flush()
    return obj


def department(district_id: int | None = None, **kwargs: Any) -> Department:
    n = _n()
    obj = Department(code=kwargs.pop("code", f"DEPT{n}"), name=kwargs.pop("name", f"测试局{n}"),
                     district_id=district_id, **kwargs)
    db.session.add(obj)
    db.session.flush()
    return obj


def department_user(department_id: int | None = None, **kwargs: Any) -> User:
    """A department's contact (承办单位联系人); of a new department unless one is given."""
    return user(Role.DEPARTMENT, department_id=department_id, **kwargs)


def member(**kwargs: Any) -> Member:
    n = _n()
    values: dict[str, Any] = dict(name=f"委员{n}", sector="社会福利和社会保障界",
                                  level=MemberLevel.DISTRICT)
    values.update(kwargs)
    obj = Member(**values)
    db.session.add(obj)
    db.session.flush()
    return obj


def event(platform_id: int | None = None, **kwargs: Any) -> Event:
    start = utcnow() + timedelta(days=3)
    values: dict[str, Any] = dict(
        platform_id=platform_id or platform().id, topic="老旧小区加装电梯协商",
        category=Category.SOCIETY, starts_at=start, ends_at=start + timedelta(hours=2),
        location="社区党群服务中心", status=EventStatus.PLANNED,
    )
    values.update(kwargs)
    if values["status"] in (EventStatus.HELD, EventStatus.CONCLUDED):
        values.setdefault("held_at", values["ends_at"])
    obj = Event(**values)
    db.session.add(obj)
    db.session.flush()
    return obj


def issue(platform_id: int | None = None, **kwargs: Any):
    target = db.session.get(Platform, platform_id) if platform_id else platform()
    values: dict[str, Any] = dict(
        title="小区停车难", description="晚上车位不足，车辆占用消防通道。",
        kind=IssueKind.DOORSTEP, category=Category.SOCIETY, source=IssueSource.EVENT,
    )
    values.update(kwargs)
    return create_issue(platform=target, **values)
