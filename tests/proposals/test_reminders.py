"""Reminders of accepted proposals: due soon and overdue to the lead department's contacts,
overdue and key proposals to city staff, each fact once."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa

from consult_hub.extensions import db
from consult_hub.models import Department, User
from consult_hub.notifications import reminders
from consult_hub.notifications.models import Notification
from consult_hub.proposals.operations import change_status, create_proposal

NOW = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)  # 2026-03-10 in Wuhan


def _accepted(place, due_on: date, *, key: bool = False):
    proposal = create_proposal(
        actor=None, title="关于加快老旧小区改造的建议", reasons="r", suggestions="s",
        category="society", timing="session", year=2026, proposer_kind="member",
        lead_member_id=place.member_id, co_member_ids=[], collective_kind=None,
        collective_name=None, now=NOW - timedelta(days=100))
    change_status(proposal, "submit", actor=None, values={}, now=NOW - timedelta(days=99))
    change_status(proposal, "accept", actor=None, now=NOW - timedelta(days=98), values={
        "lead_department": db.session.get(Department, place.lead_department_id),
        "co_departments": [db.session.get(Department, place.co_department_id)],
        "is_key": key})
    proposal.due_on = due_on
    db.session.commit()
    return proposal


def _inbox(username: str) -> list[tuple[str, str]]:
    user = db.session.scalars(sa.select(User).where(User.username == username)).one()
    return [(n.kind, n.subject) for n in db.session.scalars(
        sa.select(Notification).where(Notification.user_id == user.id)
        .order_by(Notification.id))]


def test_due_soon_then_overdue(app, place):
    with app.test_request_context():
        proposal = _accepted(place, date(2026, 3, 13))
        assert reminders.sweep_proposal_deadlines(NOW - timedelta(days=1)) == 0
        assert reminders.sweep_proposal_deadlines(NOW) == 1  # the lead department's contact
        assert reminders.sweep_proposal_deadlines(NOW + timedelta(hours=3)) == 0
        assert reminders.sweep_proposal_deadlines(NOW + timedelta(days=4)) == 2  # + city staff
        assert reminders.sweep_proposal_deadlines(NOW + timedelta(days=5)) == 0
        assert _inbox("zhujian") == [
            ("proposal_due_soon", f"提案即将到期：{proposal.reference} {proposal.title}"),
            ("proposal_overdue", f"提案逾期未办复：{proposal.reference} {proposal.title}")]
        assert [kind for kind, _s in _inbox("liumin")] == ["proposal_overdue"]
        assert _inbox("caizheng") == []  # the co-handling department answers to the lead one
        # Once replied, nothing more.
        change_status(proposal, "reply", actor=None, now=NOW + timedelta(days=6),
                      values={"outcome": "resolved", "reply": "已办结。"})
        db.session.commit()
        assert reminders.sweep_proposal_deadlines(NOW + timedelta(days=30)) == 0


def test_key_proposals_are_tracked_by_city_staff(app, place):
    with app.test_request_context():
        _accepted(place, date(2026, 5, 1), key=True)
        assert reminders.sweep_proposal_deadlines(NOW) == 1  # the lead department hears it is key
        assert [kind for kind, _s in _inbox("zhujian")] == ["proposal_key"]
        assert reminders.sweep_proposal_deadlines(NOW + timedelta(days=49)) == 2  # due soon
        assert [kind for kind, _s in _inbox("liumin")] == ["proposal_due_soon"]
        assert reminders.sweep_reminders(NOW + timedelta(days=49))["proposal_deadlines"] == 0
