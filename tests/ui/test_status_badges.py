"""Status badges: every status of a problem has its tone, the new review and department
statuses the same as the rest of the way to an answer."""

from __future__ import annotations

from flask import Flask, render_template_string

from consult_hub.issues.models import CLOSED_STATUSES, IssueStatus
from consult_hub.notifications.models import EmailStatus


def _badge(app: Flask, status: object) -> str:
    with app.test_request_context("/"):
        return render_template_string(
            '{% from "_macros/badges.html" import status_badge %}{{ status_badge(s) }}',
            s=status)


def test_a_problem_on_its_way_shows_in_the_info_tone(app: Flask) -> None:
    for status in IssueStatus:
        if status in CLOSED_STATUSES:
            continue
        assert _badge(app, status) == f'<span class="badge badge-info">{status.label}</span>'
    assert 'badge-info">待受理<' in _badge(app, IssueStatus.PENDING)
    assert 'badge-info">已签收<' in _badge(app, IssueStatus.ACKNOWLEDGED)
    assert 'badge-info">已答复待确认<' in _badge(app, IssueStatus.REPLIED)
    assert 'badge-success">' in _badge(app, IssueStatus.RESOLVED)


def test_a_notification_waiting_to_be_sent_keeps_its_tone(app: Flask) -> None:
    assert 'badge-info">待发送<' in _badge(app, EmailStatus.PENDING)
    assert 'badge-danger">' in _badge(app, EmailStatus.FAILED)
