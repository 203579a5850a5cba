"""Every write route × every role → the expected status; every route marked public or guarded."""

from __future__ import annotations

import pytest

from consult_hub.auth.decorators import PUBLIC
from consult_hub.extensions import db
from tests.support.access import (
    LOGIN,
    OK,
    ROLES,
    all_routes,
    reload_world,
    with_departments,
    world_keys,
)
from tests.support.auth import TEST_PASSWORD, csrf_token
from tests.support.rollback import RolledBack
from tests.support.world import build_world

ROUTES = all_routes()
CASES = [(route, role) for route in ROUTES for role in ROLES]


# Nothing here commits (see matrix below): the per-test DELETEs are skipped.
pytestmark = pytest.mark.rolled_back


@pytest.fixture(scope="module")
def matrix(app):
    """The world, built once in a transaction never committed; each case runs in a savepoint."""
    rolled_back = RolledBack(app)
    try:
        with app.test_request_context():
            keys = world_keys(build_world(with_departments))
        yield rolled_back, keys
    finally:
        rolled_back.close()


@pytest.mark.parametrize(("route", "role"), CASES, ids=[f"{r.id}-{role}" for r, role in CASES])
def test_write_route_answers_role(app, client, matrix, route, role):
    rolled_back, keys = matrix
    with rolled_back.case():
        with app.test_request_context():
            world = reload_world(keys)
            if route.setup:
                route.setup(world)
            db.session.commit()
            path, data = route.path(world), route.data(world)
            username = None if role == "anonymous" else world.users[role].username
        if username:
            token = csrf_token(client, "/login")
            signed_in = client.post("/login", data={"username": username,
                                                    "password": TEST_PASSWORD,
                                                    "csrf_token": token})
            assert signed_in.status_code == 302
        data = {**data, "csrf_token": csrf_token(client, "/")}
        response = client.open(path, method=route.method, data=data)
        expected = route.expect[role]
        if expected == OK:
            assert response.status_code < 400, (response.status_code, response.text[:500])
        elif expected == LOGIN:
            assert response.status_code == 302
            assert response.headers["Location"].startswith("/login")
        else:
            assert response.status_code == expected


def test_every_write_route_is_in_the_matrix(app):
    covered = {route.endpoint for route in ROUTES}
    writes = {rule.endpoint for rule in app.url_map.iter_rules()
              if rule.methods & {"POST", "PUT", "PATCH", "DELETE"}}
    assert writes - covered == set(), "write routes missing from tests/support/access_*.py"


def test_every_route_is_public_or_guarded(app):
    unmarked = sorted(
        endpoint for endpoint, view in app.view_functions.items()
        if endpoint != "static" and getattr(view, "access", None) is None
    )
    assert unmarked == [], "mark these views @public or @roles_required(...)"


def test_public_mark_is_recorded(app):
    assert app.view_functions["main.index"].access == PUBLIC
    assert app.view_functions["main.dashboard"].access != PUBLIC
