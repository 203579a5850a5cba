"""Fixtures of the security sweeps."""

from __future__ import annotations

import pytest

from tests.support.hostile import Harness


@pytest.fixture()
def harness(app, client, route, monkeypatch) -> Harness:
    """A ``Harness`` for the test's ``route`` (parametrized), with rate limits no sweep
    reaches: the sweeps post to one route many times in a row, as no visitor does."""
    for name in ("SUBMISSION_RATE_LIMIT", "TRACKING_RATE_LIMIT", "API_WRITE_RATE_LIMIT",
                 "LOGIN_ACCOUNT_LIMIT", "LOGIN_ADDRESS_LIMIT"):
        monkeypatch.setitem(app.config, name, "100000 per minute")
    return Harness(app, client, route)
