"""Test fixtures: one migrated database per run (SQLite, or TEST_DATABASE_URL), emptied after
each test."""

from __future__ import annotations

import gc
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient

from consult_hub import create_app
from consult_hub.auth import passwords
from consult_hub.config import normalise_database_url
from consult_hub.extensions import db, limiter
from tests.support import factories
from tests.support.auth import AuthActions
from tests.support.openapi import OpenApiClient
from tests.support.rollback import forget_caches
from tests.support.runs import postgresql_beside_sqlite
from tests.support.world import world_for

# The browser tests' fixtures: browser, live_server, shots.
pytest_plugins = ("tests.support.browser",)

# argon2 at its production cost (about 100 ms a hash or check on these machines) is the point
# in production and only waiting here: the suite signs in well over a thousand times. Hashes
# made here carry their own (cheap) parameters, so they verify anywhere; the production
# parameters are still what `hash_password` uses outside the tests.
passwords._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
passwords.DUMMY_HASH = passwords.hash_password("not-a-real-password")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers",
                            "slow: takes seconds, not milliseconds; still in the normal run")
    config.addinivalue_line("markers", "rolled_back: commits nothing (tests/support/rollback.py); "
                                       "the per-test DELETEs are skipped")
    config.addinivalue_line("markers", "world(name, **params): which member of the world family "
                                       "(tests/support/world.py) the world fixture builds")
    config.addinivalue_line("markers", "database_independent: finds the same whichever database "
                                       "the run uses (an accessibility audit, a phone layout, a "
                                       "subprocess on its own SQLite file); run once when both "
                                       "databases run")


