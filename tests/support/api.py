"""Builders shared by the API tests: a small city with something in every state, and tokens."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from flask import Flask

from consult_hub.auth.tokens import issue_token
from consult_hub.core.db import utcnow
from consult_hub.extensions import db
from consult_hub.issues.operations import change_status
from consult_hub.models import (
    Category,
    EventStatus,
    IssueKind,
    IssueSource,
    PlatformKind,
    PlatformStatus,
    User,
)
from consult_hub.tallies.compute import freeze_month
from tests.support import factories

# Planted in every private field, so a test can search responses for them.
SECRET_NAME = "保密居民甲乙丙"
SECRET_PHONE = "13912345678"
SECRET_NOTE = "内部备注只给工作人员看"
STAFF_NAME = "工作人员丁戊己"
STAFF_EMAIL = "staff-secret@example.org"


@dataclass
class ApiWorld:
    """Ids and codes of what was built; objects themselves stay in their session."""

    district_code: str = ""
    other_district_code: str = ""
    platform_id: int = 0
    other_platform_id: int = 0
    suspended_platform_id: int = 0
    department_id: int = 0
    member_ids: list[int] = field(default_factory=list)
    planned_event_ids: list[int] = field(default_factory=list)
    past_planned_event_ids: list[int] = field(default_factory=list)
    held_event_ids: list[int] = field(default_factory=list)
    event_ids: dict[str, int] = field(default_factory=dict)
    issue_refs: dict[str, str] = field(default_factory=dict)
    proposal_ids: dict[str, int] = field(default_factory=dict)  # accepted, replied, draft
    tokens: dict[str, str] = field(default_factory=dict)
    frozen_month: str = "2024-01"

    @property
    def all_refs(self) -> list[str]:
        return list(self.issue_refs.values())


def token_for(user: User, name: str = "测试令牌") -> str:
    _row, token = issue_token(user, name)
    return token


def build_world(app: Flask, *, freeze: bool = True) -> ApiWorld:
    """Two districts, platforms in every status, events and problems in every state, tokens."""
    world = ApiWorld()
    with app.test_request_context():
        district = factories.district(name="江岸测试区")
        other = factories.district(name="武昌测试区")
        world.district_code, world.other_district_code = district.code, other.code
        platform = factories.platform(district_id=district.id, is_demonstration=True,
                                      demonstration_year=2023, convener="张召集",
                                      latitude=30.6, longitude=114.3)
        other_platform = factories.platform(district_id=other.id,
                                            kind=PlatformKind.LIAISON_POINT)
        suspended = factories.platform(district_id=district.id, status=PlatformStatus.SUSPENDED)
        world.platform_id, world.other_platform_id = platform.id, other_platform.id
        world.suspended_platform_id = suspended.id
        members = [factories.member(name=f"委员{n}") for n in range(3)]
        platform.members = members
        world.member_ids = [m.id for m in members]
        department = factories.department(name="市测试局")
        world.department_id = department.id

        users = {
            "admin": factories.user("admin", name=STAFF_NAME, email=STAFF_EMAIL),
            "district_admin": factories.user("district_admin", district_id=district.id),
            "coordinator": factories.user("coordinator", platform_ids=[platform.id]),
            "other_coordinator": factories.user("coordinator",
                                                platform_ids=[other_platform.id]),
        }
        now = utcnow()
        for n in range(3):
            world.planned_event_ids.append(factories.event(
                platform_id=platform.id, created_by_id=users["admin"].id,
                starts_at=now + timedelta(days=2 + n),
                ends_at=now + timedelta(days=2 + n, hours=2)).id)
        for n in range(3):
            world.past_planned_event_ids.append(factories.event(
                platform_id=platform.id, starts_at=now - timedelta(days=3 + n),
                ends_at=now - timedelta(days=3 + n) + timedelta(hours=2)).id)
        for n in range(3):
            start = now - timedelta(days=10 + n)
            world.held_event_ids.append(factories.event(
                platform_id=platform.id, status=EventStatus.HELD, starts_at=start,
                ends_at=start + timedelta(hours=2), minutes="纪要", resident_count=12).id)
        start = now - timedelta(days=30)
        world.event_ids["concluded"] = factories.event(
            platform_id=other_platform.id, status=EventStatus.CONCLUDED, starts_at=start,
            ends_at=start + timedelta(hours=2), minutes="纪要", outcome="已落实",
            concluded_at=now, category=Category.ECOLOGY).id
        world.event_ids["cancelled"] = factories.event(
            platform_id=platform.id, status=EventStatus.CANCELLED, cancel_reason="下雨",
            cancelled_at=now).id
        world.event_ids["planned"] = world.planned_event_ids[0]
        world.event_ids["held"] = world.held_event_ids[0]

        private = {"submitter_name": SECRET_NAME, "submitter_phone": SECRET_PHONE,
                   "source": IssueSource.RESIDENT}
        refs = world.issue_refs
        received = factories.issue(platform_id=platform.id, title="路灯不亮", **private)
        refs["received"] = received.reference
        overdue_day = date.today() - timedelta(days=30)
        for name, steps in (("assigned", ["assign"]), ("in_progress", ["assign", "start"]),
                            ("resolved", ["resolve"]), ("planned", ["assign", "plan"]),
                            ("constrained", ["assign", "constrain"]),
                            ("rejected", ["reject"])):
            issue = factories.issue(platform_id=platform.id, title=f"问题{name}",
                                    kind=IssueKind.URGENT, **private)
            for step in steps:
                change_status(issue, step, actor_id=users["admin"].id,
                              **_step_values(step, department))
            refs[name] = issue.reference
        note = factories.issue(platform_id=platform.id, **private)
        change_status(note, "note", actor_id=users["admin"].id, note=SECRET_NOTE,
                      is_public=False)
        refs["noted"] = note.reference
        overdue = factories.issue(platform_id=other_platform.id, category=Category.ECONOMY)
        change_status(overdue, "assign", actor_id=None, department=department,
                      due_on=date.today() + timedelta(days=5))
        overdue.due_on = overdue_day  # as if assigned long ago
        refs["overdue"] = overdue.reference
        world.proposal_ids = _proposals(members, department, resolved=refs["resolved"])
        db.session.commit()
        if freeze:
            freeze_month(date(2024, 1, 1))
        for role, user in users.items():
            world.tokens[role] = token_for(db.session.get(User, user.id))
        db.session.commit()
    return world


def _proposals(members: list[Any], department: Any, *, resolved: str) -> dict[str, int]:
    """Proposals (提案): one being handled, one answered from a resident's problem, a draft."""
    from consult_hub.models import Issue
    from consult_hub.proposals.operations import change_status as proposal_action
    from consult_hub.proposals.operations import create_proposal

    issue = db.session.scalar(db.select(Issue).filter_by(reference=resolved))
    made = {}
    for name, kind, steps in (("accepted", "collective", ["submit", "accept"]),
                              ("replied", "joint", ["submit", "accept", "reply"]),
                              ("draft", "member", [])):
        people = ({"collective_kind": "party", "collective_name": "民建测试市委员会",
                   "lead_member_id": None, "co_member_ids": []} if kind == "collective" else
                  {"collective_kind": None, "collective_name": None,
                   "lead_member_id": members[0].id,
                   "co_member_ids": [members[1].id] if kind == "joint" else []})
        proposal = create_proposal(
            actor=None, title=f"关于{name}的提案", reasons="案由。", suggestions="建议。",
            category="society", timing="session", year=2024, proposer_kind=kind,
            issues=[issue] if name == "replied" else [], **people)
        for step in steps:
            proposal_action(proposal, step, actor=None, values={
                "accept": {"lead_department": department},
                "reply": {"outcome": "resolved", "reply": "已办理。"}}.get(step, {}))
        made[name] = proposal.id
    return made


def _step_values(step: str, department: Any) -> dict[str, Any]:
    later = date.today() + timedelta(days=20)
    return {"assign": {"department": department, "due_on": later}, "start": {},
            "resolve": {"resolution": "已修好"}, "plan": {"planned_on": later},
            "constrain": {"resolution": "资金不足"}, "reject": {"reason": "重复"}}[step]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
