"""The transition table of opinion reports: every action's effect, and refusals that name the
field and change nothing."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from consult_hub.core.db import utcnow
from consult_hub.core.errors import ValidationFailed
from consult_hub.core.timefmt import local_today
from consult_hub.extensions import db
from consult_hub.opinions import lifecycle
from consult_hub.opinions.models import ForwardLevel, OpinionReport, OpinionSource, OpinionStatus
from consult_hub.opinions.operations import change_status, format_reference
from tests.support.opinions import report

S = OpinionStatus


@pytest.fixture()
def platform(ctx):
    from tests.support import factories

    return factories.platform()


def test_reference_counts_within_the_year(ctx, platform):
    first, second = report(platform=platform), report(platform=platform)
    assert first.reference.startswith("SQ20") and first.reference.endswith("-0001")
    assert second.reference == first.reference[:-4] + "0002"
    assert format_reference(2024, 12) == "SQ2024-0012"


def test_source_and_district_are_derived(ctx, platform):
    from tests.support import factories

    member = factories.member(district_id=factories.district().id)
    assert (report(platform=platform).source, report(platform=platform).district_id) == (
        OpinionSource.PLATFORM, platform.district_id)
    by_member = report(member=member)
    assert (by_member.source, by_member.district_id) == (OpinionSource.MEMBER,
                                                         member.district_id)
    at_platform = report(member=member, platform=platform)
    assert (at_platform.source, at_platform.district_id) == (OpinionSource.MEMBER,
                                                             platform.district_id)
    office = report(district_id=platform.district_id)
    assert (office.source, office.district_id) == (OpinionSource.DISTRICT, platform.district_id)


def test_submit_then_adopt_forward_instruct_follow_up(ctx, platform):
    made = report(platform=platform)
    assert made.status is S.DRAFT and made.submitted_at is None
    change_status(made, "submit", actor_id=None)
    assert made.status is S.SUBMITTED and made.submitted_at is not None
    change_status(made, "adopt", actor_id=None, bulletin_issue="《社情民意》2024年第12期")
    assert (made.status, made.bulletin_issue) == (S.ADOPTED, "《社情民意》2024年第12期")
    assert made.decided_at is not None
    change_status(made, "forward", actor_id=None, forwarded_to="province")
    assert made.forwarded_to is ForwardLevel.PROVINCE and made.forwarded_at is not None
    change_status(made, "forward", actor_id=None, forwarded_to="national")
    assert made.forwarded_to is ForwardLevel.NATIONAL
    assert "forward" not in {t.action for t in lifecycle.allowed_actions(made)}
    assert "follow_up" not in {t.action for t in lifecycle.allowed_actions(made)}
    today = local_today(utcnow())  # the people's day: after 16:00 UTC, UTC's tomorrow
    change_status(made, "instruct", actor_id=None, instruction_leader="市委主要领导",
                  instruction_text="请研究办理。", instructed_on=today)
    assert (made.instruction_leader, made.instructed_on) == ("市委主要领导", today)
    assert "instruct" not in {t.action for t in lifecycle.allowed_actions(made)}
    change_status(made, "follow_up", actor_id=None, follow_up="已出台补贴办法。")
    change_status(made, "follow_up", actor_id=None, follow_up="已有三栋楼开工。")
    assert made.follow_up == "已有三栋楼开工。" and made.status is S.ADOPTED


def test_not_adopt_keeps_the_reason_and_is_final(ctx, platform):
    made = report("submit", platform=platform)
    change_status(made, "not_adopt", actor_id=None, reason="与已编发信息重复")
    assert (made.status, made.decision_note) == (S.NOT_ADOPTED, "与已编发信息重复")
    assert lifecycle.allowed_actions(made) == []


def test_return_sends_it_back_to_draft_until_sent_again(ctx, platform):
    made = report("submit", platform=platform)
    change_status(made, "return", actor_id=None, reason="请补充数据")
    assert (made.status, made.submitted_at, made.decision_note) == (S.DRAFT, None, "请补充数据")
    change_status(made, "submit", actor_id=None)
    assert made.status is S.SUBMITTED and made.decision_note is None


@pytest.mark.parametrize(("steps", "action", "values", "field"), [
    ((), "adopt", {"bulletin_issue": "第1期"}, "action"),
    (("submit",), "adopt", {"bulletin_issue": "  "}, "bulletin_issue"),
    (("submit",), "adopt", {"bulletin_issue": "期" * 65}, "bulletin_issue"),
    (("submit",), "adopt", {"bulletin_issue": "第1期", "reason": "x"}, "reason"),
    (("submit",), "not_adopt", {"reason": ""}, "reason"),
    (("submit",), "forward", {"forwarded_to": "province"}, "action"),
    (("submit", "adopt"), "forward", {"forwarded_to": "city"}, "forwarded_to"),
    (("submit", "adopt", "forward"), "forward", {"forwarded_to": "province"}, "forwarded_to"),
    (("submit", "adopt"), "instruct", {"instruction_leader": "市长", "instruction_text": "阅",
                                       "instructed_on": None}, "instructed_on"),
    (("submit", "adopt"), "instruct", {"instruction_leader": "市长", "instruction_text": "阅",
                                       "instructed_on": date.today() + timedelta(days=2)},
     "instructed_on"),
    (("submit", "adopt"), "follow_up", {"follow_up": "已办"}, "action"),
    (("submit", "adopt", "instruct"), "follow_up", {"follow_up": ""}, "follow_up"),
    ((), "withdraw", {}, "action"),
])
def test_refusal_names_the_field_and_changes_nothing(ctx, platform, steps, action, values,
                                                     field):
    made = report(*steps, platform=platform)
    db.session.flush()
    before = {c.name: getattr(made, c.key) for c in OpinionReport.__table__.columns
              if hasattr(made, c.key)}
    with pytest.raises(ValidationFailed) as refused:
        change_status(made, action, actor_id=None, **values)
    assert field in refused.value.errors
    after = {c.name: getattr(made, c.key) for c in OpinionReport.__table__.columns
             if hasattr(made, c.key)}
    assert after == before


def test_instruction_may_not_predate_adoption(ctx, platform):
    made = report("submit", "adopt", platform=platform)
    with pytest.raises(ValidationFailed) as refused:
        change_status(made, "instruct", actor_id=None, instruction_leader="市长",
                      instruction_text="阅", instructed_on=date(2000, 1, 1))
    assert "instructed_on" in refused.value.errors


def test_changes_work_on_a_generator_row(ctx):
    """The demo generator builds rows from the same table, without a report object."""
    row = {"status": "submitted", "forwarded_to": None, "instructed_on": None}
    changes = lifecycle.TRANSITIONS["adopt"].changes(
        S.SUBMITTED, {"bulletin_issue": "第3期"}, "T", row)
    assert changes == {"bulletin_issue": "第3期", "decision_note": None, "status": S.ADOPTED,
                       "decided_at": "T"}
    assert lifecycle.TRANSITIONS["forward"].allows({**row, "status": "adopted"})
    assert not lifecycle.TRANSITIONS["follow_up"].allows({**row, "status": "adopted"})
