"""Public reads of proposals (提案) in the JSON API: accepted ones only, public fields only."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import sqlalchemy as sa

from consult_hub.extensions import db
from consult_hub.models import Department, Member, User
from consult_hub.proposals.models import Proposal
from consult_hub.proposals.operations import change_status, create_proposal
from tests.support import factories
from tests.support.api import SECRET_NAME, SECRET_PHONE, STAFF_EMAIL, STAFF_NAME, ApiWorld
from tests.support.querycount import count_queries

# The API world (tests/support/world.py) and the proposals below, built once for the module and
# rolled back after each test (tests/api/conftest.py): nothing is committed, `rolled_back`.
pytestmark = [pytest.mark.world("api"), pytest.mark.rolled_back]

RESIDENT, PHONE = "欧阳秀英", "13912345678"
ADDRESS = "幸福小区 3 栋 502"
REVIEW_NOTE = "不予立案的理由只给提案者看"
RATING_NOTE = "评价说明不公开"
CO_OPINION = "会办意见是部门之间的往来"
PRIVATE_REPLY = "这份办复不公开"


@dataclass
class Proposals:
    """Ids of proposals in every state, on top of the API world."""

    ids: dict[str, int]
    lead_code: str
    co_code: str
    other_code: str
    published_issue: str
    pending_issue: str


def _build(app, world: ApiWorld) -> Proposals:
    with app.test_request_context():
        lead = db.session.get(Department, world.department_id)
        co = factories.department(name="市财政测试局", code="CZ-TEST")
        other = factories.department(name="市园林测试局", code="YL-TEST")
        first, second = (db.session.get(Member, i) for i in world.member_ids[:2])
        first.name, second.name = "李明", "张华"
        staff = db.session.scalar(sa.select(User).where(User.name == STAFF_NAME))
        # A resident's problem, published, carrying the resident's name, phone and address,
        # and one still waiting for review.
        platform_id = world.platform_id
        published = factories.issue(platform_id=platform_id, title="老旧小区没有电梯",
                                    description=f"住在{ADDRESS}的老人上下楼难",
                                    source="resident", submitter_name=RESIDENT,
                                    submitter_phone=PHONE)
        pending = factories.issue(platform_id=platform_id, title="待审核的加装电梯诉求",
                                  source="resident", submitter_name=RESIDENT,
                                  submitter_phone=PHONE, needs_review=True)
        ids: dict[str, int] = {}

        def make(name: str, steps: list[tuple[str, dict]], *, year: int = 2025,
                 category: str = "society", kind: str = "joint", **extra) -> Proposal:
            people = ({"collective_kind": "federation", "collective_name": "市工商联",
                       "lead_member_id": None, "co_member_ids": []} if kind == "collective"
                      else {"collective_kind": None, "collective_name": None,
                            "lead_member_id": first.id,
                            "co_member_ids": [second.id] if kind == "joint" else []})
            proposal = create_proposal(
                actor=staff, title=f"关于{name}的提案", reasons=f"{name}的案由。",
                suggestions=f"{name}的建议。", category=category, timing="session", year=year,
                proposer_kind=kind, issues=[published, pending], **people)
            for action, values in steps:
                change_status(proposal, action, actor=staff, values=values)
            for field, value in extra.items():
                setattr(proposal, field, value)
            ids[name] = proposal.id
            return proposal

        accept = ("accept", {"lead_department": lead, "co_departments": [co]})
        make("草稿", [])
        make("待审查", [("submit", {})])
        make("不予立案", [("submit", {}), ("not_accept", {"reason": REVIEW_NOTE})])
        make("办理中", [("submit", {}), accept,
                     ("co_opinion", {"department": co, "opinion": CO_OPINION})])
        make("已办复", [("submit", {}), accept,
                     ("reply", {"outcome": "resolved", "reply": "已加装电梯 12 部。"})])
        make("不公开办复", [("submit", {}), accept,
                       ("reply", {"outcome": "planned", "reply": PRIVATE_REPLY})],
             reply_public=False)
        make("重新办理", [("submit", {}), accept,
                      ("reply", {"outcome": "constrained", "reply": "资金不足，暂缓。"}),
                      ("rate", {"rating": "unsatisfied", "rating_note": RATING_NOTE})])
        make("集体", [("submit", {}), ("accept", {"lead_department": other, "is_key": True})],
             kind="collective", category="economy", year=2024)
        make("个人", [("submit", {}), ("accept", {"lead_department": lead}),
                    ("reply", {"outcome": "planned", "reply": "列入明年计划。"}),
                    ("rate", {"rating": "satisfied"})], kind="member", category="ecology")
        db.session.commit()
        return Proposals(ids, lead.code, co.code, other.code, published.reference,
                         pending.reference)


@pytest.fixture(scope="module")
def _made(app, module_world) -> Proposals:
    """Built once, on the module's world, before its first test (tests/api/conftest.py)."""
    return _build(app, module_world.world)


