"""Write routes of Open311: a resident's submission, open to anyone with valid data."""

from __future__ import annotations

from tests.support.access import OK, ROLES, Route

ROUTES = [
    Route("open311.create_request", lambda w: "/open311/v2/requests.json",
          {role: OK for role in ROLES},
          data=lambda w: {"service_code": "doorstep.society", "description": "东门路灯不亮。",
                          "attribute[platform]": w.platform.code}),
]
