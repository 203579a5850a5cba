"""Who sees which proposal pages, what the public sees, and refusals through the pages."""

from __future__ import annotations

import re

import sqlalchemy as sa

from consult_hub.extensions import db
from consult_hub.proposals.models import Proposal, ProposalStatus
from consult_hub.proposals.operations import change_status, create_proposal
from tests.proposals.conftest import PHONE, RESIDENT, act, form_state, stored
from tests.support import factories
from tests.support.auth import csrf_token, signed_in
from tests.support.pages import page_text

S = ProposalStatus


def _proposals(app, place, *walks: tuple[str, ...]) -> list[int]:
    """Member 李明's proposals (linked to the first problem), each walked through its actions."""
    ids = []
    with app.test_request_context():
        from consult_hub.models import Department, Issue

        lead = db.session.get(Department, place.lead_department_id)
        co = db.session.get(Department, place.co_department_id)
        issue = db.session.get(Issue, place.issue_ids[0])
        for n, actions in enumerate(walks):
            proposal = create_proposal(
                actor=None, title=f"第{n + 1}件提案：关于加装电梯的建议", reasons="老人上下楼难。",
                suggestions="简化审批。", category="society", timing="interim", year=2026,
                proposer_kind="member", lead_member_id=place.member_id, co_member_ids=[],
                collective_kind=None, collective_name=None, issues=[issue])
            for action in actions:
                values = {
                    "accept": {"lead_department": lead, "co_departments": [co]},
                    "not_accept": {"reason": "转为意见建议。"},
                    "reply": {"outcome": "constrained", "reply": "受资金所限，暂缓实施。"},
                }.get(action, {})
                change_status(proposal, action, actor=None, values=values)
            ids.append(proposal.id)
        db.session.commit()
    return ids


def test_public_pages_show_accepted_proposals_only(app, client, place):
    draft, submitted, refused, accepted, replied = _proposals(
        app, place, (), ("submit",), ("submit", "not_accept"), ("submit", "accept"),
        ("submit", "accept", "reply"))
    listing = client.get("/proposals")
    assert listing.status_code == 200
    text = page_text(listing.text)
    assert "第4件提案" in text and "第5件提案" in text
    assert "第1件提案" not in text and "第2件提案" not in text and "第3件提案" not in text
    for hidden in (draft, submitted, refused):
        assert client.get(f"/proposals/{hidden}").status_code == 404
    page = client.get(f"/proposals/{replied}")
    text = page_text(page.text)
    assert "C 因条件所限一时难以解决" in text and "受资金所限，暂缓实施。" in text
    assert "李明" in text and "市住房和城市更新局" in text and "市财政局" in text
    # The linked problem is named by its public title only: no resident's name or phone.
    assert "老旧小区没有电梯" in text
    for leaked in (PHONE, RESIDENT):
        assert leaked not in page.text and leaked not in listing.text
    # While it is being handled, no reply is shown.
    assert "办理中" in page_text(client.get(f"/proposals/{accepted}").text)
    review = page_text(client.get("/proposals/review/2026").text)
    assert "2026年共提出提案4件，立案2件" in review
    assert client.get("/proposals/review/2026").headers["Cache-Control"].startswith("no-cache")
    assert "共 2 件提案" in page_text(listing.text)
    # Accepting another shows at once: the list's total, the years and the review are
    # remembered only while no record changes (core/pagecache.remembered).
    with app.test_request_context():
        from consult_hub.models import Department

        change_status(db.session.get(Proposal, submitted), "accept", actor=None, values={
            "lead_department": db.session.get(Department, place.lead_department_id),
            "co_departments": []})
        db.session.commit()
    text = page_text(client.get("/proposals").text)
    assert "共 3 件提案" in text and "第2件提案" in text
    assert "2026年共提出提案4件，立案3件" in page_text(client.get("/proposals/review/2026").text)


def test_each_role_sees_its_own(app, client, auth, place, make):
    mine, accepted = _proposals(app, place, ("submit",), ("submit", "accept"))
    # Another member sees neither of 李明's proposals, in the list or by address.
    other = signed_in(app, "zhanghua")
    assert "关于加装电梯的建议" not in other.get("/manage/proposals/").text
    assert other.get(f"/manage/proposals/{mine}").status_code == 403
    # A coordinator has no proposal pages.
    assert signed_in(app, "zhanghui").get("/manage/proposals/").status_code == 403
    # A department sees only what it handles, once accepted.
    lead = signed_in(app, "zhujian")
    assert lead.get(f"/manage/proposals/{mine}").status_code == 403
    assert lead.get(f"/manage/proposals/{accepted}").status_code == 200
    listed = page_text(lead.get("/manage/proposals/").text)
    assert "第2件提案" in listed and "第1件提案" not in listed
    # The proposer sees both, and the staff page never shows a resident's contact details.
    auth.login("liming")
    listed = page_text(client.get("/manage/proposals/").text)
    assert "第1件提案" in listed and "第2件提案" in listed
    page = client.get(f"/manage/proposals/{accepted}")
    assert page.status_code == 200 and PHONE not in page.text