@pytest.fixture()
def made(_made, world) -> Proposals:
    return _made


def listed(client, query: str = "") -> list[dict]:
    response = client.get(f"/api/v1/proposals?per_page=100&{query}")
    assert response.status_code == 200, response.text
    return response.json["items"]


def titles(items: list[dict]) -> set[str]:
    return {p["title"].removeprefix("关于").removesuffix("的提案") for p in items}


ACCEPTED = {"办理中", "已办复", "不公开办复", "重新办理", "集体", "个人"}
WORLD_ACCEPTED = {"accepted", "replied"}  # the API world's own (tests/support/api.py)


def test_only_accepted_proposals_are_listed_by_id(client, made):
    items = listed(client)
    assert [p["id"] for p in items] == sorted(p["id"] for p in items)
    assert titles(items) == ACCEPTED | WORLD_ACCEPTED
    for hidden in ("草稿", "待审查", "不予立案"):
        assert client.get(f"/api/v1/proposals/{made.ids[hidden]}").status_code == 404
    missing = client.get("/api/v1/proposals/99999999")
    assert missing.status_code == 404 and missing.json["error"]["code"] == "not_found"
    assert client.get("/api/v1/proposals/99999999999999").status_code == 404


def test_an_answered_proposal_shows_what_its_public_page_shows(client, made):
    answer = client.get(f"/api/v1/proposals/{made.ids['已办复']}")
    assert answer.status_code == 200
    p = answer.json
    assert p["title"] == "关于已办复的提案" and p["year"] == 2025
    assert p["number"].startswith("2025-")
    assert p["reasons"] == "已办复的案由。" and p["suggestions"] == "已办复的建议。"
    assert (p["category"], p["category_label"]) == ("society", "社会建设")
    assert (p["proposer_kind"], p["proposer_kind_label"]) == ("joint", "委员联名")
    assert [(m["name"], m["is_lead"]) for m in p["proposers"]] == [("李明", True),
                                                                   ("张华", False)]
    assert p["collective_name"] is None and p["collective_kind"] is None
    assert p["lead_department"]["name"] == "市测试局"
    assert [d["code"] for d in p["co_departments"]] == [made.co_code]
    assert (p["outcome"], p["outcome_label"], p["outcome_letter"]) == (
        "resolved", "已解决或采纳", "A")
    assert p["reply"] == "已加装电梯 12 部。" and p["reply_public"] is True
    assert p["replied_at"].endswith("+00:00")
    assert p["html_url"].endswith(f"/proposals/{p['id']}")
    assert p["url"].endswith(f"/api/v1/proposals/{p['id']}")
    # Only the published problem it grew from, by its public reference and title.
    assert p["issues"] == [{"reference": made.published_issue, "title": "老旧小区没有电梯",
                            "url": p["issues"][0]["url"],
                            "html_url": p["issues"][0]["html_url"]}]
    # The same proposal in the list, without the problems.
    [item] = [i for i in listed(client) if i["id"] == p["id"]]
    assert item == {k: v for k, v in p.items() if k != "issues"}
    assert answer.headers["ETag"] and answer.headers["Cache-Control"] == "no-cache"


def test_a_collective_proposal_names_the_body(client, made):
    p = client.get(f"/api/v1/proposals/{made.ids['集体']}").json
    assert p["proposers"] == [] and p["collective_name"] == "市工商联"
    assert (p["collective_kind"], p["collective_kind_label"]) == ("federation", "工商联")
    assert p["is_key"] is True and p["co_departments"] == []
    # Still being handled: no outcome and no reply.
    assert p["outcome"] is None and p["outcome_letter"] is None and p["reply"] is None
    assert p["replied_at"] is None


def test_reply_text_is_withheld_when_not_published_and_while_rehandled(client, made):
    private = client.get(f"/api/v1/proposals/{made.ids['不公开办复']}").json
    assert private["reply"] is None and private["reply_public"] is False
    assert private["outcome"] == "planned" and private["outcome_letter"] == "B"
    # 不满意 sent it back: 办理中 again, as on the public page.
    again = client.get(f"/api/v1/proposals/{made.ids['重新办理']}").json
    assert again["outcome"] is None and again["reply"] is None and again["replied_at"] is None
    everything = client.get("/api/v1/proposals?per_page=100").text
    assert PRIVATE_REPLY not in everything and "资金不足" not in everything


