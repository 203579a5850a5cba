"""Write routes of the staff event pages: the platform's coordinator, its district's staff,
city staff."""

from __future__ import annotations

from datetime import timedelta
from io import BytesIO
from typing import Any
from zoneinfo import ZoneInfo

from PIL import Image

from consult_hub.core.db import utcnow
from consult_hub.events.models import EventPhoto, EventStatus
from consult_hub.extensions import db
from tests.support import factories
from tests.support.access import Route, World, staff

SHANGHAI = ZoneInfo("Asia/Shanghai")  # the configured TIMEZONE in tests


def local_input(moment: Any) -> str:
    """A datetime as a ``datetime-local`` input sends it (the people's time zone)."""
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%dT%H:%M")


def png_bytes(size: tuple[int, int] = (8, 6)) -> bytes:
    buffer = BytesIO()
    Image.new("RGB", size, (30, 120, 200)).save(buffer, "PNG")
    return buffer.getvalue()


def _planned(world: World) -> None:
    world.objects["event"] = factories.event(platform_id=world.platform.id)


def _started(world: World) -> None:
    start = utcnow() - timedelta(hours=3)
    world.objects["event"] = factories.event(platform_id=world.platform.id, starts_at=start,
                                             ends_at=start + timedelta(hours=2))


def _held(world: World) -> None:
    start = utcnow() - timedelta(days=2)
    world.objects["event"] = factories.event(platform_id=world.platform.id, starts_at=start,
                                             ends_at=start + timedelta(hours=2),
                                             status=EventStatus.HELD, minutes="纪要")


def _with_photo(world: World) -> None:
    _held(world)
    photo = EventPhoto(event_id=world.event.id, stored_name="access-matrix.png",
                       content_type="image/png", size=10, width=8, height=6)
    db.session.add(photo)
    db.session.flush()
    world.objects["photo"] = photo


def _plan_data(world: World) -> dict[str, Any]:
    start = utcnow() + timedelta(days=5)
    return {"topic": "社区停车位规划", "category": "society", "starts_at": local_input(start),
            "ends_at": local_input(start + timedelta(hours=2)), "location": "", "format": "onsite",
            "agenda": "- 介绍情况\n- 讨论"}


def _edit_data(world: World) -> dict[str, Any]:
    event = world.event
    return {"topic": "改过的议题", "category": event.category.value,
            "starts_at": local_input(event.starts_at), "ends_at": local_input(event.ends_at),
            "location": event.location, "format": event.format.value, "agenda": "",
            "version": event.version, "original": ""}


def _record_data(world: World) -> dict[str, Any]:
    event = world.event
    return {"starts_at": local_input(event.starts_at), "ends_at": local_input(event.ends_at),
            "minutes": "讨论了停车问题。", "resident_count": "12", "department_count": "2",
            "expert_count": "0", "opinions": ""}


ROUTES = [
    Route("events.new", lambda w: f"/manage/events/new?platform={w.platform.id}",
          data=_plan_data, expect=staff()),
    Route("events.edit", lambda w: f"/manage/events/{w.event.id}/edit",
          data=_edit_data, setup=_planned, expect=staff()),
    Route("events.record", lambda w: f"/manage/events/{w.event.id}/record",
          data=_record_data, setup=_started, expect=staff()),
    Route("events.conclude", lambda w: f"/manage/events/{w.event.id}/conclude",
          data=lambda w: {"outcome": "加装了 20 个车位。"}, setup=_held, expect=staff()),
    Route("events.cancel", lambda w: f"/manage/events/{w.event.id}/cancel",
          data=lambda w: {"cancel_reason": "场地临时无法使用"}, setup=_planned, expect=staff()),
    Route("events.upload_photo", lambda w: f"/manage/events/{w.event.id}/photos",
          data=lambda w: {"photo": (BytesIO(png_bytes()), "会场.png"), "caption": "会场"},
          setup=_held, expect=staff()),
    Route("events.delete_photo", lambda w: f"/manage/events/photos/{w.photo.id}/delete",
          setup=_with_photo, expect=staff()),
]