def test_member_reads_the_problems_of_their_platforms(app, client, auth, place):
    auth.login("liming")
    assert client.get(f"/manage/issues/{place.issue_ids[0]}").status_code == 200
    assert client.get(f"/manage/issues/{place.other_issue_id}").status_code == 403
    listed = page_text(client.get("/manage/issues/").text)
    assert "加装电梯审批手续繁琐" in listed and "后湖路口积水" not in listed
    # Reading is all: no action on a problem.
    answer = client.post(f"/manage/issues/{place.issue_ids[0]}/act/note", data={
        "csrf_token": csrf_token(client, "/dashboard"), "note": "x"})
    assert answer.status_code == 403
    # A problem of another platform is not evidence: it is dropped from the form.
    form = client.get(f"/manage/proposals/new?issue={place.other_issue_id}")
    assert "后湖路口积水" not in form.text
    assert client.get("/dashboard").status_code == 200


def test_bad_review_is_refused_on_the_field_and_changes_nothing(app, client, auth, place):
    (proposal_id,) = _proposals(app, place, ("submit",))
    auth.login("liumin")
    before = stored(app, proposal_id)
    answer = act(client, proposal_id, "accept", lead_department="", due_on="2020-01-01")
    assert answer.status_code == 422
    assert "请填写主办单位" in answer.text and 'id="accept-lead_department"' in answer.text
    answer = act(client, proposal_id, "accept", lead_department="999999")
    assert answer.status_code == 422 and "请从列表中选择承办单位" in answer.text
    after = stored(app, proposal_id)
    assert (after.status, after.version, after.number) == (S.SUBMITTED, before.version, None)


def test_without_csrf_or_with_an_old_page_nothing_changes(app, client, auth, place):
    (proposal_id,) = _proposals(app, place, ("submit",))
    auth.login("liumin")
    state = form_state(client, proposal_id, "not_accept")
    no_token = client.post(f"/manage/proposals/{proposal_id}/act/not_accept",
                           data={"version": state["version"], "reason": "x"})
    assert no_token.status_code == 400
    stale = client.post(f"/manage/proposals/{proposal_id}/act/not_accept",
                        data={**state, "version": "0", "reason": "不予立案。"})
    assert stale.status_code == 409 and "操作没有执行" in stale.text
    assert stored(app, proposal_id).status is S.SUBMITTED


def test_member_cannot_review_or_enter_for_a_collective(app, client, auth, place):
    (proposal_id,) = _proposals(app, place, ("submit",))
    auth.login("liming")
    answer = client.post(f"/manage/proposals/{proposal_id}/act/accept", data={
        "csrf_token": csrf_token(client, "/dashboard"),
        "lead_department": place.lead_department_id})
    assert answer.status_code == 403
    answer = client.post("/manage/proposals/new", data={
        "csrf_token": csrf_token(client, "/manage/proposals/new"), "title": "集体提案",
        "reasons": "r", "suggestions": "s", "category": "economy", "timing": "session",
        "year": "2026", "proposer_kind": "collective", "collective_kind": "party",
        "collective_name": "民建"})
    assert answer.status_code == 422
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Proposal.id))) == 1


def test_staff_enter_a_collective_proposal(app, client, auth, place):
    auth.login("liumin")
    answer = client.post("/manage/proposals/new", data={
        "csrf_token": csrf_token(client, "/manage/proposals/new"),
        "title": "关于促进民营经济发展的建议", "reasons": "r", "suggestions": "s",
        "category": "economy", "timing": "session", "year": "2026",
        "proposer_kind": "collective", "collective_kind": "party",
        "collective_name": "民建武汉市委员会"})
    assert answer.status_code == 303
    with app.app_context():
        proposal = db.session.scalars(sa.select(Proposal)).one()
        assert (proposal.collective_name, proposal.status) == ("民建武汉市委员会", S.DRAFT)
        proposal_id = proposal.id
    assert act(client, proposal_id, "submit").status_code == 303
    assert stored(app, proposal_id).reference == "TA2026-0001"


def test_public_pages_in_english(app, client, place):
    (proposal_id,) = _proposals(app, place, ("submit", "accept", "reply"))
    client.get("/locale/en?next=/")
    for path, words in {
        "/proposals": ["Proposals", "Lead: ", "C Not feasible for now"],
        f"/proposals/{proposal_id}": ["Lead department", "Co-handling departments", "Reply"],
        "/proposals/review/2026": ["Proposals in 2026: a review", "Outcomes (of accepted"],
    }.items():
        page = client.get(path)
        assert page.status_code == 200 and '<html lang="en"' in page.text, path
        for word in words:
            assert word in page.text, (path, word)


def _report(app, place, member_id: int, title: str) -> int:
    from consult_hub.opinions.models import OpinionReport, OpinionSource

    with app.app_context():
        report = OpinionReport(reference=f"SQ2026-{member_id:04d}", title=title,
                               body="居民普遍反映加装电梯难。", category="society",
                               source=OpinionSource.MEMBER, member_id=member_id,
                               district_id=place.district_id)
        db.session.add(report)
        db.session.commit()
        return report.id


