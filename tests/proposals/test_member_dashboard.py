"""A member's (政协委员) own dashboard, the platforms they serve (read-only), their account
page, and a proposal not accepted going on as an opinion letter (转为意见建议)."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from consult_hub.core.db import utcnow
from consult_hub.extensions import db
from consult_hub.issues.models import Issue
from consult_hub.issues.operations import change_status as issue_change
from consult_hub.models import Department, Member, Platform
from consult_hub.proposals.models import Proposal, ProposalStatus
from consult_hub.proposals.operations import change_status, create_proposal
from tests.proposals.conftest import act
from tests.support import factories
from tests.support import opinions as report_steps
from tests.support.auth import csrf_token, signed_in
from tests.support.pages import page_text

S = ProposalStatus


def _proposal(title: str, member_id: int, *steps: tuple[str, dict]) -> int:
    proposal = create_proposal(
        actor=None, title=title, reasons="老人上下楼难。", suggestions="简化审批。",
        category="society", timing="interim", year=2026, proposer_kind="member",
        lead_member_id=member_id, co_member_ids=[], collective_kind=None,
        collective_name=None)
    for action, values in steps:
        change_status(proposal, action, actor=None, values=values)
    return proposal.id


def _world(app, place) -> dict[str, int]:
    """李明's proposals and reports in every state that waits on him, events and problems at
    his platform and elsewhere, and a city-wide figure only staff see: an overdue problem of
    another district's platform, with its department."""
    now = utcnow()
    hour = timedelta(hours=1)
    with app.test_request_context():
        lead = db.session.get(Department, place.lead_department_id)
        liming = db.session.get(Member, place.member_id)
        ids = {
            "draft": _proposal("关于社区食堂运营补贴的建议", place.member_id),
            "replied": _proposal("关于老旧小区加装电梯的建议", place.member_id,
                                 ("submit", {}), ("accept", {"lead_department": lead}),
                                 ("reply", {"outcome": "planned", "reply": "已列入明年计划。"})),
            "handling": _proposal("关于背街小巷照明改造的建议", place.member_id,
                                  ("submit", {}), ("accept", {"lead_department": lead})),
            "letter": _proposal("关于增设菜市场的建议", place.member_id,
                                ("submit", {}), ("not_accept", {"reason": "属于区级事权。"})),
            "theirs": _proposal("张华的提案：后湖排水", place.other_member_id, ("submit", {})),
        }
        returned = report_steps.report("submit", "return", member=liming,
                                       title="电动车充电难", district_id=place.district_id)
        adopted = report_steps.report("submit", "adopt", "instruct", member=liming,
                                      title="社区养老服务缺口", district_id=place.district_id)
        ids.update(returned=returned.id, adopted=adopted.id)
        ids["upcoming"] = factories.event(
            platform_id=place.platform_id, topic="加装电梯议事会",
            starts_at=now + timedelta(days=5), ends_at=now + timedelta(days=5) + hour).id
        ids["elsewhere"] = factories.event(
            platform_id=place.other_platform_id, topic="后湖排水协商会",
            starts_at=now + timedelta(days=5), ends_at=now + timedelta(days=5) + hour).id
        hidden = factories.issue(platform_id=place.platform_id, title="尚未公开的问题")
        db.session.get(Issue, hidden.id).published_at = None
        ids["hidden"] = hidden.id
        far_district = factories.district(name="武昌区")
        far = factories.platform(district_id=far_district.id, name="武昌某协商议事室")
        ids["far_platform"] = far.id
        far_issue = factories.issue(platform_id=far.id, title="武昌路灯不亮",
                                    now=now - 60 * 24 * hour)
        issue_change(far_issue, "assign", actor_id=None, now=now - 59 * 24 * hour,
                     department=factories.department(name="武昌区城管局"),
                     due_on=(now - timedelta(days=5)).date())
        db.session.commit()
    return ids


def test_member_dashboard_shows_their_own_work_and_nothing_city_wide(app, client, auth, place):
    ids = _world(app, place)
    admin = signed_in(app, "liumin").get("/dashboard").text
    # City staff's dashboard has the city-wide figures: every district, overdue by department.
    assert "各区概况" in admin and "武昌区城管局" in admin

    auth.login("liming")
    page = client.get("/dashboard")
    assert page.status_code == 200
    html, text = page.text, page_text(page.text)
    # Nothing city-wide, nothing of another district or of another member.
    for absent in ("各区概况", "本月情况", "武昌区城管局", "武昌", "不活跃平台", "等待处理",
                   "张华的提案", "后湖排水协商会", "尚未公开的问题"):
        assert absent not in text, absent
    # Their proposals by what waits on them.
    assert "我的提案" in text and "写提案" in text and "写社情民意" in text
    assert f'/manage/proposals/{ids["replied"]}"' in html  # a reply to rate
    assert "待我评价的办复" in text and "B 列入计划正在解决" in text
    assert f'/manage/proposals/{ids["draft"]}"' in html and "提案草稿" in text
    assert f'/manage/proposals/{ids["handling"]}"' in html and "办理期限" in text
    assert "转为意见建议" in text and "属于区级事权。" in text and "未转送承办单位" in text
    # Their reports: returned for revision first, adopted with the leader's instruction.
    assert f'/manage/opinion-reports/{ids["returned"]}"' in html and "退回修改" in text
    assert "请补充具体数据" in text
    assert f'/manage/opinion-reports/{ids["adopted"]}"' in html and "市委主要领导" in text
    # The platform they serve, its coming event and published problems, linked to pages they
    # may open.
    assert "我服务的平台" in text and "百步亭社区协商议事室" in text
    assert f'/manage/platforms/{place.platform_id}"' in html
    assert f'/manage/events/{ids["upcoming"]}"' in html
    assert f'/manage/issues/{place.issue_ids[0]}"' in html
    for link in (f"/manage/platforms/{place.platform_id}", f"/manage/events/{ids['upcoming']}",
                 f"/manage/issues/{place.issue_ids[0]}", f"/manage/proposals/{ids['letter']}",
                 f"/manage/opinion-reports/{ids['adopted']}"):
        assert client.get(link).status_code == 200, link


