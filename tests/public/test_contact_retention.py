"""Residents' contact details are erased CONTACT_RETENTION_MONTHS after their problem closes.

The scheduler's daily sweep (issues/retention.py) empties the name and phone, takes phone and
ID-card numbers out of the resident's own words, stamps contact_erased_at and writes one
audit row per problem; the public text, the answer and the problem's version stay.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from flask import Flask

from consult_hub.config import Config
from consult_hub.extensions import db
from consult_hub.issues.operations import change_status
from consult_hub.issues.retention import ERASED_ACTION, erase_expired_contacts, months_before
from consult_hub.models import AuditLog, Issue
from consult_hub.scheduler import JOBS
from tests.support import factories

NOW = datetime(2026, 6, 15, 2, 0, tzinfo=UTC)  # cut-off with 12 months: 2025-06-15 02:00 UTC
NAME, PHONE, ID_NUMBER = "欧阳秀英", "13912345678", "42010219800101123X"
OWN_TEXT = f"我是{NAME}，电话 {PHONE}，身份证 {ID_NUMBER}，楼下路灯坏了。"
PUBLIC_TITLE, PUBLIC_SUMMARY, ANSWER = "东门路灯损坏", "东门两盏路灯损坏。", "路灯已更换。"


def resident_problem(closed: datetime | None, *, reopened: datetime | None = None,
                     **contact: str | None) -> Issue:
    """A resident's submission, accepted and resolved at ``closed`` (and reopened after)."""
    raised = (closed or NOW) - timedelta(days=30)
    issue = factories.issue(source="resident", title="居民原话标题", description=OWN_TEXT,
                            needs_review=True, now=raised,
                            **{"submitter_name": NAME, "submitter_phone": PHONE, **contact})
    change_status(issue, "accept", actor_id=None, title=PUBLIC_TITLE,
                  description=PUBLIC_SUMMARY, now=raised + timedelta(days=1))
    if closed is not None:
        change_status(issue, "resolve", actor_id=None, resolution=ANSWER, now=closed)
    if reopened is not None:
        change_status(issue, "reopen", actor_id=None, reason="居民不满意。", now=reopened)
    return issue


def snapshot(issue_id: int) -> dict[str, object]:
    issue = db.session.get(Issue, issue_id)
    db.session.refresh(issue)
    return {name: getattr(issue, name) for name in (
        "submitter_name", "submitter_phone", "submitted_title", "submitted_text",
        "contact_erased_at", "title", "description", "resolution", "status", "closed_at",
        "updated_at", "version", "tracking_token")}


def erasures() -> list[AuditLog]:
    return list(db.session.scalars(sa.select(AuditLog).where(AuditLog.action == ERASED_ACTION)
                                   .order_by(AuditLog.entity_id)))


