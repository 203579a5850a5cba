"""The access matrix: every write route × every role → the status it must answer.

Each feature lists its write routes in a ``tests/support/access_<feature>.py`` module as
``ROUTES``; ``tests/security/test_access_matrix.py`` runs every route for every role against
the same world (built once, each case in a savepoint rolled back afterwards), and fails when a
POST route in the URL map is missing from the lists.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from consult_hub.extensions import db
from tests.support import factories
from tests.support.world import World

# "department" is a contact of department A (承办单位联系人), "other_department" of department
# B, both departments of the first district: problems in the matrix are assigned to A.
# "member" and "other_member" are members (政协委员) with accounts, of the first district,
# serving the first and the second platform: "member" is the proposer of the matrix's
# proposals (and the author of its opinion reports).
ROLES = ("anonymous", "admin", "district_admin", "other_district_admin", "coordinator",
         "other_coordinator", "department", "other_department", "member", "other_member")
MEMBER_ROLES = ("member", "other_member")
OK = "ok"  # any status below 400 (a redirect after a successful write, usually)
LOGIN = "login"  # a redirect to the login page
# The world's objects that ``reload_world`` brings back (built once, before every case).
KEPT_OBJECTS = ("dept_a", "dept_b", "member_a", "member_b")


def departments(world: World) -> tuple[Any, Any]:
    """Departments A and B of the first district, with a contact of each (the "department" and
    "other_department" roles), made the first time they are asked for: the matrix's world has
    them from the start, a world built for one route (tests/security/test_hostile_input.py)
    gets them from the route's setup."""
    if "dept_a" not in world.objects:
        world.objects["dept_a"] = factories.department(district_id=world.district.id,
                                                       name="矩阵承办单位甲")
        world.objects["dept_b"] = factories.department(district_id=world.district.id,
                                                       name="矩阵承办单位乙")
    dept_a, dept_b = world.objects["dept_a"], world.objects["dept_b"]
    if "department" not in world.users:
        world.users["department"] = factories.department_user(dept_a.id,
                                                               username="m_department")
        world.users["other_department"] = factories.department_user(
            dept_b.id, username="m_other_department")
    return dept_a, dept_b


def members(world: World) -> tuple[Any, Any]:
    """Members A and B (政协委员) of the first district with an account each (the "member" and
    "other_member" roles), A serving the first platform and B the second; made the first time
    they are asked for, as ``departments``."""
    from consult_hub.platforms.models import platform_members

    if "member_a" not in world.objects:
        member_a = factories.member(name="矩阵委员甲", district_id=world.district.id)
        member_b = factories.member(name="矩阵委员乙", district_id=world.district.id)
        db.session.execute(platform_members.insert(), [
            {"platform_id": world.platform.id, "member_id": member_a.id},
            {"platform_id": world.other_platform.id, "member_id": member_b.id}])
        world.objects["member_a"], world.objects["member_b"] = member_a, member_b
    member_a, member_b = world.objects["member_a"], world.objects["member_b"]
    if "member" not in world.users:
        world.users["member"] = factories.user("member", member_id=member_a.id,
                                               username="m_member")
        world.users["other_member"] = factories.user("member", member_id=member_b.id,
                                                     username="m_other_member")
    return member_a, member_b


def with_departments(world: World) -> None:
    """The matrix's world: the base world, departments A and B and a contact of each, members
    A and B with their accounts."""
    departments(world)
    members(world)


def world_keys(world: World) -> dict[str, Any]:
    """What ``reload_world`` needs to find a committed world again: classes and ids."""
    def key(obj: Any) -> tuple[type, int]:
        return type(obj), obj.id

    return {"district": key(world.district), "other_district": key(world.other_district),
            "platform": key(world.platform), "other_platform": key(world.other_platform),
            "users": {role: key(user) for role, user in world.users.items()},
            "objects": {name: key(world.objects[name]) for name in KEPT_OBJECTS
                        if name in world.objects}}


def reload_world(keys: dict[str, Any]) -> World:
    """The committed world again, read into the current session (to be changed by a setup).

    One SELECT a class (5) rather than one an object (17): the matrix reloads the world for
    each of its 1,080 cases, and this took 3.5 s of CPU a run, 2.1 s now.
    """
    everything = [keys["district"], keys["other_district"], keys["platform"],
                  keys["other_platform"], *keys["users"].values(),
                  *keys.get("objects", {}).values()]
    ids_of: dict[type, set[int]] = {}
    for cls, id_ in everything:
        ids_of.setdefault(cls, set()).add(id_)
    loaded = {(cls, obj.id): obj for cls, ids in ids_of.items()
              for obj in db.session.scalars(sa.select(cls).where(cls.id.in_(ids)))}

    def get(key: tuple[type, int]) -> Any:
        return loaded[key]

    return World(get(keys["district"]), get(keys["other_district"]), get(keys["platform"]),
                 get(keys["other_platform"]),
                 {role: get(user) for role, user in keys["users"].items()},
                 {name: get(key) for name, key in keys.get("objects", {}).items()})


@dataclass
class Route:
    """One write route: how to call it and what each role must get."""

    endpoint: str
    path: Callable[[World], str]
    expect: dict[str, str | int]
    data: Callable[[World], dict[str, Any]] = lambda world: {}
    setup: Callable[[World], None] | None = None  # adds the objects the route acts on
    method: str = "POST"
    name: str = ""

    def __post_init__(self) -> None:
        # Members (政协委员) have their proposals and opinion reports and read problems: every
        # other write is refused to them unless a route says otherwise.
        for role in MEMBER_ROLES:
            self.expect.setdefault(role, 403)

    @property
    def id(self) -> str:
        return self.name or self.endpoint


def staff(admin: str | int = OK, district_admin: str | int = OK,
          other_district_admin: str | int = 403, coordinator: str | int = OK,
          other_coordinator: str | int = 403, anonymous: str | int = LOGIN,
          department: str | int = 403, other_department: str | int = 403,
          member: str | int = 403, other_member: str | int = 403,
          ) -> dict[str, str | int]:
    """The usual expectations of a staff write on the first platform; override per role.

    Departments' contacts work only on the problems assigned to their department, members
    (政协委员) on their own proposals and reports: refused everywhere else."""
    return {"anonymous": anonymous, "admin": admin, "district_admin": district_admin,
            "other_district_admin": other_district_admin, "coordinator": coordinator,
            "other_coordinator": other_coordinator, "department": department,
            "other_department": other_department, "member": member,
            "other_member": other_member}


def everyone(value: str | int = OK, **overrides: str | int) -> dict[str, str | int]:
    """The same expectation for every signed-in role (anonymous: the login page)."""
    return {"anonymous": LOGIN, **dict.fromkeys(ROLES[1:], value), **overrides}


def all_routes() -> list[Route]:
    """Every feature's ``ROUTES`` (``tests/support/access_*.py``), in module order."""
    import importlib
    import pkgutil

    import tests.support

    routes: list[Route] = []
    for module in sorted(m.name for m in pkgutil.iter_modules(tests.support.__path__)
                         if m.name.startswith("access_")):
        routes.extend(importlib.import_module(f"tests.support.{module}").ROUTES)
    return routes
