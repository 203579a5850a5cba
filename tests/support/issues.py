"""Issue helpers shared by the issue test modules: their place, lifecycle walks, action forms."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask.testing import FlaskClient

from consult_hub.extensions import db
from consult_hub.issues.models import Issue
from consult_hub.issues.operations import change_status
from consult_hub.models import Department
from tests.support.auth import csrf_token


def today() -> date:
    """Today in the people's zone (the app's default TIMEZONE), usable outside the app."""
    return datetime.now(ZoneInfo("Asia/Shanghai")).date()


@dataclass
class Place:
    """A district with a platform, its coordinator and staff, departments, and a second district."""

    district_id: int
    platform_id: int
    other_platform_id: int
    department_id: int
    other_department_id: int  # belongs to the other district
    staff: str = "wangli"
    coordinator: str = "zhanghui"
    other_coordinator: str = "lisi"
    admin: str = "liumin"


def walk(issue_id: int, *actions: str, department_id: int | None = None) -> None:
    """Take lifecycle actions on a stored problem with the smallest valid input."""
    issue = db.session.get(Issue, issue_id)
    for action in actions:
        values: dict[str, Any] = {
            "assign": {"department": db.session.get(Department, department_id),
                       "due_on": today() + timedelta(days=14)},
            "start": {},
            "resolve": {"resolution": "已协调物业增设夜间临时车位 40 个。"},
            "plan": {"planned_on": today() + timedelta(days=60)},
            "constrain": {"resolution": "涉及规划调整，一时难以实施。"},
            "reject": {"reason": "不属于受理范围。"},
            "reopen": {"reason": "居民反映仍未解决。"},
            "note": {"note": "已约谈物业。"},
        }[action]
        change_status(issue, action, actor_id=None, **values)
    db.session.commit()


def form_state(client: FlaskClient, issue_id: int, action: str) -> dict[str, str]:
    """The hidden fields of one action's form as the page serves it (version, seen)."""
    html = client.get(f"/manage/issues/{issue_id}").text
    form = html.split(f'action="/manage/issues/{issue_id}/act/{action}"')[1].split("</form>")[0]
    fields = dict(re.findall(r'<input[^>]*name="(version|seen)"[^>]*value="([^"]*)"', form))
    fields["csrf_token"] = csrf_token(client, f"/manage/issues/{issue_id}")
    return fields


def act(client: FlaskClient, issue_id: int, action: str, **data: Any):
    return client.post(f"/manage/issues/{issue_id}/act/{action}",
                       data={**form_state(client, issue_id, action), **data})


def stored(app, issue_id: int) -> Issue:
    with app.app_context():
        issue = db.session.get(Issue, issue_id)
        db.session.expunge(issue)
        return issue
