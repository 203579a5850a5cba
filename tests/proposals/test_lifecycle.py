"""The proposal transition table: every action from where it may start, to where it leads,
with what it needs; refusals name the field and change nothing."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from consult_hub.core.errors import ValidationFailed
from consult_hub.extensions import db
from consult_hub.models import Department, Member
from consult_hub.proposals import lifecycle
from consult_hub.proposals.lifecycle import TRANSITIONS, Party, add_months, apply
from consult_hub.proposals.models import HandlingRole, Proposal, ProposalStatus
from consult_hub.proposals.operations import change_status, create_proposal

S = ProposalStatus
NOW = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)  # 2026-03-10 10:00 in Wuhan


@pytest.fixture()
def draft(app, place):
    """Member 李明's draft, in an app context (the test changes it in the session)."""
    with app.test_request_context():
        proposal = create_proposal(
            actor=None, title="关于完善社区养老服务的建议", reasons="老人多，助餐点少。",
            suggestions="每个社区设一个助餐点。", category="society", timing="session",
            year=2026, proposer_kind="member", lead_member_id=place.member_id,
            co_member_ids=[], collective_kind=None, collective_name=None, now=NOW)
        db.session.commit()
        yield proposal


def _departments(place):
    return db.session.get(Department, place.lead_department_id), \
        db.session.get(Department, place.co_department_id)


VALUES = {
    "reply": {"outcome": "planned", "reply": "已列入计划。"},
    "rate": {"rating": "satisfied"},
    "not_accept": {"reason": "属于个案，转为意见建议。"},
    "co_opinion": {"opinion": "同意。"},
}


def _walk(proposal, place, *actions):
    lead, co = _departments(place)
    for action in actions:
        values = {"lead_department": lead, "co_departments": [co]} if action == "accept" \
            else dict(VALUES.get(action, {}))
        if action in ("co_acknowledge", "co_opinion"):
            values["department"] = co
        apply(proposal, action, values, None, NOW)
    db.session.flush()


def test_every_action_names_a_party_and_a_label():
    parties = {Party.PROPOSER, Party.STAFF, Party.CITY, Party.LEAD, Party.CO}
    for transition in TRANSITIONS.values():
        assert transition.party in parties and str(transition.label)
        assert transition.sources, transition.action
        for name in (*transition.requires, *transition.optional):
            assert name in lifecycle.FIELD_LABELS


@pytest.mark.parametrize(("actions", "status", "checks"), [
    (("submit",), S.SUBMITTED, lambda p: p.reference == "TA2026-0001" and p.submitted_at),
    (("submit", "accept"), S.ACCEPTED,
     lambda p: p.number == "2026-0001" and p.due_on == date(2026, 6, 10) and p.reviewed_at),
    (("submit", "not_accept"), S.NOT_ACCEPTED, lambda p: p.review_note.startswith("属于个案")),
    (("submit", "accept", "acknowledge"), S.ACKNOWLEDGED,
     lambda p: p.acknowledged_at and p.departments[0].acknowledged_at),
    (("submit", "accept", "co_acknowledge"), S.ACCEPTED,
     lambda p: [d.acknowledged_at is not None for d in p.departments] == [False, True]),
    (("submit", "accept", "co_opinion"), S.ACCEPTED,
     lambda p: p.departments[1].opinion == "同意。"),
    (("submit", "accept", "reply"), S.REPLIED,
     lambda p: p.outcome.letter == "B" and p.acknowledged_at and p.replied_at),
    (("submit", "accept", "reply", "rate"), S.CLOSED, lambda p: p.rating.value == "satisfied"),
    (("submit", "mark_key"), S.SUBMITTED, lambda p: p.is_key),
    (("submit", "mark_key", "unmark_key"), S.SUBMITTED, lambda p: not p.is_key),
])
def test_transition_leads_where_the_table_says(app, place, draft, actions, status, checks):
    _walk(draft, place, *actions)
    assert draft.status is status
    assert checks(draft)
    assert [u.action for u in draft.updates] == ["create", *actions]
    assert draft.updates[-1].to_status is status


def test_unsatisfied_sends_it_back_and_keeps_the_first_reply(app, place, draft):
    _walk(draft, place, "submit", "accept", "acknowledge", "reply")
    apply(draft, "rate", {"rating": "unsatisfied", "rating_note": "措施不具体。"}, None, NOW)
    assert (draft.status, draft.rehandled, draft.acknowledged_at) == (S.ACCEPTED, 1, None)
    assert draft.due_on == add_months(date(2026, 3, 10), 1)
    notes = [u.note for u in draft.updates if u.action in ("reply", "rate")]
    assert notes == ["B类（列入计划正在解决）\n已列入计划。", "提案者评价：不满意\n措施不具体。"]
    apply(draft, "reply", {"outcome": "resolved", "reply": "已办结。"}, None, NOW)
    assert (draft.status, draft.rating, draft.outcome.letter) == (S.REPLIED, None, "A")


def test_reassign_moves_the_lead_and_keeps_the_rest(app, place, draft):
    _walk(draft, place, "submit", "accept", "acknowledge")
    lead, co = _departments(place)
    assert draft.lead_department is lead  # loaded: the page's confirmation reads it
    apply(draft, "reassign", {"lead_department": co, "reason": "职责调整"}, None, NOW)
    assert draft.lead_department is co  # before any flush or refresh (core.db.set_columns)
    db.session.flush()
    assert (draft.status, draft.lead_department_id) == (S.ACCEPTED, co.id)
    assert {(d.department_id, d.role) for d in draft.departments} == {(co.id, HandlingRole.LEAD)}


