"""The city demo on SQLite: one year (``demo load --scale city --seed 1 --year 2024``), what a
district sees after its first year.

``scale_bench.py --only demo`` judges the public pages on it (issue 18: p95 ≤ 5 ms with the
page cache off). It also stands in for ``benchlib.datasets`` when that module is missing, as
"city" — only for developing the benchmarks, and the output says so.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
FOLDER = ROOT / "bench" / "data"


@dataclass
class Dataset:
    name: str
    database_url: str
    counts: dict[str, int] = field(default_factory=dict)
    build_seconds: float | None = None
    generator_version: int = 0
    sample: dict[str, Any] = field(default_factory=dict)


LOGINS = {
    "admin": {"username": "admin", "password": "admin-demo-2024"},
    "district_admin": {"username": "district", "password": "district-demo-2024"},
    "coordinator": {"username": "coordinator", "password": "coordinator-demo-2024"},
    "department": {"username": "department", "password": "department-demo-2024"},
}


def ensure(name: str, *, rebuild: bool = False, progress: bool = True) -> Dataset:
    if name not in ("demo", "city"):
        raise SystemExit(f"the demo dataset: 'demo' (or 'city' standing in), not {name!r}")
    path = FOLDER / "standin-city.db"
    url = f"sqlite:///{path}"
    built = None
    if rebuild or not path.exists():
        FOLDER.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)
        env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "bench"}
        flask = [sys.executable, "-m", "flask", "--app", "consult_hub"]
        started = time.perf_counter()
        for args in (["db", "upgrade"], ["demo", "load", "--scale", "city", "--seed", "1",
                                         "--year", "2024"]):
            subprocess.run(flask + args, env=env, check=True, cwd=ROOT,
                           stdout=None if progress else subprocess.DEVNULL)
        built = time.perf_counter() - started
    import sqlite3

    with sqlite3.connect(path) as conn:
        counts = {table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                  for table in ("platforms", "events", "issues", "issue_updates", "users")}
    return Dataset(name, url, counts, built, 0, {"logins": LOGINS, "standin": name != "demo"})
