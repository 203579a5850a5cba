"""Opinion-report helpers shared by tests/opinions and the access matrix: a report walked
through its lifecycle, the action post, and the stored row."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from consult_hub.extensions import db
from consult_hub.opinions.models import OpinionReport
from consult_hub.opinions.operations import change_status, create_report
from tests.support.auth import csrf_token
from tests.support.issues import today

# The values each action takes when a test walks a report through it.
STEP_VALUES: dict[str, dict[str, Any]] = {
    "submit": {},
    "adopt": {"bulletin_issue": "《社情民意》2024年第12期"},
    "not_adopt": {"reason": "与已编发信息重复"},
    "return": {"reason": "请补充具体数据"},
    "forward": {"forwarded_to": "province"},
    "instruct": {"instruction_leader": "市委主要领导", "instruction_text": "请市住建局研究办理。",
                 "instructed_on": None},  # today, in the people's zone (``step_values``)
    "follow_up": {"follow_up": "市住建局已出台加装电梯补贴办法。"},
}


def step_values(action: str) -> dict[str, Any]:
    values = dict(STEP_VALUES[action])
    if action == "instruct":
        values["instructed_on"] = today()
    return values


def report(*actions: str, author: Any = None, platform: Any = None, member: Any = None,
           district_id: int | None = None, events: Any = (), issues: Any = (),
           **kwargs: Any) -> OpinionReport:
    """A report (flushed, not committed) walked through ``actions``."""
    values: dict[str, Any] = {"title": "关于加快老旧小区加装电梯的建议",
                              "body": "百步亭花园居民反映加装电梯协调难。", "category": "society",
                              "is_livelihood": True}
    values.update(kwargs)
    made = create_report(author=author, platform=platform, member=member,
                         district_id=district_id, events=list(events), issues=list(issues),
                         **values)
    for action in actions:
        change_status(made, action, actor_id=None, **step_values(action))
    return made


def act(client: FlaskClient, report_id: int, action: str, **data: Any):
    """Post ``action`` from the report's page, with the version the page shows."""
    page = f"/manage/opinion-reports/{report_id}"
    token = csrf_token(client, page)
    data.setdefault("version", str(stored_version(client.application, report_id)))
    return client.post(f"{page}/act/{action}", data={"csrf_token": token, **data})


def stored(app: Flask, report_id: int) -> OpinionReport:
    with app.app_context():
        found = db.session.get(OpinionReport, report_id)
        assert found is not None
        _ = (found.events, found.issues)
        db.session.expunge(found)
        return found


def stored_version(app: Flask, report_id: int) -> int:
    return stored(app, report_id).version
