"""Signing in as a browser would: the test password, CSRF tokens, and signed-in clients."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask, session
from flask.testing import FlaskClient
from flask_login import login_user
from flask_wtf.csrf import generate_csrf

TEST_PASSWORD = "correct horse battery"


def csrf_token(client: FlaskClient, path: str) -> str:
    """Fetch a page and return the CSRF token of its form, as a browser would.

    The token belongs to the session, not the page: where a page has no form for this
    visitor ("/" has one, sign out, only for a signed-in user), the sign-in page's token
    stands in, as a forged or replayed post would need one too.
    """
    page = client.get(path)
    if 'name="csrf_token"' not in page.text:
        page = client.get("/login")
    field = re.search(r'<input[^>]*name="csrf_token"[^>]*>', page.text)
    match = field and re.search(r'value="([^"]+)"', field.group(0))
    assert match, f"no CSRF token on {path}"
    return match.group(1)


@contextmanager
def _client_session(client: FlaskClient) -> Iterator[None]:
    """A request context of the client's own (its browser headers, its session), saved back.

    Its own app context too: Flask-WTF keeps the token it made in ``g``, which belongs to the
    app context, and a caller's context may already hold one made for another session.
    """
    app = client.application
    with client.session_transaction() as saved:
        with app.app_context(), app.test_request_context(environ_base=client.environ_base):
            session.update(saved)
            yield
            saved.clear()
            saved.update(session)


def session_csrf_token(client: FlaskClient, sign_in: Any = None) -> str:
    """The CSRF token a form would carry for the client's session, without fetching a page;
    with ``sign_in`` (a user), the session is first signed in as that user, without the sign-in
    page: no requests, no password check.

    The token is Flask-WTF's own ``generate_csrf``: a raw token kept in the session (made if
    missing), signed with the app's key; the app still checks it on every post, as it checks a
    page's. Signing in is Flask-Login's ``login_user`` (what the sign-in page calls) for the
    client's own browser headers, so the session holds what the page would have left
    (tests/security/test_access_matrix.py compares the two). For tests of something else, many
    times over; signing in itself is tested in tests/accounts/test_auth.py. Call it while the
    database session the user was loaded in is open: its attributes may need reading again.
    """
    with _client_session(client):
        if sign_in is not None:
            login_user(sign_in)
        return generate_csrf()


class AuthActions:
    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def login(self, username: str, password: str = TEST_PASSWORD, next_url: str | None = None):
        path = "/login" + (f"?next={next_url}" if next_url else "")
        token = csrf_token(self.client, path)
        return self.client.post(path, data={"username": username, "password": password,
                                            "csrf_token": token})

    def logout(self):
        token = csrf_token(self.client, "/dashboard")
        return self.client.post("/logout", data={"csrf_token": token})


def signed_in(app: Flask, username: str) -> FlaskClient:
    """A client of its own, signed in as ``username`` (two people editing at once)."""
    client = app.test_client()
    token = csrf_token(client, "/login")
    answer = client.post("/login", data={"username": username, "password": TEST_PASSWORD,
                                         "csrf_token": token})
    assert answer.status_code == 302
    return client