def test_member_starts_from_their_opinion_report_only(app, client, auth, place):
    mine = _report(app, place, place.member_id, "老旧小区加装电梯难")
    theirs = _report(app, place, place.other_member_id, "后湖片区停车难")
    auth.login("liming")
    form = client.get(f"/manage/proposals/new?report={mine}&report={theirs}")
    assert form.status_code == 200
    assert "关于老旧小区加装电梯难的建议" in form.text
    assert "居民普遍反映加装电梯难。" in form.text and "后湖片区停车难" not in form.text
    assert f'name="reports" value="{mine}"' in form.text
    assert f'name="reports" value="{theirs}"' not in form.text


def test_member_edits_their_draft_until_it_is_submitted(app, client, auth, place):
    (proposal_id,) = _proposals(app, place, ())
    auth.login("liming")
    page = client.get(f"/manage/proposals/{proposal_id}/edit")
    assert page.status_code == 200
    version = re.search(r'name="version"[^>]*value="(\d+)"', page.text).group(1)
    original = re.search(r'name="original"[^>]*value="([^"]*)"', page.text).group(1)
    data = {"csrf_token": csrf_token(client, f"/manage/proposals/{proposal_id}/edit"),
            "version": version, "original": original.replace("&#34;", '"'),
            "title": "关于加快加装电梯审批的建议", "reasons": "老人上下楼难。",
            "suggestions": "一窗受理。", "category": "society", "timing": "interim",
            "year": "2026", "proposer_kind": "member", "submit_now": "y"}
    answer = client.post(f"/manage/proposals/{proposal_id}/edit", data=data)
    assert answer.status_code == 303, answer.text[:1000]
    after = stored(app, proposal_id)
    assert (after.title, after.status) == ("关于加快加装电梯审批的建议", S.SUBMITTED)
    assert [i.id for i in after.issues] == []  # the evidence left unticked is dropped
    assert client.get(f"/manage/proposals/{proposal_id}/edit").status_code == 403


def test_only_city_staff_make_a_proposal_key(app, client, auth, place):
    first, second = _proposals(app, place, ("submit",), ("submit",))
    district = signed_in(app, "wangli")
    assert 'id="accept-is_key"' not in district.get(f"/manage/proposals/{first}").text
    assert act(district, first, "accept", lead_department=place.lead_department_id,
               is_key="y").status_code == 303
    assert not stored(app, first).is_key
    auth.login("liumin")
    assert 'id="accept-is_key"' in client.get(f"/manage/proposals/{second}").text
    assert act(client, second, "accept", lead_department=place.lead_department_id,
               is_key="y").status_code == 303
    assert stored(app, second).is_key


def _options(html: str, name: str) -> list[tuple[str, bool]]:
    """A select's options as (label, selected)."""
    select = re.search(rf'<select [^>]*name="{name}"[^>]*>(.*?)</select>', html, re.S)
    assert select, name
    return [(label, bool(selected)) for selected, label in
            re.findall(r'<option (selected )?value="[^"]*">([^<]*)</option>', select.group(1))]


def test_the_proposers_offered_follow_the_members_as_they_change(app, client, auth, place):
    """The members to sign with are kept between pages (made once per site version): a member
    added, renamed or no longer active shows so on the next form, and a draft that names a
    member no longer active still shows them, chosen."""
    with app.test_request_context():
        from consult_hub.models import Member

        wang = db.session.scalars(sa.select(Member).where(Member.name == "王芳")).one()
        draft_id = create_proposal(
            actor=None, title="关于加装电梯的建议", reasons="老人上下楼难。",
            suggestions="简化审批。", category="society", timing="interim", year=2026,
            proposer_kind="joint", lead_member_id=place.member_id, co_member_ids=[wang.id],
            collective_kind=None, collective_name=None, issues=[]).id
        db.session.commit()
    auth.login("liming")
    first = client.get("/manage/proposals/new").text
    # A member does not sign alongside themselves.
    assert {label for label, _ in _options(first, "co_members")} == {"王芳", "张华"}

    with app.app_context():
        factories.member(name="赵强", district_id=place.district_id)
        wang = db.session.scalars(sa.select(Member).where(Member.name == "王芳")).one()
        wang.is_active = False
        db.session.get(Member, place.other_member_id).name = "张华华"
        db.session.commit()
    second = client.get("/manage/proposals/new").text
    assert {label for label, _ in _options(second, "co_members")} == {"张华华", "赵强"}
    staff = signed_in(app, "liumin").get("/manage/proposals/new").text
    lead = [label for label, _ in _options(staff, "lead_member")]
    assert lead[0] == "请选择领衔委员" and set(lead[1:]) == {"张华华", "李明", "赵强"}
    # The draft still names 王芳, and its page says so.
    edit = client.get(f"/manage/proposals/{draft_id}/edit").text
    assert ("王芳", True) in _options(edit, "co_members")
    assert ("赵强", False) in _options(edit, "co_members")
