"""Write routes of the residents' site: open to everyone, signed in or not."""

from __future__ import annotations

from consult_hub.issues.operations import change_status
from tests.support import factories
from tests.support.access import OK, ROLES, Route, World

EVERYONE = {role: OK for role in ROLES}
PHONE = "13900001234"


def resolved_issue(world: World) -> None:
    """A resident's problem at the first platform, resolved and waiting for a rating."""
    issue = factories.issue(platform_id=world.platform.id, source="resident", submitter_phone=PHONE)
    change_status(issue, "resolve", actor_id=None, resolution="已修复。")
    world.objects["issue"] = issue


ROUTES = [
    Route("public.submit", lambda w: f"/submit?platform={w.platform.id}", EVERYONE,
          data=lambda w: {"platform": w.platform.id, "kind": "doorstep", "category": "society",
                          "title": "路灯坏了", "description": "东门路灯不亮。",
                          "phone": PHONE, "consent": "y"}),
    Route("public.track", lambda w: "/track", EVERYONE, setup=resolved_issue,
          data=lambda w: {"reference": w.issue.reference, "digits": PHONE[-4:]}),
    Route("public.track_token", lambda w: f"/track/{w.issue.tracking_token}", EVERYONE,
          setup=resolved_issue, data=lambda w: {"satisfaction": "satisfied"}),
    # 长者模式 on or off: a display cookie, nothing stored (no token: core/display.py).
    Route("public.display", lambda w: "/display", EVERYONE,
          data=lambda w: {"elder": "1", "next": "/platforms"}),
]
