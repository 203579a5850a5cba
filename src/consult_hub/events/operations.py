"""Writes on events. Each validates, changes, flushes and audits; the caller commits once."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import IO, Any

from flask import current_app

from consult_hub.audit.operations import diff, record
from consult_hub.core.categories import Category
from consult_hub.core.conflicts import check_version, values_of
from consult_hub.core.db import utcnow
from consult_hub.core.errors import ValidationFailed
from consult_hub.core.i18n import lazy_gettext as _l
from consult_hub.events import lifecycle, photos
from consult_hub.events.models import (
    HAPPENED_STATUSES,
    Event,
    EventAttendance,
    EventFormat,
    EventPhoto,
    EventStatus,
)
from consult_hub.events.queries import platform_members_of
from consult_hub.extensions import db
from consult_hub.platforms.models import Platform, PlatformStatus

SCHEDULE_FIELDS = ("starts_at", "ends_at", "location")  # a change here is a reschedule
ATTENDANCE_NOTE_MAX = 200
# An 11-digit mainland mobile number: how to attend is public (page, calendar, API), and a
# coordinator's own mobile is personal data; a platform's landline or a place is what fits.
MOBILE_NUMBER = re.compile(r"(?<!\d)1[3-9]\d(?:[ -]?\d){8}(?!\d)")


def _parse_enum(errors: dict[str, str], name: str, enum_cls: type, value: Any) -> Any:
    try:
        return enum_cls(value)
    except ValueError:
        errors[name] = _l("请选择有效的选项")
        return None


def _event_values(errors: dict[str, str], values: dict[str, Any]) -> dict[str, Any]:
    """Clean the plan/edit fields; errors go into ``errors`` under the field's name."""
    topic = (values.get("topic") or "").strip()
    if not topic:
        errors["topic"] = _l("请填写议题")
    elif len(topic) > 200:
        errors["topic"] = _l("议题不超过 200 个字符")
    cleaned = {
        "topic": topic,
        "category": _parse_enum(errors, "category", Category, values.get("category")),
        "format": _parse_enum(errors, "format", EventFormat, values.get("format")),
        "starts_at": values.get("starts_at"),
        "ends_at": values.get("ends_at"),
        "location": (values.get("location") or "").strip(),
        "attendance": _attendance(errors, values.get("attendance")),
        "attendance_note": _attendance_note(errors, values.get("attendance_note")),
        "agenda": (values.get("agenda") or "").strip() or None,
    }
    if len(cleaned["location"]) > 200:
        errors["location"] = _l("地点不超过 200 个字符")
    _check_times(errors, cleaned["starts_at"], cleaned["ends_at"])
    return cleaned


