"""Residents' side: submitting a problem (form and Open311), a closed problem to rate or reopen."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from consult_hub.core.db import utcnow
from consult_hub.extensions import db
from consult_hub.issues.operations import change_status
from consult_hub.models import Issue, IssueSource
from tests.support import factories
from tests.support.auth import csrf_token


def submit(client: FlaskClient, platform_id: int, **fields: Any):
    """Post the submission form as a resident would, with valid values unless overridden."""
    path = f"/submit?platform={platform_id}"
    data = {"csrf_token": csrf_token(client, path), "platform": platform_id,
            "title": "小区东门路灯坏了",
            "description": "东门两盏路灯不亮已有一周，晚上出行不便。", "name": "", "phone": "",
            "website": "", "consent": "y"}
    data.update(fields)
    return client.post(path, data=data)


def closed_issue(app: Flask, platform_id: int, *, phone: str = "13900001234",
                 action: str = "resolve") -> Issue:
    """A resident's problem, resolved (or constrained) and not yet rated."""
    with app.app_context():
        issue = factories.issue(platform_id=platform_id, source=IssueSource.RESIDENT,
                                submitter_phone=phone)
        if action == "constrain":
            change_status(issue, "assign", actor_id=None, department=factories.department(),
                          due_on=utcnow().date() + timedelta(days=5))
        change_status(issue, action, actor_id=None, resolution="已修复路灯。")
        db.session.commit()
        db.session.refresh(issue)
        db.session.expunge(issue)
        return issue


DESCRIPTION = "东门两盏路灯不亮已有一周，晚上出行不便，老人孩子都怕摔跤，希望尽快维修。"


def open311_post(client: FlaskClient, fmt: str = "json", **fields: Any):
    data = {"service_code": "doorstep.society",
            "description": DESCRIPTION}
    data.update(fields)
    return client.post(f"/open311/v2/requests.{fmt}", data=data)
