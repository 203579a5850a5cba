"""Signing in as a browser would: the test password, CSRF tokens, and signed-in clients."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient

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