@pytest.mark.parametrize(("actions", "action", "values", "field"), [
    ((), "accept", {"lead_department": 1}, "action"),  # a draft is not reviewed
    (("submit",), "accept", {}, "lead_department"),
    (("submit",), "accept", {"lead_department": "{lead}", "co_departments": ["{lead}"]},
     "co_departments"),
    (("submit",), "accept", {"lead_department": "{lead}", "due_on": date(2020, 1, 1)}, "due_on"),
    (("submit",), "accept", {"lead_department": "{lead}", "colour": "red"}, "colour"),
    (("submit",), "not_accept", {"reason": "  "}, "reason"),
    (("submit", "accept"), "reply", {"outcome": "D", "reply": "x"}, "outcome"),
    (("submit", "accept"), "reply", {"outcome": "resolved"}, "reply"),
    (("submit", "accept", "reply"), "rate", {"rating": "unsatisfied"}, "rating_note"),
    (("submit", "accept", "reply"), "rate", {"rating": "great"}, "rating"),
    (("submit", "accept"), "co_opinion", {"opinion": "x", "department": "{lead}"}, "department"),
    (("submit", "accept"), "reassign", {"lead_department": "{lead}", "reason": "x"},
     "lead_department"),
    (("submit", "accept", "reply", "rate"), "reply", {"outcome": "resolved", "reply": "x"},
     "action"),
])
def test_refusal_names_the_field_and_changes_nothing(app, place, draft, actions, action, values,
                                                     field):
    _walk(draft, place, *actions)
    db.session.commit()
    values = {k: ([place.lead_department_id] if v == ["{lead}"] else
                  place.lead_department_id if v == "{lead}" else v) for k, v in values.items()}
    before = (draft.status, draft.version, len(draft.updates), len(draft.departments))
    with pytest.raises(ValidationFailed) as refused:
        change_status(draft, action, actor=None, values=values, now=NOW)
    assert field in refused.value.errors
    db.session.rollback()
    proposal = db.session.get(Proposal, draft.id)
    assert (proposal.status, proposal.version, len(proposal.updates),
            len(proposal.departments)) == before


def test_submit_needs_the_text(app, place):
    with app.test_request_context():
        proposal = create_proposal(
            actor=None, title="只有标题", reasons="", suggestions="", category="economy",
            timing="interim", year=2026, proposer_kind="member", lead_member_id=place.member_id,
            co_member_ids=[], collective_kind=None, collective_name=None)
        with pytest.raises(ValidationFailed) as refused:
            apply(proposal, "submit", {}, None, NOW)
        assert set(refused.value.errors) == {"reasons", "suggestions"}
        assert proposal.status is S.DRAFT


@pytest.mark.parametrize(("fields", "field"), [
    ({"proposer_kind": "joint", "co_member_ids": []}, "co_members"),
    ({"proposer_kind": "member", "co_member_ids": ["{other}"]}, "co_members"),
    ({"proposer_kind": "member", "lead_member_id": None}, "lead_member"),
    ({"proposer_kind": "collective", "collective_kind": "party", "collective_name": ""},
     "collective_name"),
    ({"proposer_kind": "collective", "collective_kind": None, "collective_name": "民建"},
     "collective_kind"),
    ({"category": "sport"}, "category"),
    ({"year": 1999}, "year"),
    ({"title": "长" * 201}, "title"),
])
def test_proposers_are_checked(app, place, fields, field):
    with app.test_request_context():
        values = dict(title="关于加强社区养老的建议", reasons="r", suggestions="s",
                      category="society", timing="interim", year=2026, proposer_kind="member",
                      lead_member_id=place.member_id, co_member_ids=[], collective_kind=None,
                      collective_name=None)
        values.update({k: ([place.other_member_id] if v == ["{other}"] else v)
                       for k, v in fields.items()})
        with pytest.raises(ValidationFailed) as refused:
            create_proposal(actor=None, **values)
        assert field in refused.value.errors
        db.session.rollback()
        assert db.session.query(Proposal).count() == 0


def test_collective_and_joint_proposals(app, place):
    with app.test_request_context():
        collective = create_proposal(
            actor=None, title="关于发展民营经济的建议", reasons="r", suggestions="s",
            category="economy", timing="session", year=2026, proposer_kind="collective",
            lead_member_id=place.member_id, co_member_ids=[], collective_kind="party",
            collective_name="民建武汉市委员会")
        joint = create_proposal(
            actor=None, title="关于保护长江岸线的建议", reasons="r", suggestions="s",
            category="ecology", timing="session", year=2026, proposer_kind="joint",
            lead_member_id=place.member_id, co_member_ids=[place.other_member_id],
            collective_kind=None, collective_name=None)
        db.session.commit()
        assert (collective.lead_member_id, collective.proposers) == (None, [])
        assert [(p.member_id, p.is_lead) for p in joint.proposers] == [
            (place.member_id, True), (place.other_member_id, False)]
        assert db.session.get(Member, place.member_id).name == "李明"