def test_contact_details_are_erased_a_year_after_closing_once_and_audited(app: Flask,
                                                                          client) -> None:
    with app.test_request_context():
        expired = resident_problem(NOW - timedelta(days=380))
        only_a_name = resident_problem(NOW - timedelta(days=500), submitter_phone=None)
        recent = resident_problem(datetime(2025, 6, 16, tzinfo=UTC))  # 12 months on the 16th
        reopened = resident_problem(NOW - timedelta(days=700), reopened=NOW - timedelta(days=600))
        still_open = resident_problem(None)
        staff_raised = factories.issue(now=NOW - timedelta(days=900))  # no contact details
        change_status(staff_raised, "resolve", actor_id=None, resolution=ANSWER,
                      now=NOW - timedelta(days=800))
        db.session.commit()
        ids = {name: issue.id for name, issue in (
            ("expired", expired), ("only_a_name", only_a_name), ("recent", recent),
            ("reopened", reopened), ("still_open", still_open), ("staff", staff_raised))}
        before = {name: snapshot(issue_id) for name, issue_id in ids.items()}

        # Two at a time: the sweep goes through every expired problem batch by batch.
        assert erase_expired_contacts(NOW, batch=2) == {"checked": 3, "erased": 2}
        after = {name: snapshot(issue_id) for name, issue_id in ids.items()}

        erased = after["expired"]
        assert (erased["submitter_name"], erased["submitter_phone"]) == (None, None)
        gone = "［已删除］"
        assert erased["submitted_text"] == f"我是{gone}，电话 {gone}，身份证 {gone}，楼下路灯坏了。"
        assert erased["submitted_title"] == "居民原话标题"
        assert erased["contact_erased_at"] == NOW
        # What the public and staff work with is untouched: text, answer, time, version.
        for name in ("title", "description", "resolution", "status", "closed_at", "updated_at",
                     "version", "tracking_token"):
            assert erased[name] == before["expired"][name], name
        assert (after["only_a_name"]["submitter_name"], after["only_a_name"]["contact_erased_at"]
                ) == (None, NOW)
        assert after["only_a_name"]["submitted_text"].startswith("我是［已删除］，电话")
        # Closed less than 12 months ago, reopened (no longer closed), open: all kept.
        for name in ("recent", "reopened", "still_open"):
            assert after[name] == before[name], name
        # Nothing to erase: stamped so that no later sweep looks at it again, not audited.
        assert after["staff"]["contact_erased_at"] == NOW
        assert {k: v for k, v in after["staff"].items() if k != "contact_erased_at"} == \
            {k: v for k, v in before["staff"].items() if k != "contact_erased_at"}

        rows = erasures()
        assert [row.entity_id for row in rows] == sorted([ids["expired"], ids["only_a_name"]])
        assert {row.entity_type for row in rows} == {"issues"} and \
            {row.actor_id for row in rows} == {None}
        expired_row = next(row for row in rows if row.entity_id == ids["expired"])
        assert expired_row.changes["fields"] == ["submitter_name", "submitter_phone",
                                                 "submitted_text"]
        assert expired_row.changes["retention_months"] == 12
        assert PHONE not in str(expired_row.changes) and NAME not in str(expired_row.changes)

        # Idempotent: a second run (or a second scheduler) finds nothing more.
        assert erase_expired_contacts(NOW) == {"checked": 0, "erased": 0}
        assert len(erasures()) == 2
        # Two days later the problem closed on 2025-06-16 has had its 12 months too.
        assert erase_expired_contacts(NOW + timedelta(days=2)) == {"checked": 1, "erased": 1}
        assert snapshot(ids["recent"])["submitter_phone"] is None
        reference, token = expired.reference, expired.tracking_token

    # The outcome stays public as it was; the resident's link still shows their (redacted) words.
    public = client.get(f"/issues/{reference}").text
    assert PUBLIC_TITLE in public and ANSWER in public
    tracking = client.get(f"/track/{token}").text
    assert "［已删除］" in tracking
    for erased_data in (NAME, PHONE, ID_NUMBER):
        assert erased_data not in tracking


def test_the_retention_period_is_configurable(app: Flask, monkeypatch) -> None:
    monkeypatch.setitem(app.config, "CONTACT_RETENTION_MONTHS", 24)
    with app.test_request_context():
        kept = resident_problem(NOW - timedelta(days=400))
        gone = resident_problem(NOW - timedelta(days=800))
        db.session.commit()
        assert erase_expired_contacts(NOW) == {"checked": 1, "erased": 1}
        assert snapshot(kept.id)["submitter_phone"] == PHONE
        assert snapshot(gone.id)["submitter_phone"] is None
        assert erasures()[0].changes["retention_months"] == 24


def test_the_scheduler_sweeps_daily(app: Flask) -> None:
    [(_name, job, trigger)] = [j for j in JOBS if j[0] == "contact_retention"]
    assert trigger["trigger"] == "cron" and "day" not in trigger  # every day
    with app.test_request_context():
        issue = resident_problem(NOW - timedelta(days=400))
        db.session.commit()
        assert job(NOW) == {"checked": 1, "erased": 1}
        assert snapshot(issue.id)["submitter_name"] is None


def test_the_setting_defaults_to_a_year_and_refuses_nonsense(monkeypatch) -> None:
    monkeypatch.delenv("CONTACT_RETENTION_MONTHS", raising=False)
    assert Config().CONTACT_RETENTION_MONTHS == 12
    monkeypatch.setenv("CONTACT_RETENTION_MONTHS", "0")
    with pytest.raises(ValueError, match="CONTACT_RETENTION_MONTHS"):
        Config()


@pytest.mark.parametrize(("moment", "months", "expected"), [
    (datetime(2026, 6, 15, 2, 0, tzinfo=UTC), 12, datetime(2025, 6, 15, 2, 0, tzinfo=UTC)),
    (datetime(2025, 3, 31, tzinfo=UTC), 1, datetime(2025, 2, 28, tzinfo=UTC)),
    (datetime(2024, 3, 31, tzinfo=UTC), 1, datetime(2024, 2, 29, tzinfo=UTC)),
    (datetime(2026, 1, 10, tzinfo=UTC), 13, datetime(2024, 12, 10, tzinfo=UTC)),
])
def test_months_are_calendar_months(moment: datetime, months: int, expected: datetime) -> None:
    assert months_before(moment, months) == expected
