"""Which run this is: scripts/run-tests.sh runs the suite on SQLite and, alongside, PostgreSQL."""

from __future__ import annotations

import os


def postgresql_beside_sqlite() -> bool:
    """This is the PostgreSQL run and the SQLite run goes alongside it: what the database
    cannot change (an accessibility audit, a screenshot of a page) is left to that run."""
    return bool(os.environ.get("TEST_DATABASE_URL") and os.environ.get("SQLITE_RUN_ALONGSIDE"))
