"""Write routes of Open311 and of its API keys.

A submission is a resident's (or a relaying system's), open to anyone with valid data. The
API keys of integrating systems are city staff's to issue and revoke: every other role is
refused.
"""

from __future__ import annotations

from consult_hub.apikeys.operations import issue_key
from tests.support.access import OK, ROLES, Route, World, everyone

CITY_STAFF_ONLY = everyone(403, admin=OK)


def _key(world: World) -> None:
    world.objects["api_key"], _secret = issue_key(
        name="矩阵", system="矩阵热线", rate_limit="", actor_id=world.users["admin"].id)


ROUTES = [
    Route("open311.create_request", lambda w: "/open311/v2/requests.json",
          {role: OK for role in ROLES},
          data=lambda w: {"service_code": "doorstep.society", "description": "东门路灯不亮。",
                          "attribute[platform]": w.platform.code}),
    Route("apikeys.create", lambda w: "/manage/api-keys/", CITY_STAFF_ONLY,
          data=lambda w: {"name": "12345 热线", "system": "市民服务热线"}),
    Route("apikeys.revoke", lambda w: f"/manage/api-keys/{w.objects['api_key'].id}/revoke",
          CITY_STAFF_ONLY, setup=_key),
]