def test_member_reads_their_platforms_and_events_and_writes_nothing(app, client, auth, place):
    ids = _world(app, place)
    auth.login("liming")
    # The list holds the platforms they serve only; no "new platform".
    listed = client.get("/manage/platforms/")
    assert listed.status_code == 200
    assert "百步亭社区协商议事室" in listed.text and "后湖协商议事室" not in listed.text
    assert "/manage/platforms/new" not in listed.text
    # Their platform's page: read-only, published problems only.
    own = client.get(f"/manage/platforms/{place.platform_id}")
    assert own.status_code == 200
    for write in ("/manage/events/new", "/manage/issues/new", f"/{place.platform_id}/edit",
                  f"/{place.platform_id}/people", "尚未公开的问题"):
        assert write not in own.text, write
    assert "加装电梯议事会" in own.text
    # Another platform, and its events: refused.
    assert client.get(f"/manage/platforms/{place.other_platform_id}").status_code == 403
    assert client.get(f"/manage/platforms/{ids['far_platform']}").status_code == 403
    assert client.get(f"/manage/events/{ids['elsewhere']}").status_code == 403
    # Their platform's events: the list and the page, with no action on them.
    events = client.get("/manage/events/")
    assert events.status_code == 200
    assert "加装电梯议事会" in events.text and "后湖排水协商会" not in events.text
    assert 'href="/manage/events/new"' not in events.text
    event = client.get(f"/manage/events/{ids['upcoming']}")
    assert event.status_code == 200
    for write in (f"/manage/events/{ids['upcoming']}/edit",
                  f"/manage/events/{ids['upcoming']}/cancel"):
        assert write not in event.text
    # Writes stay refused (the access matrix checks every one; two here, by the page).
    token = csrf_token(client, "/dashboard")
    assert client.get(f"/manage/events/{ids['upcoming']}/edit").status_code == 403
    assert client.post(f"/manage/events/{ids['upcoming']}/cancel",
                       data={"csrf_token": token, "cancel_reason": "x"}).status_code == 403
    assert client.get(f"/manage/platforms/{place.platform_id}/edit").status_code == 403


def test_member_account_page_names_their_district_and_platforms(app, client, auth, place):
    auth.login("liming")
    text = page_text(client.get("/account/").text)
    assert "所属区 江岸区" in text and "全市" not in text
    assert "下沉平台 百步亭社区协商议事室" in text


def test_not_accepted_proposal_goes_to_a_department_as_an_opinion_letter(app, client, auth,
                                                                        place):
    with app.test_request_context():
        ids = [_proposal(f"第{n}件：关于增设菜市场的建议", place.member_id, ("submit", {}))
               for n in (1, 2)]
        db.session.commit()
    sent, kept = ids
    auth.login("wangli")
    # The 不予立案 form offers the department the letter may go to.
    assert 'name="letter_department"' in client.get(f"/manage/proposals/{sent}").text
    answer = act(client, sent, "not_accept", reason="属于区级事权，转有关单位参考。",
                 letter_department=str(place.lead_department_id))
    assert answer.status_code == 303
    assert act(client, kept, "not_accept", reason="建议内容已在落实。").status_code == 303
    # The page says what became of it: an opinion letter, the reason, and where it went.
    text = page_text(client.get(f"/manage/proposals/{sent}").text)
    assert "已转为意见建议" in text and "属于区级事权，转有关单位参考。" in text
    assert "转送单位 市住房和城市更新局" in text
    assert "未转送承办单位" in page_text(client.get(f"/manage/proposals/{kept}").text)
    # The proposer reads the same.
    liming = signed_in(app, "liming")
    assert "转送单位 市住房和城市更新局" in page_text(liming.get(f"/manage/proposals/{sent}").text)
    # The department's contact finds it in their list as a letter to read, with no action.
    lead = signed_in(app, "zhujian")
    listed = page_text(lead.get("/manage/proposals/").text)
    assert "第1件" in listed and "意见建议" in listed and "无需答复" in listed
    assert "第2件" not in listed
    letter = lead.get(f"/manage/proposals/{sent}")
    assert letter.status_code == 200 and "无需答复" in letter.text
    assert "/act/" not in letter.text
    assert lead.get(f"/manage/proposals/{kept}").status_code == 403
    # Another department sees neither.
    other = signed_in(app, "caizheng")
    assert other.get(f"/manage/proposals/{sent}").status_code == 403
    assert "第1件" not in page_text(other.get("/manage/proposals/").text)
    with app.app_context():
        stored = db.session.get(Proposal, sent)
        assert stored.status is S.NOT_ACCEPTED and stored.lead_department_id is None
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Platform)) >= 2


def test_a_letter_department_must_be_one_of_the_list(app, client, auth, place):
    with app.test_request_context():
        proposal_id = _proposal("关于增设菜市场的建议", place.member_id, ("submit", {}))
        db.session.commit()
    auth.login("wangli")
    answer = act(client, proposal_id, "not_accept", reason="理由。", letter_department="99999")
    assert answer.status_code == 422
    with app.app_context():
        assert db.session.get(Proposal, proposal_id).status is S.SUBMITTED
