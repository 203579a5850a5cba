"""Write routes of the reference-data pages: areas, departments, members and user accounts."""

from __future__ import annotations

from consult_hub.auth.tokens import issue_token
from tests.support import factories
from tests.support.access import LOGIN, OK, Route, World

CITY_ONLY = {"anonymous": LOGIN, "admin": OK, "district_admin": 403,
             "other_district_admin": 403, "coordinator": 403, "other_coordinator": 403,
             "department": 403, "other_department": 403}
DISTRICT_STAFF = {"anonymous": LOGIN, "admin": OK, "district_admin": OK,
                  "other_district_admin": 403, "coordinator": 403, "other_coordinator": 403,
                  "department": 403, "other_department": 403}
# Another district's staff may not put a platform of this district in an account: the field says so.
CITY_STAFF = {**DISTRICT_STAFF, "district_admin": 403}
NEW_ACCOUNT = {**DISTRICT_STAFF, "other_district_admin": 422}


def _department(world: World) -> None:
    world.objects["department"] = factories.department(district_id=world.district.id)


def _member(world: World) -> None:
    world.objects["member"] = factories.member(district_id=world.district.id)


def _account(world: World) -> None:
    world.objects["account"] = factories.user("coordinator", platform_ids=[world.platform.id])


def _spanning(world: World) -> None:
    """A coordinator of a platform in each district: city staff's to manage, no district's."""
    world.objects["account"] = factories.user(
        "coordinator", platform_ids=[world.platform.id, world.other_platform.id])


def _account_token(world: World) -> None:
    _account(world)
    world.objects["account_token"], _secret = issue_token(world.account, "矩阵")


def _department_data(world: World) -> dict[str, str]:
    return {"code": "NEW-01", "name": "新建的承办单位", "district": str(world.district.id)}


def _member_data(world: World) -> dict[str, str]:
    return {"name": "张新", "sector": "教育界", "level": "district",
            "district": str(world.district.id)}


PASSWORD = {"password": "a-new-password", "confirm": "a-new-password"}

ROUTES = [
    Route("areas.create", lambda w: "/manage/areas/new", CITY_ONLY,
          data=lambda w: {"code": "NEW-D", "name": "新区", "level": "district", "parent": ""}),
    Route("areas.edit", lambda w: f"/manage/areas/{w.district.id}/edit", CITY_ONLY,
          data=lambda w: {"code": w.district.code, "name": "改名区", "level": "district",
                          "parent": ""}),
    Route("departments.create", lambda w: "/manage/departments/new", DISTRICT_STAFF,
          data=_department_data),
    Route("departments.edit", lambda w: f"/manage/departments/{w.department.id}/edit",
          DISTRICT_STAFF, data=_department_data, setup=_department),
    Route("departments.deactivate", lambda w: f"/manage/departments/{w.department.id}/deactivate",
          DISTRICT_STAFF, setup=_department),
    Route("departments.reactivate", lambda w: f"/manage/departments/{w.department.id}/reactivate",
          DISTRICT_STAFF, setup=_department),
    Route("members.create", lambda w: "/manage/members/new", DISTRICT_STAFF, data=_member_data),
    Route("members.edit", lambda w: f"/manage/members/{w.member.id}/edit", DISTRICT_STAFF,
          data=_member_data, setup=_member),
    Route("members.deactivate", lambda w: f"/manage/members/{w.member.id}/deactivate",
          DISTRICT_STAFF, setup=_member),
    Route("members.reactivate", lambda w: f"/manage/members/{w.member.id}/reactivate",
          DISTRICT_STAFF, setup=_member),
    Route("users.create", lambda w: "/manage/users/new", NEW_ACCOUNT,
          data=lambda w: {"username": "new_coordinator", "name": "新联络员", "role": "coordinator",
                          "district": "", "platforms": [str(w.platform.id)], **PASSWORD}),
    Route("users.edit", lambda w: f"/manage/users/{w.account.id}/edit", DISTRICT_STAFF,
          data=lambda w: {"name": "改名联络员", "email": "li@example.cn", "role": "coordinator",
                          "district": "", "platforms": [str(w.platform.id)]},
          setup=_account),
    Route("users.deactivate", lambda w: f"/manage/users/{w.account.id}/deactivate",
          DISTRICT_STAFF, setup=_account),
    Route("users.reactivate", lambda w: f"/manage/users/{w.account.id}/reactivate",
          DISTRICT_STAFF, setup=_account),
    Route("users.password", lambda w: f"/manage/users/{w.account.id}/password", DISTRICT_STAFF,
          data=lambda w: dict(PASSWORD), setup=_account),
    # A coordinator spanning two districts: neither district's staff may take the account over.
    Route("users.password", lambda w: f"/manage/users/{w.account.id}/password", CITY_STAFF,
          data=lambda w: dict(PASSWORD), setup=_spanning, name="users.password-two-districts"),
    Route("users.edit", lambda w: f"/manage/users/{w.account.id}/edit", CITY_STAFF,
          data=lambda w: {"name": "改名联络员", "email": "", "role": "coordinator",
                          "district": "", "platforms": [str(w.platform.id),
                                                        str(w.other_platform.id)]},
          setup=_spanning, name="users.edit-two-districts"),
    Route("users.deactivate", lambda w: f"/manage/users/{w.account.id}/deactivate",
          CITY_STAFF, setup=_spanning, name="users.deactivate-two-districts"),
    Route("users.revoke_token_of",
          lambda w: f"/manage/users/{w.account.id}/tokens/{w.account_token.id}/revoke",
          DISTRICT_STAFF, setup=_account_token),
]
