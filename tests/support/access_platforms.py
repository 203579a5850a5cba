"""Write routes of the staff platform pages: city and district staff only, never coordinators."""

from __future__ import annotations

from typing import Any

from consult_hub.platforms.models import PlatformStatus
from tests.support import factories
from tests.support.access import LOGIN, OK, Route, World, staff

# Facts, status and people are staff work: the platform's own coordinator is refused too.
MANAGERS = staff(coordinator=403)


def _facts(world: World, **changes: Any) -> dict[str, Any]:
    platform = world.platform
    values = {"code": platform.code, "name": platform.name, "kind": platform.kind.value,
              "district_id": platform.district_id, "area_id": platform.area_id,
              "address": platform.address, "established_on": "2023-01-01",
              "version": platform.version, "original": ""}
    values.update(changes)
    return values


def _suspended(world: World) -> None:
    world.platform.status = PlatformStatus.SUSPENDED


def _with_people(world: World) -> None:
    world.objects["free_coordinator"] = factories.user("coordinator", username="m_free")
    world.objects["member"] = factories.member()
    world.objects["linked_member"] = factories.member()
    world.platform.members.append(world.linked_member)


ROUTES = [
    # Creating in the first district: its staff and city staff may; the other district's
    # staff cannot pick it (their district is fixed), so the area is refused on the field.
    Route("platforms.new", lambda w: "/manage/platforms/new",
          data=lambda w: _facts(w, code="NEW-0001", name="新建的协商议事室"),
          expect={"anonymous": LOGIN, "admin": OK, "district_admin": OK,
                  "other_district_admin": 422, "coordinator": 403, "other_coordinator": 403,
                  "department": 403, "other_department": 403}),
    Route("platforms.edit", lambda w: f"/manage/platforms/{w.platform.id}/edit",
          data=lambda w: _facts(w, name="改过名字的协商议事室"), expect=MANAGERS),
    Route("platforms.change_status", lambda w: f"/manage/platforms/{w.platform.id}/suspend",
          data=lambda w: {"reason": "场地装修"}, expect=MANAGERS, name="platforms.suspend"),
    Route("platforms.change_status", lambda w: f"/manage/platforms/{w.platform.id}/close",
          data=lambda w: {"reason": "社区合并", "confirm": w.platform.code}, expect=MANAGERS,
          name="platforms.close"),
    Route("platforms.change_status", lambda w: f"/manage/platforms/{w.platform.id}/reactivate",
          data=lambda w: {"reason": "装修完成"}, setup=_suspended, expect=MANAGERS,
          name="platforms.reactivate"),
    Route("platforms.link_coordinator", lambda w: f"/manage/platforms/{w.platform.id}/coordinators",
          data=lambda w: {"person_id": w.free_coordinator.id}, setup=_with_people,
          expect=MANAGERS),
    Route("platforms.unlink_coordinator",
          lambda w: f"/manage/platforms/{w.platform.id}/coordinators/"
                    f"{w.users['coordinator'].id}/remove",
          expect=MANAGERS),
    Route("platforms.link_member", lambda w: f"/manage/platforms/{w.platform.id}/members",
          data=lambda w: {"person_id": w.member.id}, setup=_with_people, expect=MANAGERS),
    Route("platforms.unlink_member",
          lambda w: f"/manage/platforms/{w.platform.id}/members/{w.linked_member.id}/remove",
          setup=_with_people, expect=MANAGERS),
]
