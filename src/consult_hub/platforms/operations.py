"""Writes on platforms. They validate, change, flush and audit; the caller commits once."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from flask import has_request_context
from flask_login import current_user

from consult_hub.areas.models import Area, AreaLevel
from consult_hub.audit.operations import diff, record
from consult_hub.auth.models import Role, User
from consult_hub.core.conflicts import check_version, values_of
from consult_hub.core.db import utcnow
from consult_hub.core.errors import ValidationFailed
from consult_hub.core.i18n import gettext as _
from consult_hub.core.timefmt import local_today
from consult_hub.extensions import db
from consult_hub.members.models import Member
from consult_hub.platforms import queries
from consult_hub.platforms.models import (
    Platform,
    PlatformKind,
    PlatformStatus,
    PlatformStatusChange,
)

# The facts an edit form carries; also what a conflict compares and the audit diffs.
FIELDS = ["code", "name", "kind", "district_id", "area_id", "address", "latitude", "longitude",
          "convener", "established_on", "description", "is_demonstration", "demonstration_year"]
CODE_PATTERN = re.compile(r"[A-Z0-9][A-Z0-9-]{1,31}")
EARLIEST_YEAR = 1949

# action: (statuses it applies to, status it leads to)
TRANSITIONS: dict[str, tuple[frozenset[PlatformStatus], PlatformStatus]] = {
    "suspend": (frozenset({PlatformStatus.ACTIVE}), PlatformStatus.SUSPENDED),
    "close": (frozenset({PlatformStatus.ACTIVE, PlatformStatus.SUSPENDED}), PlatformStatus.CLOSED),
    "reactivate": (frozenset({PlatformStatus.SUSPENDED, PlatformStatus.CLOSED}),
                   PlatformStatus.ACTIVE),
}


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _clean(values: dict[str, Any], *, today: date,
           platform_id: int | None = None) -> dict[str, Any]:
    """Check every fact of a platform; return them ready to store or raise ValidationFailed."""
    errors: dict[str, str] = {}
    out: dict[str, Any] = {}

    code = _text(values.get("code")).upper()
    if not code:
        errors["code"] = _("请填写平台编号")
    elif not CODE_PATTERN.fullmatch(code):
        errors["code"] = _("编号只能包含字母、数字和连字符，2 到 32 个字符")
    elif queries.code_taken(code, exclude_id=platform_id):
        errors["code"] = _("编号 %(code)s 已被其他平台使用", code=code)
    out["code"] = code

    for name, label, limit, required in (("name", _("平台名称"), 120, True),
                                         ("address", _("地址"), 200, True),
                                         ("convener", _("召集人"), 64, False)):
        text = _text(values.get(name))
        if required and not text:
            errors[name] = _("请填写%(field)s", field=label)
        elif len(text) > limit:
            errors[name] = _("%(field)s不超过 %(n)s 个字符", field=label, n=limit)
        out[name] = text or None
    out["description"] = _text(values.get("description")) or None

    try:
        out["kind"] = PlatformKind(values.get("kind"))
    except ValueError:
        errors["kind"] = _("请选择平台类型")

    _clean_area(values, out, errors)
    _clean_position(values, out, errors)

    established = values.get("established_on")
    if not isinstance(established, date):
        errors["established_on"] = _("请填写成立日期")
    elif established > today:
        errors["established_on"] = _("成立日期不能晚于今天")
    out["established_on"] = established

    out["is_demonstration"] = bool(values.get("is_demonstration"))
    year = values.get("demonstration_year")
    if not out["is_demonstration"]:
        year = None  # the year belongs to the flag; unflagging clears it
    elif year is None:
        errors["demonstration_year"] = _("示范点须填写年份")
    elif not EARLIEST_YEAR <= year <= today.year:
        errors["demonstration_year"] = _("年份应在 %(low)s 到 %(high)s 之间",
                                         low=EARLIEST_YEAR, high=today.year)
    elif isinstance(established, date) and year < established.year:
        errors["demonstration_year"] = _("示范点年份不能早于成立年份 %(year)s",
                                         year=established.year)
    out["demonstration_year"] = year

    if errors:
        raise ValidationFailed(errors)
    return out


def _clean_area(values: dict[str, Any], out: dict[str, Any], errors: dict[str, str]) -> None:
    """The area must be a street or community of the chosen district; the district follows it."""
    district = db.session.get(Area, values["district_id"]) if values.get("district_id") else None
    if district is None or district.level is not AreaLevel.DISTRICT:
        errors["district_id"] = _("请选择所在区")
        return
    area = db.session.get(Area, values["area_id"]) if values.get("area_id") else None
    if area is None or area.level is AreaLevel.DISTRICT:
        errors["area_id"] = _("请选择街道或社区")
    elif queries.district_of(area) is not district:
        errors["area_id"] = _("所选街道或社区不属于%(district)s", district=district.name)
    else:
        out["area_id"], out["district_id"] = area.id, district.id


def _clean_position(values: dict[str, Any], out: dict[str, Any], errors: dict[str, str]) -> None:
    latitude, longitude = values.get("latitude"), values.get("longitude")
    if latitude is not None and not -90 <= latitude <= 90:
        errors["latitude"] = _("纬度应在 -90 到 90 之间")
    if longitude is not None and not -180 <= longitude <= 180:
        errors["longitude"] = _("经度应在 -180 到 180 之间")
    if (latitude is None) != (longitude is None):
        missing = "longitude" if longitude is None else "latitude"
        errors.setdefault(missing, _("经纬度须同时填写，或都不填"))
    out["latitude"], out["longitude"] = latitude, longitude


@dataclass(frozen=True)
class StatusChange:
    """A platform's change of status: the platform's new columns and its history row."""

    platform_values: dict[str, Any]
    history: dict[str, Any]


def status_change(platform_id: int | None, before: PlatformStatus | None,
                  after: PlatformStatus, *, effective_on: date, actor_id: int | None,
                  reason: str | None = None, now: datetime | None = None) -> StatusChange:
    """The one definition of a status change, for every path that changes a status (the
    platform pages, the import, the demo): the platform gets ``status`` and ``closed_on``
    (the day it was closed, while it is closed), its history a row effective on
    ``effective_on``. ``before`` is None for the opening (the day the platform was
    established). ``record_status_changes`` writes the history rows."""
    return StatusChange(
        {"status": after, "closed_on": effective_on if after is PlatformStatus.CLOSED else None},
        {"platform_id": platform_id, "from_status": before, "to_status": after,
         "effective_on": effective_on, "actor_id": actor_id, "reason": reason,
         "created_at": now or utcnow()})


def record_status_changes(rows: list[dict[str, Any]]) -> None:
    """Insert history rows made by ``status_change`` (each with its platform's id)."""
    for start in range(0, len(rows), 1000):
        db.session.execute(sa.insert(PlatformStatusChange), rows[start:start + 1000])


def _signed_in_id() -> int | None:
    if has_request_context() and current_user and current_user.is_authenticated:
        return int(current_user.id)
    return None


def _apply(platform: Platform, change: StatusChange) -> None:
    for name, value in change.platform_values.items():
        setattr(platform, name, value)
    record_status_changes([{**change.history, "platform_id": platform.id}])


def last_effective_on(platform_id: int) -> date | None:
    """The day the platform's latest status change (not its opening) took effect."""
    return db.session.scalar(
        sa.select(sa.func.max(PlatformStatusChange.effective_on))
        .where(PlatformStatusChange.platform_id == platform_id,
               PlatformStatusChange.from_status.is_not(None)))


def create_platform(*, today: date, **values: Any) -> Platform:
    """Add a platform (active from its founding day) from checked facts, and audit it."""
    clean = _clean(values, today=today)
    platform = Platform(status=PlatformStatus.ACTIVE, **clean)
    db.session.add(platform)
    db.session.flush()
    _apply(platform, status_change(platform.id, None, PlatformStatus.ACTIVE,
                                   effective_on=platform.established_on,
                                   actor_id=_signed_in_id()))
    record("platform_create", platform, diff({}, values_of(platform, [*FIELDS, "status"])))
    return platform


def update_platform(platform: Platform, *, version: Any, original: str | None, today: date,
                    **values: Any) -> dict[str, list[Any]]:
    """Change the facts of a platform opened at ``version``; return the audited changes.

    Raises EditConflict when someone saved since, ValidationFailed on bad input.
    """
    check_version(platform, version=version, original=original, fields=FIELDS)
    clean = _clean(values, today=today, platform_id=platform.id)
    before = values_of(platform, FIELDS)
    for name, value in clean.items():
        setattr(platform, name, value)
    changes = diff(before, values_of(platform, FIELDS))
    if changes:
        db.session.flush()
        if "established_on" in changes:  # the opening follows the founding day
            db.session.execute(
                sa.update(PlatformStatusChange)
                .where(PlatformStatusChange.platform_id == platform.id,
                       PlatformStatusChange.from_status.is_(None))
                .values(effective_on=platform.established_on))
        record("platform_update", platform, changes)
    return changes


def change_status(platform: Platform, action: str, *, reason: str | None,
                  confirm: str | None = None, effective_on: date | None = None,
                  today: date | None = None, actor_id: int | None = None) -> None:
    """Suspend, close or reactivate with a reason; closing needs the code typed again.

    ``effective_on`` is the day the change took effect (default ``today``): not in the future,
    not before the platform was established or its previous change took effect; the monthly
    tallies count the platform by its status at each month's end (docs/metrics.md).
    """
    today = today or local_today(utcnow())
    if action not in TRANSITIONS:
        raise ValidationFailed({"reason": _("未知的操作 %(action)s", action=repr(action))})
    sources, target = TRANSITIONS[action]
    errors: dict[str, str] = {}
    if platform.status not in sources:
        errors["reason"] = _("平台当前为「%(status)s」，不能执行此操作",
                             status=platform.status.label)
    reason = _text(reason)
    if not reason:
        errors.setdefault("reason", _("请说明原因"))
    elif len(reason) > 1000:
        errors.setdefault("reason", _("原因不超过 1000 个字符"))
    if action == "close" and _text(confirm).upper() != platform.code.upper():
        errors["confirm"] = _("请输入平台编号 %(code)s 以确认撤销", code=platform.code)
    effective_on = effective_on or today
    earliest = max(filter(None, (platform.established_on, last_effective_on(platform.id))))
    if effective_on > today:
        errors["effective_on"] = _("生效日期不能晚于今天")
    elif effective_on < earliest:
        errors["effective_on"] = _("生效日期不能早于 %(day)s（成立或上一次状态变更的日期）",
                                   day=earliest.isoformat())
    if errors:
        raise ValidationFailed(errors)
    before = platform.status
    _apply(platform, status_change(platform.id, before, target, effective_on=effective_on,
                                   actor_id=actor_id or _signed_in_id(), reason=reason))
    db.session.flush()
    record(f"platform_{action}", platform, {**diff({"status": before}, {"status": target}),
                                            "reason": reason})


def _people_change(platform: Platform, people: list[Any], action: str, field: str,
                   apply: Any) -> None:
    """Change one list of people and audit the ids before and after."""
    before = sorted(p.id for p in people)
    apply(people)
    db.session.flush()
    record(f"platform_{action}", platform, {field: [before, sorted(p.id for p in people)]})


def link_coordinator(platform: Platform, user: User, *, district_id: int | None) -> None:
    """Make ``user`` a coordinator of ``platform``.

    ``district_id`` limits the choice for district staff to coordinators of their district
    or coordinators with no platform yet (``None``: anyone, for city staff).
    """
    if user in platform.coordinators:
        raise ValidationFailed({"person_id": _("%(name)s 已是该平台的联络员", name=user.name)})
    if user.role is not Role.COORDINATOR:
        raise ValidationFailed({"person_id": _("%(name)s 不是平台联络员账号", name=user.name)})
    if not queries.coordinator_may_be_linked(user, district_id):
        raise ValidationFailed({"person_id": _("不能选择 %(name)s", name=user.name)})
    _people_change(platform, platform.coordinators, "link_coordinator", "coordinator_ids",
                   lambda people: people.append(user))


def unlink_coordinator(platform: Platform, user: User) -> None:
    if user not in platform.coordinators:
        raise ValidationFailed({"person_id": _("%(name)s 不是该平台的联络员", name=user.name)})
    _people_change(platform, platform.coordinators, "unlink_coordinator", "coordinator_ids",
                   lambda people: people.remove(user))


def link_member(platform: Platform, member: Member) -> None:
    """Record ``member`` as serving at ``platform`` (下沉委员)."""
    if member in platform.members:
        raise ValidationFailed({"person_id": _("%(name)s 已是该平台的下沉委员",
                                                 name=member.name)})
    if not member.is_active:
        raise ValidationFailed({"person_id": _("%(name)s 已不在任", name=member.name)})
    _people_change(platform, platform.members, "link_member", "member_ids",
                   lambda people: people.append(member))


def unlink_member(platform: Platform, member: Member) -> None:
    if member not in platform.members:
        raise ValidationFailed({"person_id": _("%(name)s 不是该平台的下沉委员",
                                                 name=member.name)})
    _people_change(platform, platform.members, "unlink_member", "member_ids",
                   lambda people: people.remove(member))