@pytest.mark.parametrize(("query", "expected"), [
    ("year=2024", {"集体"} | WORLD_ACCEPTED),
    ("category=economy", {"集体"}),
    ("category=ecology", {"个人"}),
    ("outcome=resolved", {"已办复", "replied"}),
    ("outcome=planned", {"不公开办复", "个人"}),
    ("outcome=constrained", set()),  # re-handled: its old answer does not count
    ("proposer_kind=member", {"个人"}),
    ("proposer_kind=collective", {"集体", "accepted"}),
    ("is_key=true", {"集体"}),
    ("is_key=false", ACCEPTED - {"集体"} | WORLD_ACCEPTED),
    ("q=不公开", {"不公开办复"}),
    ("year=2025&outcome=resolved&proposer_kind=joint", {"已办复"}),
])
def test_filters(client, made, query, expected):
    assert titles(listed(client, query)) == expected


def test_department_filter_matches_lead_and_co_handling(client, made):
    assert titles(listed(client, f"department={made.co_code}")) == {
        "办理中", "已办复", "不公开办复", "重新办理"}
    assert titles(listed(client, f"department={made.other_code}")) == {"集体"}
    assert "个人" in titles(listed(client, f"department={made.lead_code}"))


@pytest.mark.parametrize(("query", "field"), [
    ("department=NO-SUCH", "department"), ("outcome=A", "outcome"), ("year=abc", "year"),
    ("year=1999", "year"), ("is_key=maybe", "is_key"), ("proposer_kind=party", "proposer_kind"),
    ("category=health", "category"), ("per_page=101", "per_page"),
])
def test_bad_filters_are_400_naming_the_parameter(client, made, query, field):
    response = client.get(f"/api/v1/proposals?{query}")
    assert response.status_code == 400
    assert response.json["error"]["code"] == "invalid_parameter"
    assert field in response.json["error"]["fields"]


def test_paging_reaches_every_accepted_proposal_once(client, made):
    first = client.get("/api/v1/proposals?per_page=3")
    body = first.json
    assert body["total"] == 8 and body["total_exact"] is True and body["pages"] == 3
    assert 'rel="next"' in first.headers["Link"]
    seen = [p["id"] for p in body["items"]]
    following = body["links"]["next"]
    while following:
        page = client.get(following).json
        seen += [p["id"] for p in page["items"]]
        following = page["links"]["next"]
    assert seen == sorted(seen) and len(seen) == len(set(seen)) == 8
    after = client.get(f"/api/v1/proposals?after={seen[4]}").json
    assert [p["id"] for p in after["items"]] == seen[5:] and after["total"] == 3
    assert client.get("/api/v1/proposals?page=9").json["items"] == []


def test_no_personal_or_internal_data_in_any_answer(app, client, made):
    paths = ["/api/v1/proposals?per_page=100"]
    paths += [f"/api/v1/proposals/{p['id']}" for p in listed(client)]
    secrets = {RESIDENT, PHONE, PHONE[-4:], ADDRESS, "3 栋 502", SECRET_NAME, SECRET_PHONE,
               STAFF_NAME, STAFF_EMAIL, REVIEW_NOTE, RATING_NOTE, CO_OPINION, PRIVATE_REPLY,
               made.pending_issue, "待审核的加装电梯诉求", "submitter", "created_by",
               "rating", "review_note", "due_on", "reference\": \"TA"}
    for path in paths:
        response = client.get(path)
        assert response.status_code == 200, path
        text = response.get_data(as_text=True)
        leaked = {secret for secret in secrets if secret in text}
        assert leaked == set(), (path, leaked)


def test_lists_and_details_send_a_fixed_number_of_queries(app, client, made):
    detail = f"/api/v1/proposals/{made.ids['已办复']}"
    counts = []
    for path in ("/api/v1/proposals?per_page=100", detail):
        client.get(path)  # the process's first request loads what later ones reuse
        with count_queries(app) as sql:
            assert client.get(path).status_code == 200
        counts.append(len(sql))
    with app.test_request_context():
        lead = db.session.scalar(sa.select(Department).filter_by(code=made.lead_code))
        members = [factories.member() for _ in range(4)]
        extra = factories.issue(platform_id=None, title="又一个问题")
        for n in range(6):
            proposal = create_proposal(
                actor=None, title=f"追加提案{n}", reasons="案由。", suggestions="建议。",
                category="culture", timing="interim", year=2025, proposer_kind="joint",
                lead_member_id=members[0].id, co_member_ids=[m.id for m in members[1:]],
                collective_kind=None, collective_name=None)
            change_status(proposal, "submit", actor=None, values={})
            change_status(proposal, "accept", actor=None, values={"lead_department": lead})
        answered = db.session.get(Proposal, made.ids["已办复"])
        answered.issues.append(extra)
        db.session.commit()
    for path, before in zip(("/api/v1/proposals?per_page=100", detail), counts, strict=True):
        with count_queries(app) as sql:
            assert client.get(path).status_code == 200
        assert len(sql) == before <= 5, str(sql)
