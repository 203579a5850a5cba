"""The proposal tests' place: a district with two platforms, members with accounts, staff,
two departments with contacts, and residents' problems to start from."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from consult_hub.extensions import db
from consult_hub.issues.operations import change_status as issue_change
from consult_hub.models import Platform
from consult_hub.proposals.models import Proposal
from tests.support import factories
from tests.support.auth import csrf_token

RESIDENT, PHONE = "欧阳秀英", "13912345678"


@dataclass
class ProposalPlace:
    district_id: int
    platform_id: int
    other_platform_id: int
    member_id: int  # 李明, signs in as "liming", serves the first platform
    other_member_id: int  # 张华, "zhanghua", serves the other platform
    lead_department_id: int  # 市住房和城市更新局, contact "zhujian"
    co_department_id: int  # 市财政局, contact "caizheng"
    issue_ids: tuple[int, int]  # two published problems on the first platform
    other_issue_id: int  # a problem on the other platform


@pytest.fixture()
def place(app: Flask) -> ProposalPlace:
    with app.app_context():
        district = factories.district(name="江岸区")
        platform = factories.platform(district_id=district.id, name="百步亭社区协商议事室")
        other_platform = factories.platform(district_id=district.id, name="后湖协商议事室")
        liming = factories.member(name="李明", district_id=district.id)
        zhanghua = factories.member(name="张华", district_id=district.id)
        factories.member(name="王芳", district_id=district.id)
        db.session.get(Platform, platform.id).members.append(liming)
        db.session.get(Platform, other_platform.id).members.append(zhanghua)
        factories.user("member", member_id=liming.id, username="liming", name="李明")
        factories.user("member", member_id=zhanghua.id, username="zhanghua", name="张华")
        factories.user("admin", username="liumin", name="刘敏")
        factories.user("district_admin", district_id=district.id, username="wangli", name="王丽")
        factories.user("coordinator", platform_ids=[platform.id], username="zhanghui")
        lead = factories.department(name="市住房和城市更新局")
        co = factories.department(name="市财政局")
        factories.department_user(lead.id, username="zhujian", name="朱建")
        factories.department_user(co.id, username="caizheng", name="蔡正")
        issues = []
        for title, text in (("老旧小区没有电梯，老人上下楼难", "6 层住宅，住着 30 多位老人。"),
                            ("加装电梯审批手续繁琐", "居民反映要跑 5 个部门盖章。")):
            issue = factories.issue(platform_id=platform.id, title=title, description=text,
                                    source="resident", submitter_name=RESIDENT,
                                    submitter_phone=PHONE)
            issues.append(issue)
        other = factories.issue(platform_id=other_platform.id, title="后湖路口积水")
        issue_change(other, "note", actor_id=None, note="已记录。")
        db.session.commit()
        return ProposalPlace(district.id, platform.id, other_platform.id, liming.id,
                             zhanghua.id, lead.id, co.id, (issues[0].id, issues[1].id),
                             other.id)


def form_state(client: FlaskClient, proposal_id: int, action: str) -> dict[str, str]:
    """The hidden fields of one action's form as the page serves it."""
    html = client.get(f"/manage/proposals/{proposal_id}").text
    marker = f'action="/manage/proposals/{proposal_id}/act/{action}"'
    assert marker in html, f"no {action} form on the page"
    form = html.split(marker)[1].split("</form>")[0]
    fields = dict(re.findall(r'<input[^>]*name="(version|seen)"[^>]*value="([^"]*)"', form))
    fields["csrf_token"] = csrf_token(client, f"/manage/proposals/{proposal_id}")
    return fields


def act(client: FlaskClient, proposal_id: int, action: str, **data: Any):
    return client.post(f"/manage/proposals/{proposal_id}/act/{action}",
                       data={**form_state(client, proposal_id, action), **data})


def stored(app: Flask, proposal_id: int) -> Proposal:
    with app.app_context():
        proposal = db.session.get(Proposal, proposal_id)
        db.session.refresh(proposal)
        _ = (proposal.departments, proposal.proposers, proposal.updates, proposal.issues)
        db.session.expunge_all()
        return proposal
