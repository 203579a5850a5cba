"""The report tests' place: two districts with a platform each, their people, members with
accounts, a held event and a published problem at the first platform."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest

from consult_hub.core.db import utcnow
from consult_hub.extensions import db
from consult_hub.models import EventStatus, PlatformKind
from tests.support import factories


@dataclass
class Place:
    district_id: int
    other_district_id: int
    platform_id: int
    other_platform_id: int
    member_id: int
    other_member_id: int
    event_id: int
    other_event_id: int
    issue_id: int
    pending_issue_id: int
    staff: str = "wangli"  # district staff of the first district
    other_staff: str = "zhaowu"
    coordinator: str = "zhanghui"  # the first platform's
    other_coordinator: str = "lisi"
    admin: str = "liumin"
    member: str = "liming"  # serves at the first platform
    other_member: str = "sunli"


@pytest.fixture()
def place(app) -> Place:
    with app.app_context():
        district = factories.district(name="江岸区")
        other = factories.district(name="武昌区")
        platform = factories.platform(district_id=district.id, name="百步亭社情民意联系点",
                                      kind=PlatformKind.LIAISON_POINT)
        other_platform = factories.platform(district_id=other.id, name="武昌某议事室")
        member = factories.member(name="李明", district_id=district.id)
        other_member = factories.member(name="孙丽", district_id=other.id)
        platform.members.append(member)
        other_platform.members.append(other_member)
        factories.user("district_admin", district_id=district.id, username="wangli", name="王丽")
        factories.user("district_admin", district_id=other.id, username="zhaowu", name="赵武")
        factories.user("coordinator", platform_ids=[platform.id], username="zhanghui",
                       name="张慧")
        factories.user("coordinator", platform_ids=[other_platform.id], username="lisi",
                       name="李四")
        factories.user("admin", username="liumin", name="刘敏")
        factories.user("member", member_id=member.id, username="liming", name="李明")
        factories.user("member", member_id=other_member.id, username="sunli", name="孙丽")
        held_at = utcnow() - timedelta(days=3)
        event = factories.event(
            platform_id=platform.id, topic="老旧小区加装电梯协商", status=EventStatus.HELD,
            starts_at=held_at, ends_at=held_at + timedelta(hours=2), minutes="会议纪要。",
            opinions="分步推进加装电梯，设立协调小组。")
        other_event = factories.event(
            platform_id=other_platform.id, topic="停车难协商", status=EventStatus.HELD,
            starts_at=held_at, ends_at=held_at + timedelta(hours=2), minutes="纪要。")
        issue = factories.issue(platform_id=platform.id, title="电梯加装资金缺口",
                                description="三栋楼居民筹资不足。", submitter_name="赵六",
                                submitter_phone="13900001111")
        pending = factories.issue(platform_id=platform.id, needs_review=True,
                                  title="私人来信", description="我家电话13900002222")
        db.session.commit()
        return Place(district.id, other.id, platform.id, other_platform.id, member.id,
                     other_member.id, event.id, other_event.id, issue.id, pending.id)
