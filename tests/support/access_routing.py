"""Write routes of the routing rules (交办规则): district staff their district's, city staff any."""

from __future__ import annotations

from consult_hub.departments import routing
from tests.support.access import LOGIN, OK, Route, World, departments

RULES = {"anonymous": LOGIN, "admin": OK, "district_admin": OK, "other_district_admin": 403,
         "coordinator": 403, "other_coordinator": 403, "department": 403,
         "other_department": 403}


def _rule(world: World) -> None:
    dept_a, _dept_b = departments(world)
    world.objects["rule"] = routing.create_rule(district_id=world.district.id, keyword="矩阵",
                                                department_id=dept_a.id)


def _new_rule(world: World) -> dict[str, str]:
    dept_a, _dept_b = departments(world)
    return {"district": str(world.district.id), "category": "society", "keyword": "路灯",
            "department": str(dept_a.id), "due_days": "10"}


def _edited_rule(world: World) -> dict[str, str]:
    return {"version": str(world.rule.version), "category": "", "keyword": "电梯",
            "department": str(world.rule.department_id), "due_days": "20"}


ROUTES = [
    Route("departments.routing_create", lambda w: "/manage/departments/routing/new", RULES,
          data=_new_rule),
    Route("departments.routing_edit", lambda w: f"/manage/departments/routing/{w.rule.id}/edit",
          RULES, data=_edited_rule, setup=_rule),
    Route("departments.routing_delete",
          lambda w: f"/manage/departments/routing/{w.rule.id}/delete", RULES,
          data=lambda w: {"version": str(w.rule.version)}, setup=_rule),
]
