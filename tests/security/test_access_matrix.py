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
from tests.support.auth import TEST_PASSWORD, csrf_token, session_csrf_token
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
            # The session the sign-in page would leave (compared in the test below) and its
            # CSRF token, written into the client: fetching the sign-in page, posting to it and
            # fetching a page with a form were three requests a case besides the one that is
            # the point, and 55% of this file's time. The app still checks the token: with a
            # wrong one, 990 of the 1,080 cases fail (the other 90 are the API's and Open311's
            # routes, which take no CSRF token).
            user = None if role == "anonymous" else world.users[role]
            data = {**data, "csrf_token": session_csrf_token(client, sign_in=user)}
        response = client.open(path, method=route.method, data=data)
        expected = route.expect[role]
        if expected == OK:
            assert response.status_code < 400, (response.status_code, response.text[:500])
        elif expected == LOGIN:
            assert response.status_code == 302
            assert response.headers["Location"].startswith("/login")
        else:
            assert response.status_code == expected


# Besides Flask-Login's keys, the sign-in page leaves its CSRF token and its welcome message.
PAGE_ONLY = ("csrf_token", "_flashes")


@pytest.mark.parametrize("role", ROLES[1:])
def test_each_role_signs_in_to_the_session_the_matrix_uses(app, matrix, role):
    """What the cases above skip: each role signs in on the sign-in page, with its password,
    and the session it gets is the one ``session_csrf_token`` writes."""
    rolled_back, keys = matrix
    by_page, by_helper = app.test_client(), app.test_client()
    with rolled_back.case():
        with app.test_request_context():
            user = reload_world(keys).users[role]
            username = user.username
            session_csrf_token(by_helper, sign_in=user)
        token = csrf_token(by_page, "/login")
        signed_in = by_page.post("/login", data={"username": username,
                                                 "password": TEST_PASSWORD,
                                                 "csrf_token": token})
        assert signed_in.status_code == 302
        with by_page.session_transaction() as page, by_helper.session_transaction() as helper:
            assert "_user_id" in page
            assert ({k: v for k, v in page.items() if k not in PAGE_ONLY}
                    == {k: v for k, v in helper.items() if k != "csrf_token"})


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