def _attendance(errors: dict[str, str], value: Any) -> EventAttendance | None:
    """Blank (or absent: an older API client, a file without the column) is "not stated"."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return _parse_enum(errors, "attendance", EventAttendance,
                       value.strip() if isinstance(value, str) else value)


def _attendance_note(errors: dict[str, str], value: Any) -> str | None:
    note = " ".join(str(value or "").split())
    if len(note) > ATTENDANCE_NOTE_MAX:
        errors["attendance_note"] = _l("参加方式不超过 %(n)s 个字符", n=ATTENDANCE_NOTE_MAX)
    elif MOBILE_NUMBER.search(note):
        errors["attendance_note"] = _l("参加方式会公开显示，请不要填写个人手机号；"
                                       "可以写平台的公开电话或报名地点")
    return note or None


def _same_minute(a: datetime | None, b: datetime | None) -> bool:
    if a is None or b is None:
        return a is b
    return a.replace(second=0, microsecond=0) == b.replace(second=0, microsecond=0)


def _check_times(errors: dict[str, str], starts_at: datetime | None,
                 ends_at: datetime | None) -> None:
    if starts_at is None:
        errors["starts_at"] = _l("请填写开始时间")
    if ends_at is None:
        errors["ends_at"] = _l("请填写结束时间")
    if starts_at is not None and ends_at is not None and ends_at <= starts_at:
        errors["ends_at"] = _l("结束时间应晚于开始时间")


def plan_event(platform: Platform, *, actor_id: int | None, is_past: bool = False,
               now: datetime | None = None, **values: Any) -> Event:
    """Plan an event at ``platform`` (or log one that already happened, with ``is_past``)."""
    now = now or utcnow()
    errors: dict[str, str] = {}
    if platform.status is not PlatformStatus.ACTIVE:
        errors["platform"] = _l("平台“%(name)s”当前为“%(status)s”，不能安排新活动",
                                name=platform.name, status=platform.status.label)
    cleaned = _event_values(errors, values)
    starts_at = cleaned["starts_at"]
    if starts_at is not None and "starts_at" not in errors:
        if is_past and starts_at > now:
            errors["starts_at"] = _l("补录的活动应当已经开始：开始时间不能晚于现在")
        elif not is_past and starts_at < now:
            errors["starts_at"] = _l("开始时间已经过去。如果活动已经举行，请勾选下面的"
                                     "“补录已经举行的活动”，保存后填写纪要")
    if errors:
        raise ValidationFailed(errors)
    cleaned["location"] = cleaned["location"] or platform.address
    event = Event(platform_id=platform.id, status=EventStatus.PLANNED, created_by_id=actor_id,
                  created_at=now, updated_at=now, **cleaned)
    db.session.add(event)
    db.session.flush()
    record("event_create", event,
           diff({}, {"platform_id": platform.id, "status": event.status, **cleaned}),
           actor_id=actor_id)
    return event


def update_event(event: Event, *, version: Any = None, original: str | None = None,
                 actor_id: int | None, now: datetime | None = None, **values: Any) -> Event:
    """Change a planned event opened at ``version``; a new time or place bumps ``sequence``
    for calendar clients. Raises EditConflict when someone saved since (``original``: the
    values the editor started from, to say what they changed)."""
    check_version(event, version=version, original=original, fields=list(values))
    now = now or utcnow()
    errors: dict[str, str] = {}
    try:
        lifecycle.expect(event, lifecycle.EDITABLE)
    except ValidationFailed as refused:
        errors.update(refused.errors)
    cleaned = _event_values(errors, values)
    starts_at = cleaned["starts_at"]
    if (starts_at is not None and "starts_at" not in errors
            and not _same_minute(starts_at, event.starts_at) and starts_at < now):
        errors["starts_at"] = _l("新的开始时间已经过去；请填写将来的时间")
    if errors:
        raise ValidationFailed(errors)
    cleaned["location"] = cleaned["location"] or event.platform.address
    for name in ("starts_at", "ends_at"):
        # The form shows minutes only: an unchanged time is not a reschedule.
        if _same_minute(cleaned[name], getattr(event, name)):
            cleaned[name] = getattr(event, name)
    before = values_of(event, [*cleaned, "sequence"])
    for name, value in cleaned.items():
        setattr(event, name, value)
    moved = values_of(event, list(SCHEDULE_FIELDS))
    if any(before[name] != moved[name] for name in SCHEDULE_FIELDS):
        event.sequence += 1
    changes = diff(before, values_of(event, [*cleaned, "sequence"]))
    if changes:
        event.updated_at = now
        db.session.flush()
        record("event_update", event, changes, actor_id=actor_id)
    return event


def record_held(event: Event, *, starts_at: datetime | None, ends_at: datetime | None,
                minutes: str, attendee_ids: Iterable[int], resident_count: int,
                department_count: int, expert_count: int, opinions: str | None,
                actor_id: int | None, now: datetime | None = None, version: Any = None,
                other_errors: Mapping[str, Any] | None = None) -> Event:
    """Mark a planned event held with its minutes and attendance.

    ``other_errors`` are what the caller found wrong in the rest of the same record (the
    problems raised at the event, ``issues/operations.py``'s ``record_held``): they are
    raised together with the event's own, and nothing changes unless there are none.
    Everything is checked before anything changes; the caller commits once.
    """
    check_version(event, version=version)
    now = now or utcnow()
    errors: dict[str, str] = {}
    try:
        lifecycle.expect(event, lifecycle.TRANSITIONS["record"].sources)
    except ValidationFailed as refused:
        errors.update(refused.errors)
    _check_times(errors, starts_at, ends_at)
    if starts_at is not None and "starts_at" not in errors and starts_at > now:
        errors["starts_at"] = _l("活动还没有开始（开始时间在将来），不能记为已举行；"
                                 "如果时间有变，请填写实际开始时间")
    minutes = (minutes or "").strip()
    if not minutes:
        errors["minutes"] = _l("请填写纪要")
    counts = {"resident_count": resident_count, "department_count": department_count,
              "expert_count": expert_count}
    for name, value in counts.items():
        if value is None or value < 0:
            errors[name] = _l("请填写 0 或正整数")
    members = {m.id: m for m in platform_members_of(event.platform_id)}
    chosen = sorted(set(attendee_ids))
    strangers = [member_id for member_id in chosen if member_id not in members]
    if strangers:
        errors["attendees"] = _l("所选委员中有 %(n)s 位不是本平台的下沉委员，请重新选择",
                                 n=len(strangers))
    errors.update(other_errors or {})
    if errors:
        raise ValidationFailed(errors)
    if _same_minute(starts_at, event.starts_at):
        starts_at = event.starts_at
    if _same_minute(ends_at, event.ends_at):
        ends_at = event.ends_at

    fields = ["status", "starts_at", "ends_at", "minutes", "opinions", "resident_count",
              "department_count", "expert_count", "held_at", "sequence"]
    before = {**values_of(event, fields), "attendees": sorted(m.id for m in event.attendees)}
    if (starts_at, ends_at) != (event.starts_at, event.ends_at):
        event.sequence += 1
    event.starts_at, event.ends_at = starts_at, ends_at
    held = lifecycle.changes("record", {
        "minutes": minutes, "opinions": (opinions or "").strip(), **counts}, now)
    for name, value in held.items():
        setattr(event, name, value)
    event.attendees = [members[member_id] for member_id in chosen]
    event.updated_at = now
    db.session.flush()
    after = {**values_of(event, fields), "attendees": chosen}
    record("event_record", event, diff(before, after), actor_id=actor_id)
    return event


def conclude_event(event: Event, *, outcome: str, actor_id: int | None,
                   now: datetime | None = None, version: Any = None) -> Event:
    """Feed the outcome back (成果转化): held → concluded."""
    check_version(event, version=version)
    now = now or utcnow()
    lifecycle.expect(event, lifecycle.TRANSITIONS["conclude"].sources)
    outcome = (outcome or "").strip()
    if not outcome:
        raise ValidationFailed({"outcome": _l("请填写成果转化情况")})
    return _move(event, "conclude", actor_id=actor_id, now=now, outcome=outcome)


def cancel_event(event: Event, *, reason: str, actor_id: int | None,
                 now: datetime | None = None, version: Any = None) -> Event:
    """Call off a planned event, saying why: planned → cancelled."""
    check_version(event, version=version)
    now = now or utcnow()
    lifecycle.expect(event, lifecycle.TRANSITIONS["cancel"].sources)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed({"cancel_reason": _l("请填写取消原因")})
    return _move(event, "cancel", actor_id=actor_id, now=now, reason=reason)


def _move(event: Event, action: str, *, actor_id: int | None, now: datetime,
          **values: Any) -> Event:
    """Take a lifecycle step with its effect, and audit the change."""
    changes = lifecycle.changes(action, values, now)
    if lifecycle.TRANSITIONS[action].reschedules:
        changes["sequence"] = event.sequence + 1
    fields = list(changes)
    before = values_of(event, fields)
    for name, value in changes.items():
        setattr(event, name, value)
    event.updated_at = now
    db.session.flush()
    record(f"event_{action}", event, diff(before, values_of(event, fields)), actor_id=actor_id)
    return event


def add_photo(event: Event, *, stream: IO[bytes] | None, filename: str | None,
              caption: str | None, actor_id: int | None,
              now: datetime | None = None) -> EventPhoto:
    """Check, clean and store an uploaded photo of a held event.

    The file is written before the row; if the transaction then fails, the caller
    removes it (``photos.remove(photo.stored_name)``).
    """
    lifecycle.expect(event, HAPPENED_STATUSES)
    if stream is None or not filename:
        raise ValidationFailed({"photo": _l("请选择一张照片")})
    caption = (caption or "").strip() or None
    if caption and len(caption) > 200:
        raise ValidationFailed({"caption": _l("说明不超过 200 个字符")})
    data = photos.read_limited(stream, current_app.config["MAX_PHOTO_BYTES"])
    image = photos.clean_image(data)
    stored_name = photos.store(image)
    photo = EventPhoto(event_id=event.id, stored_name=stored_name,
                       original_name=filename[-255:], caption=caption,
                       content_type=image.content_type, size=len(image.data),
                       width=image.width, height=image.height, uploaded_by_id=actor_id,
                       created_at=now or utcnow())
    db.session.add(photo)
    db.session.flush()
    record("event_photo_add", photo,
           diff({}, {"event_id": event.id, "caption": caption, "content_type": image.content_type,
                     "size": photo.size, "width": photo.width, "height": photo.height}),
           actor_id=actor_id)
    return photo


def delete_photo(photo: EventPhoto, *, actor_id: int | None) -> str:
    """Delete a photo's row; returns the stored file name to remove once committed."""
    record("event_photo_delete", photo,
           diff({"event_id": photo.event_id, "caption": photo.caption,
                 "stored_name": photo.stored_name}, {}),
           actor_id=actor_id)
    stored_name = photo.stored_name
    db.session.delete(photo)
    db.session.flush()
    return stored_name