# The longest files, longest first (seconds of one worker's time in a full `make test`, both
# databases side by side on two cores: 140–190, 125–155, 75–90, ~58, ~55, ~45 ×4): started
# first, so that the other worker fills in around them with the many short files.
LONGEST_FIRST = ("security/test_hostile_input.py", "security/test_hostile_queries.py",
                 "security/test_access_matrix.py", "api/test_api_schemathesis.py",
                 "ui/test_accessibility.py", "ops/test_load_faults.py",
                 "ui/test_cppcc_journey.py", "ops/test_city_demo.py", "ops/test_production.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The longest files first (``LONGEST_FIRST``), then the other files holding ``slow``
    tests (in their usual order), then the rest.

    scripts/run-tests.sh hands whole files to two workers per database (pytest-xdist,
    ``--dist loadfile --no-loadscope-reorder``: xdist's own order, most tests first, started
    the one-test browser journeys last and left a worker running them alone for two minutes)
    in this order; a half-minute file picked up last leaves the other worker idle at the end.
    """
    tests = Path(__file__).parent
    rank = {tests / name: n for n, name in enumerate(LONGEST_FIRST)}
    moved = [str(path.relative_to(tests)) for path in rank if not path.exists()]
    assert not moved, f"LONGEST_FIRST names files that are not there: {moved}"
    slow_files = {item.path for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: (rank.get(item.path, len(rank)),
                                 item.path not in slow_files))  # stable: same order otherwise


def pytest_collection_finish(session: pytest.Session) -> None:
    """Keep the garbage collector off what collection loaded, and collect less often.

    A test process holds the app, every test module and hypothesis (~430,000 objects) for its
    whole run; by default each full collection walks them again, and the young generation is
    collected every 700 new objects while a request makes tens of thousands. Frozen, with a
    larger young generation: 4–7 % less CPU on the fuzzing and access files, measured two runs
    side by side against the defaults (3 % with the freeze alone). Not so in the app's gunicorn
    workers: frozen at start, the few objects left made full collections frequent, and the
    residents' mix lost 15–25 % of its requests a second (bench/throughput_bench.py)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


def pytest_runtest_setup(item: pytest.Item) -> None:
    # scripts/run-tests.sh runs SQLite and PostgreSQL side by side on a 2-core machine; an
    # audit of rendered pages finds the same on both, so the (longer) PostgreSQL run skips it.
    if item.get_closest_marker("database_independent") and postgresql_beside_sqlite():
        pytest.skip("database-independent; checked in the SQLite run alongside")


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """SQLite by default; with TEST_DATABASE_URL, a fresh PostgreSQL database made beside it.

    Each run gets its own database (dropped at the end), so two runs on one
    server never trample each other.
    """
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
        return
    server = sa.make_url(normalise_database_url(url))
    name = f"consult_hub_test_{os.getpid()}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        # A commit need not wait for the WAL to reach the disk (about 3 ms each here, and the
        # suite commits tens of thousands of times): what a crash could lose is a test database.
        conn.execute(sa.text(f'ALTER DATABASE "{name}" SET synchronous_commit TO off'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def app(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    os.environ["DATABASE_URL"] = database_url
    app = create_app({
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "INSTANCE_PATH": str(tmp_path_factory.mktemp("instance")),
        "UPLOAD_FOLDER": str(tmp_path_factory.mktemp("uploads")),
        # The public page cache stays on, as in production; tests write through other
        # connections too, so a worker re-reads the site version on every request.
        "PAGE_CACHE_RECHECK_SECONDS": 0,
    })
    # Every test client (the `client` fixture, and any other a test opens) checks each API
    # answer against the published OpenAPI document (tests/support/openapi.py).
    app.test_client_class = OpenApiClient
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()  # the real migration chain, not create_all
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(autouse=True)
def _clean_database(request: pytest.FixtureRequest, app: Flask) -> Iterator[None]:
    yield
    limiter.reset()  # every test starts with fresh rate limits
    forget_caches(app)  # the DELETEs below bypass the site version the caches are keyed by
    if request.node.get_closest_marker("rolled_back"):
        return
    with app.app_context():
        db.session.remove()
        tables = [t.name for t in reversed(db.metadata.sorted_tables) if t.name != "site_versions"]
        if db.engine.dialect.name == "postgresql":
            # DELETE beats TRUNCATE on tables this small (TRUNCATE rewrites files); PostgreSQL
            # takes them all in one round trip.
            with db.engine.begin() as conn:
                conn.exec_driver_sql(_pg_emptying(tables))
        else:
            _sqlite_emptying(tables)


def _sqlite_emptying(tables: list[str]) -> None:
    """Empty ``tables`` (every table) on SQLite with its foreign-key checks off for the moment.

    Every table is emptied, so no reference needs checking; with the checks on, SQLite deletes
    a referenced table row by row, looking up each row's referrers (the city demo's rows took
    20 s to delete), and with them off it drops a table's rows whole. The pragma only takes
    effect outside a transaction: pysqlite begins one at the first DELETE, not before.
    """
    with db.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
        try:
            for name in tables:
                conn.exec_driver_sql(f"DELETE FROM {name}")
            conn.commit()
        finally:
            conn.rollback()
            conn.exec_driver_sql("PRAGMA foreign_keys=ON")
            conn.commit()


TRUNCATE_FROM_ROWS = 2000


def _pg_emptying(tables: list[str]) -> str:
    """One round trip that empties ``tables`` on PostgreSQL, by DELETE or, when big, TRUNCATE.

    A DELETE is cheapest for the few rows most tests leave, but a demo city (thousands of rows,
    every one checked against its foreign keys) takes seconds to DELETE and a moment to
    TRUNCATE. The rows are counted (each table's up to the threshold) in the same statement;
    a TRUNCATE that would wait on another connection's lock falls back to the DELETEs.
    """
    deletes = " ".join(f"DELETE FROM {name};" for name in tables)
    counted = " + ".join(f"(SELECT count(*) FROM (SELECT 1 FROM {name} "
                         f"LIMIT {TRUNCATE_FROM_ROWS}) AS t)" for name in tables)
    return (f"DO $$ BEGIN IF {counted} >= {TRUNCATE_FROM_ROWS} THEN "
            f"BEGIN SET LOCAL lock_timeout = '2s'; TRUNCATE {', '.join(tables)}; "
            f"EXCEPTION WHEN lock_not_available THEN {deletes} END; "
            f"ELSE {deletes} END IF; END $$")


@pytest.fixture()
def ctx(app: Flask) -> Iterator[None]:
    with app.test_request_context():
        yield
        db.session.remove()


@pytest.fixture()
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture()
def runner(app: Flask):
    return app.test_cli_runner()


@pytest.fixture()
def auth(client: FlaskClient) -> AuthActions:
    return AuthActions(client)


@pytest.fixture()
def make(app: Flask) -> Callable[..., Any]:
    """``make("platform", name=...)``: build and commit one object with sensible defaults."""

    def build(kind: str, **kwargs: Any) -> Any:
        with app.app_context():
            obj = getattr(factories, kind)(**kwargs)
            db.session.commit()
            db.session.refresh(obj)
            db.session.expunge(obj)
            return obj

    return build


@pytest.fixture()
def world(request: pytest.FixtureRequest, app: Flask) -> Any:
    """The base world, or the member its ``world`` mark names (tests/support/world.py)."""
    return world_for(request)
