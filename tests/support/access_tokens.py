"""Write routes of the API and of the token pages.

API writes authenticate by bearer token only: a signed-in browser session (what the matrix
sends) gets 401 for every role, so a cross-site form can never write through the API.
Token pages are each user's own: anyone on the staff creates tokens, only the owner revokes.
"""

from __future__ import annotations

from typing import Any

from consult_hub.auth.tokens import issue_token
from tests.support import factories
from tests.support.access import OK, ROLES, Route, World, everyone

NO_SESSION = dict.fromkeys(ROLES, 401)


def _event(world: World) -> None:
    world.objects["event"] = factories.event(platform_id=world.platform.id)


def _issue(world: World) -> None:
    world.objects["issue"] = factories.issue(platform_id=world.platform.id)


def _token(world: World) -> None:
    world.objects["api_token"], _secret = issue_token(world.users["coordinator"], "矩阵")


def _api(endpoint: str, path: Any, setup: Any = None, method: str = "POST") -> Route:
    return Route(f"api.{endpoint}", path, NO_SESSION, setup=setup, method=method,
                 data=lambda w: {"topic": "x"})


ROUTES = [
    _api("plan_event", lambda w: "/api/v1/events"),
    _api("update_event", lambda w: f"/api/v1/events/{w.event.id}", _event, method="PATCH"),
    _api("record_event", lambda w: f"/api/v1/events/{w.event.id}/record", _event),
    _api("conclude_event", lambda w: f"/api/v1/events/{w.event.id}/conclude", _event),
    _api("cancel_event", lambda w: f"/api/v1/events/{w.event.id}/cancel", _event),
    _api("create_problem", lambda w: "/api/v1/issues"),
    _api("issue_action", lambda w: f"/api/v1/issues/{w.issue.reference}/actions/note", _issue),
    # A department's contact may use the API too (on its own problems, as on the pages).
    Route("tokens.create", lambda w: "/manage/tokens/", everyone(),
          data=lambda w: {"name": "对接系统"}),
    Route("tokens.revoke", lambda w: f"/manage/tokens/{w.api_token.id}/revoke",
          everyone(404, coordinator=OK), setup=_token),
]
