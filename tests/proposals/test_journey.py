"""A proposal's whole life through its pages: a member turns two problems into a proposal,
staff accept it with a lead and a co-handling department, the lead department replies with
class B, the member is not satisfied, it is handled again, replied as class A and closed."""

from __future__ import annotations

import sqlalchemy as sa

from consult_hub.extensions import db
from consult_hub.models import AuditLog
from consult_hub.proposals.models import HandlingRole, Proposal, ProposalStatus
from tests.proposals.conftest import PHONE, RESIDENT, act, stored
from tests.support.auth import csrf_token, signed_in
from tests.support.pages import page_text

S = ProposalStatus


def _only_proposal(app) -> int:
    with app.app_context():
        return db.session.scalars(sa.select(Proposal.id)).one()


def test_member_to_closed(app, client, auth, place):
    first, second = place.issue_ids
    auth.login("liming")
    # The problem page offers to start a proposal; the form starts from both problems.
    problem = client.get(f"/manage/issues/{first}")
    assert problem.status_code == 200 and f"/manage/proposals/new?issue={first}" in problem.text
    assert PHONE not in problem.text and RESIDENT not in problem.text
    form = client.get(f"/manage/proposals/new?issue={first}&issue={second}")
    assert form.status_code == 200
    text = page_text(form.text)
    assert "关于解决老旧小区没有电梯，老人上下楼难等问题的建议" in form.text
    assert "加装电梯审批手续繁琐" in text
    assert "居民反映要跑 5 个部门盖章。" in form.text and PHONE not in form.text
    answer = client.post("/manage/proposals/new", data={
        "csrf_token": csrf_token(client, "/manage/proposals/new"),
        "title": "关于简化老旧小区加装电梯审批的建议", "reasons": "居民反映审批繁琐。",
        "suggestions": "一窗受理，并联审批。", "category": "society", "timing": "interim",
        "year": "2026", "proposer_kind": "joint", "co_members": [str(place.other_member_id)],
        "issues": [str(first), str(second)], "submit_now": "y"})
    assert answer.status_code == 303, answer.text[:2000]
    proposal_id = _only_proposal(app)
    after = stored(app, proposal_id)
    assert after.status is S.SUBMITTED and after.reference.startswith("TA2026-")
    assert [p.member_id for p in after.proposers] == [place.member_id, place.other_member_id]
    assert after.lead_member_id == place.member_id
    assert sorted(i.id for i in after.issues) == sorted(place.issue_ids)
    page = client.get(answer.headers["Location"]).text
    assert f"提案已提交，编号 {after.reference}。" in page

    # City staff accept it: department A leads, B co-handles; due in three months by default.
    staff = signed_in(app, "liumin")
    answer = act(staff, proposal_id, "accept", lead_department=place.lead_department_id,
                 co_departments=[place.co_department_id], is_key="y")
    assert answer.status_code == 303, answer.text[:2000]
    after = stored(app, proposal_id)
    assert after.status is S.ACCEPTED and after.number == "2026-0001" and after.is_key
    assert {(d.department_id, d.role) for d in after.departments} == {
        (place.lead_department_id, HandlingRole.LEAD), (place.co_department_id, HandlingRole.CO)}
    assert after.due_on is not None

    # The co-handling department signs and sends its opinion; it may not reply.
    co = signed_in(app, "caizheng")
    assert act(co, proposal_id, "co_opinion", opinion="可从城市更新资金中给予补贴。"
               ).status_code == 303
    assert co.post(f"/manage/proposals/{proposal_id}/act/reply", data={
        "csrf_token": csrf_token(co, "/dashboard"), "outcome": "resolved",
        "reply": "x"}).status_code == 403

    # The lead department signs and replies with class B.
    lead = signed_in(app, "zhujian")
    assert act(lead, proposal_id, "acknowledge").status_code == 303
    assert act(lead, proposal_id, "reply", outcome="planned",
               reply="已列入 2027 年老旧小区改造计划。").status_code == 303
    assert stored(app, proposal_id).status is S.REPLIED

    # The member is not satisfied: back to the lead department, the first reply on record.
    refused = act(client, proposal_id, "rate", rating="unsatisfied")
    assert refused.status_code == 422 and "不满意的，请说明理由" in refused.text
    assert stored(app, proposal_id).status is S.REPLIED
    assert act(client, proposal_id, "rate", rating="unsatisfied",
               rating_note="没有说明审批怎么简化。").status_code == 303
    after = stored(app, proposal_id)
    assert (after.status, after.rehandled) == (S.ACCEPTED, 1)
    page = page_text(lead.get(f"/manage/proposals/{proposal_id}").text)
    assert "B类（列入计划正在解决）" in page and "已列入 2027 年老旧小区改造计划。" in page
    assert "提案者评价：不满意" in page

    # Handled again: class A, and the member is satisfied.
    assert act(lead, proposal_id, "reply", outcome="resolved",
               reply="已推行一窗受理，审批时间压缩到 15 个工作日。").status_code == 303
    assert act(client, proposal_id, "rate", rating="satisfied").status_code == 303
    after = stored(app, proposal_id)
    assert after.status is S.CLOSED and after.outcome.letter == "A"
    with app.app_context():
        actions = [a for (a,) in db.session.execute(sa.select(AuditLog.action).where(
            AuditLog.action.like("proposal_%")).order_by(AuditLog.id))]
    assert actions == ["proposal_create", "proposal_submit", "proposal_accept",
                       "proposal_co_opinion", "proposal_acknowledge", "proposal_reply",
                       "proposal_rate", "proposal_reply", "proposal_rate"]

    # The public page and the year's review show the result, with no resident's data.
    client.get("/logout")
    public = client.get(f"/proposals/{proposal_id}")
    assert public.status_code == 200
    text = page_text(public.text)
    assert "李明（领衔）、张华" in text and "市住房和城市更新局" in text and "市财政局" in text
    assert "A 已解决或采纳" in text and "审批时间压缩到 15 个工作日" in text
    assert PHONE not in public.text and RESIDENT not in public.text
    review = page_text(client.get("/proposals/review/2026").text)
    assert "2026年共提出提案1件，立案1件" in review
    assert "委员个人或联名提案1件，占100.0%" in review
