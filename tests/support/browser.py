"""Fixtures of the browser tests (a pytest plugin, loaded by tests/conftest.py).

``browser``: Debian's Chromium through Playwright, one per test module, skipped with the reason
when either is missing. ``live_server``: the test app on a free port. ``shots(page, name)``: a
full-page screenshot into ``artifacts/<SHOTS>/<database>/``, where ``SHOTS`` is the test
module's folder name for them (its file name without ``test_`` when it sets none); none in the
PostgreSQL run beside SQLite's, whose screenshots show the same pages (taking them was a fifth
of a browser journey's time).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from consult_hub.extensions import db
from tests.support.e2e import (
    ARTIFACTS,
    STEP_TIMEOUT_MS,
    chromium,
    chromium_missing,
    serve,
    shoot,
)
from tests.support.runs import postgresql_beside_sqlite


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    reason = chromium_missing()
    if reason:
        pytest.skip(reason)
    sync_api = pytest.importorskip("playwright.sync_api",
                                   reason="Playwright missing (pip install -e '.[browser]')")
    sync_api.expect.set_options(timeout=STEP_TIMEOUT_MS)
    with chromium(sync_api) as launched:
        yield launched


@pytest.fixture()
def live_server(app: Flask) -> Iterator[str]:
    with serve(app) as url:
        yield url


@pytest.fixture()
def shots(app: Flask, request: pytest.FixtureRequest) -> Callable[[Any, str], Path | None]:
    if postgresql_beside_sqlite():
        return lambda page, shot: None
    name = getattr(request.module, "SHOTS", request.module.__name__.rsplit(".", 1)[-1]
                   .removeprefix("test_"))
    with app.app_context():
        folder = ARTIFACTS / name / db.engine.dialect.name
    return lambda page, shot: shoot(page, folder, shot)
