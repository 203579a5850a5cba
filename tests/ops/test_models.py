"""Datetimes, enum checks and receipt references, on whichever database the run uses."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from consult_hub.core.db import utcnow
from consult_hub.extensions import db
from consult_hub.issues.models import Issue, ReferenceCounter
from consult_hub.models import Event, Platform
from tests.support import factories


def test_datetimes_come_back_aware_in_utc(ctx):
    beijing = timezone(timedelta(hours=8))
    start = datetime(2024, 6, 1, 19, 30, tzinfo=beijing)
    event = factories.event(starts_at=start, ends_at=start + timedelta(hours=2))
    db.session.commit()
    event_id = event.id
    db.session.expunge_all()
    stored = db.session.get(Event, event_id)
    assert stored.starts_at.tzinfo is not None
    assert stored.starts_at.utcoffset() == timedelta(0)
    assert stored.starts_at == datetime(2024, 6, 1, 11, 30, tzinfo=UTC)
    raw = db.session.execute(sa.text("SELECT starts_at FROM events")).scalar_one()
    if db.engine.dialect.name == "sqlite":
        assert str(raw).startswith("2024-06-01 11:30")  # stored as UTC


def test_naive_datetime_is_refused(ctx):
    with pytest.raises(sa.exc.StatementError):
        factories.event(starts_at=datetime(2024, 6, 1, 19, 30),
                        ends_at=datetime(2024, 6, 1, 21, 30))


def test_database_checks_enum_values(ctx):
    platform = factories.platform()
    db.session.commit()
    with pytest.raises(sa.exc.IntegrityError):
        db.session.execute(sa.text("UPDATE platforms SET kind = 'disco' WHERE id = :id"),
                           {"id": platform.id})
    db.session.rollback()


def test_event_must_end_after_it_starts(ctx):
    start = utcnow()
    with pytest.raises(sa.exc.IntegrityError):
        factories.event(starts_at=start, ends_at=start - timedelta(minutes=1))
    db.session.rollback()


def test_foreign_keys_are_enforced(ctx):
    with pytest.raises(sa.exc.IntegrityError):
        db.session.execute(sa.insert(Platform).values(
            code="X", name="x", kind="consult_room", area_id=424242, district_id=424242,
            address="x", established_on=datetime(2024, 1, 1).date(), status="active",
            created_at=utcnow(), updated_at=utcnow()))
    db.session.rollback()


def test_references_are_unique_short_and_sequential(ctx):
    platform = factories.platform()
    when = datetime(2024, 3, 1, 12, tzinfo=UTC)
    issues = [factories.issue(platform_id=platform.id, now=when) for _ in range(3)]
    db.session.commit()
    assert [i.reference for i in issues] == ["WH24-00001", "WH24-00002", "WH24-00003"]
    assert all(re.fullmatch(r"[A-Z]{2}\d{2}-\d{5}", i.reference) for i in issues)
    next_year = factories.issue(platform_id=platform.id, now=datetime(2025, 1, 2, tzinfo=UTC))
    assert next_year.reference == "WH25-00001"


def test_reference_year_follows_local_time(ctx):
    # 2024-12-31 17:00 UTC is already 2025-01-01 01:00 in Wuhan.
    issue = factories.issue(now=datetime(2024, 12, 31, 17, tzinfo=UTC))
    assert issue.reference.startswith("WH25-")


def test_reference_counter_survives_and_continues(ctx):
    db.session.add(ReferenceCounter(prefix="WH24", last_value=1300))
    db.session.commit()
    issue = factories.issue(now=datetime(2024, 5, 5, tzinfo=UTC))
    assert issue.reference == "WH24-01301"


def test_new_issue_starts_received_with_timeline(ctx):
    issue = factories.issue(submitter_name="张女士", submitter_phone="13800001234")
    db.session.commit()
    stored = db.session.get(Issue, issue.id)
    assert stored.status.value == "received"
    assert [(u.action, u.to_status.value) for u in stored.updates] == [("receive", "received")]
    assert stored.district_id == stored.platform.district_id
    assert stored.tracking_token and len(stored.tracking_token) >= 24


def test_concurrent_submissions_get_distinct_references(app):
    import threading

    with app.app_context():
        platform_id = factories.platform().id
        db.session.commit()
    references: list[str] = []
    errors: list[BaseException] = []

    def submit(count: int) -> None:
        try:
            for _ in range(count):
                with app.app_context():
                    platform = db.session.get(Platform, platform_id)
                    references.append(factories.issue(platform_id=platform.id).reference)
                    db.session.commit()
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=submit, args=(10,)) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len(references) == 30 and len(set(references)) == 30


def test_city_level_department_names_are_unique(ctx):
    factories.department(name="市水务局")
    district = factories.district()
    factories.department(name="市水务局", district_id=district.id)  # a district's own office
    with pytest.raises(sa.exc.IntegrityError):
        factories.department(name="市水务局")
    db.session.rollback()


@pytest.mark.parametrize(
    ("source", "absent"),
    [
        ("<script>alert(1)</script>", "<script"),
        ("[x](javascript:alert(1))", "javascript:"),
        ('<img src=x onerror="alert(1)">', "onerror"),
        ("<iframe src='//evil'></iframe>", "<iframe"),
    ],
)
def test_markdown_is_sanitised(source, absent):
    from consult_hub.core.markdown import render_markdown

    assert absent not in str(render_markdown(source)).lower()


def test_markdown_keeps_plain_formatting():
    from consult_hub.core.markdown import render_markdown

    html = str(render_markdown("**议定事项**\n\n1. 增设车位\n2. 错峰停车"))
    assert "<strong>议定事项</strong>" in html and "<ol>" in html and "<li>增设车位</li>" in html


# Minutes as people type them: Chinese and its punctuation, digits, Latin letters, spaces (also
# ideographic ones), line breaks and blank lines, and now and then a character Markdown reads.
TYPED = st.text(alphabet=st.sampled_from(
    list("议事协商居民电梯加装，。、；：？！“”（）《》—…·") + list("0123456789abcXYZ")
    + [" ", " ", "\u3000", "\n", "\n", "\n", "\t", "\r", "\xa0", "\u2028"]
    + list("\\`*_{}[]<>()#+-.!|&~=:;,'\"/%$@^")), max_size=60)


@settings(max_examples=400, deadline=None, derandomize=True)
@given(text=TYPED)
def test_plain_text_renders_as_the_markdown_converter_renders_it(text):
    """Text with nothing Markdown reads as markup skips the converter (core/markdown.py); the
    HTML must be the converter's, whatever the text."""
    from consult_hub.core import markdown

    converted = markdown._converter().reset().convert(text) if text else ""
    assert markdown.render_markdown(text) == markdown.sanitised(converted)


def test_conflict_values_read_as_labels_names_and_local_times(ctx):
    from consult_hub.core.conflicts import EditConflict, readable

    platform = factories.platform(is_demonstration=False)
    conflict = EditConflict(changed={
        "kind": ("consult_room", "member_studio"),
        "district_id": (None, platform.district_id),
        "is_demonstration": (False, True),
        "address": ("旧址", "新址"),
    })
    shown = readable(conflict, Platform).changed
    assert shown["kind"] == ("协商议事室", "委员工作室")
    assert shown["district_id"] == (None, platform.district.name)
    assert shown["is_demonstration"] == ("否", "是")
    assert shown["address"] == ("旧址", "新址")
    event_conflict = EditConflict(changed={"starts_at": ("2024-06-01T11:30:00+00:00", None),
                                           "category": ("society", "economy")})
    shown = readable(event_conflict, Event).changed
    assert shown["starts_at"] == ("2024-06-01 19:30", None)
    assert shown["category"] == ("社会建设", "经济建设")
