"""The scale datasets of DESIGN.md, built once and reused: ``ensure("city")``,
``ensure("national")``.

- ``city``: one city over ten years on SQLite (1,500 platforms, 15,000 events, 20,000
  problems) in ``bench/data/city.sqlite``.
- ``national``: the nation over ten years on PostgreSQL (300,000 platforms, 4,000,000 events,
  10,000,000 problems) in the database ``consult_hub_bench_national`` on the server named by
  ``BENCH_PG_URL`` (default ``postgresql://postgres@127.0.0.1:5432/postgres``, the admin
  connection used to create it). About 300 cities of ~10 districts; Wuhan (area codes 4201xx)
  is the city of ``sample["city_district_ids"]``.

Ten years end at the real clock's 'now' when the data is built (kept as ``sample["now"]``), so
there are upcoming events, open and overdue problems. A dataset is reused while its stored
generator version, name and scale match (metadata: a JSON file beside the SQLite file;
``COMMENT ON DATABASE`` on PostgreSQL, so the schema stays exactly the migrations').

Command line, from ``bench/``::

    ../.venv/bin/python -m benchlib.datasets city [--rebuild] [--scale 0.01]
    ../.venv/bin/python -m benchlib.datasets national [--rebuild] [--scale 0.01]
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
import time
import warnings
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from benchlib.generate import POSTGRESQL, SQLITE, TABLES, Generator, Spec
from benchlib.load import PgTarget, SqliteTarget, conninfo, table_sizes

# 2: problems go through review (published_at) and departments' handling (issue 14).
GENERATOR_VERSION = 2
BENCH_DIR = Path(__file__).resolve().parents[1]
ROOT = BENCH_DIR.parent
DATA_DIR = BENCH_DIR / "data"
PASSWORD = "bench-password-2026"
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_DATABASE = "consult_hub_bench_national"

SPECS = {
    "city": Spec("city", platforms=1_500, events=15_000, issues=20_000, cities=1, seed=1),
    "national": Spec("national", platforms=300_000, events=4_000_000, issues=10_000_000,
                     cities=300, seed=2),
}


@dataclass
class Dataset:
    name: str
    database_url: str  # ready for DATABASE_URL / create_app
    counts: dict[str, int]  # rows per table actually present
    build_seconds: float | None  # None when reused from cache
    generator_version: int
    sample: dict = field(default_factory=dict)  # handy ids and logins for the benchmarks


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _suffix(scale: float) -> str:
    return "" if scale == 1 else "-s" + f"{scale:g}".replace(".", "_")


def _sqlite_path(scale: float) -> Path:
    return DATA_DIR / f"city{_suffix(scale)}.sqlite"


def _pg_database(scale: float) -> str:
    return PG_DATABASE + _suffix(scale).replace("-", "_")


def _pg_admin_url() -> str:
    return conninfo(os.environ.get("BENCH_PG_URL", DEFAULT_PG))


def _pg_url(scale: float) -> str:
    """The dataset's URL, SQLAlchemy style (``postgresql+psycopg://``)."""
    import sqlalchemy as sa

    admin = sa.make_url(_pg_admin_url())
    url = admin.set(drivername="postgresql+psycopg", database=_pg_database(scale))
    return url.render_as_string(hide_password=False)


# Metadata ---------------------------------------------------------------------------------------

def _read_meta(name: str, scale: float) -> dict[str, Any] | None:
    if name == "city":
        sidecar = _sqlite_path(scale).with_suffix(".json")
        if not sidecar.exists() or not _sqlite_path(scale).exists():
            return None
        return json.loads(sidecar.read_text())
    import psycopg

    with psycopg.connect(_pg_admin_url(), autocommit=True) as conn:
        row = conn.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
            (_pg_database(scale),)).fetchone()
    if not row or not row[0]:
        return None
    try:
        return json.loads(row[0])
    except ValueError:
        return None


def _write_meta(name: str, scale: float, meta: dict[str, Any]) -> None:
    text = json.dumps(meta, ensure_ascii=False, sort_keys=True)
    if name == "city":
        _sqlite_path(scale).with_suffix(".json").write_text(text + "\n")
        return
    import psycopg
    from psycopg import sql

    with psycopg.connect(_pg_admin_url(), autocommit=True) as conn:
        conn.execute(sql.SQL("COMMENT ON DATABASE {} IS {}").format(
            sql.Identifier(_pg_database(scale)), sql.Literal(text)))


# Building ---------------------------------------------------------------------------------------

def _app(url: str):
    from consult_hub import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench-datasets",
                       "SITE_URL": "http://127.0.0.1:5000",
                       "TESTING": False})


def _migrate(url: str) -> None:
    """``flask db upgrade`` on ``url``; on PostgreSQL with room to sort, since a migration that
    adds an index to a loaded national dataset builds it over millions of rows."""
    from flask_migrate import upgrade

    from consult_hub.extensions import db

    saved = os.environ.get("PGOPTIONS")
    if url.startswith("postgresql"):
        os.environ["PGOPTIONS"] = (f"{saved or ''} -c maintenance_work_mem=1GB "
                                   "-c max_parallel_maintenance_workers=2").strip()
    try:
        app = _app(url)
        with app.app_context():
            upgrade()
            db.session.remove()
            db.engine.dispose()
    finally:
        if saved is None:
            os.environ.pop("PGOPTIONS", None)
        else:
            os.environ["PGOPTIONS"] = saved


def _password_hash() -> str:
    from consult_hub.auth.passwords import hash_password

    return hash_password(PASSWORD)


def _city_code() -> str:
    from consult_hub.config import Config

    return Config().CITY_CODE


def build(name: str, *, scale: float = 1.0, progress: bool = True) -> Dataset:
    """Build ``name`` from scratch (dropping what was there) and sanity-check it."""
    spec = SPECS[name].scaled(scale)
    started = time.perf_counter()
    now = int(time.time())
    say(f"Building dataset {name!r} (scale {scale:g}): {spec.platforms:,} platforms, "
        f"{spec.events:,} events, {spec.issues:,} problems over {spec.years} years, "
        f"now = {datetime.fromtimestamp(now, UTC):%Y-%m-%d %H:%M:%S} UTC")
    steps: list[tuple[str, float]] = []
    mark = time.perf_counter()
    if name == "city":
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        path = _sqlite_path(scale)
        for stale in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), path.with_suffix(".json")):
            stale.unlink(missing_ok=True)
        url = f"sqlite:///{path}"
        _migrate(url)
        target: SqliteTarget | PgTarget = SqliteTarget(path)
        dialect = SQLITE
    else:
        url = _pg_url(scale)
        _create_pg_database(scale)
        _migrate(url)
        target = PgTarget(url, TABLES)
        target.prepare(say)
        dialect = POSTGRESQL
    steps.append(("create database and migrate", time.perf_counter() - mark))
    say(f"schema ready in {steps[-1][1]:.1f} s")
    generator = Generator(spec, now, dialect, target.open, password_hash=_password_hash(),
                          city_code=_city_code(), progress=progress)
    try:
        result = generator.run()
    except BaseException:
        target.abort()
        raise
    steps += [(f"load {t.label}", t.seconds) for t in result.timings]
    steps += target.finish(say, progress)
    return finish(name, scale, url, now, steps, time.perf_counter() - started, result.counts)


def finish(name: str, scale: float, url: str, now: int, steps: list[tuple[str, float]],
           seconds: float, written: dict[str, int] | None = None) -> Dataset:
    """After the load: migrations brought to head (one may have landed during a long build),
    rows counted, the sample read back, sanity checks, metadata stored."""
    started = time.perf_counter()
    _migrate(url)
    steps.append(("migrations to head", time.perf_counter() - started))
    mark = time.perf_counter()
    rendered = _render_prose(url)
    steps.append((f"Markdown fields of {rendered:,} rows rendered", time.perf_counter() - mark))
    mark = time.perf_counter()
    counts = _count_rows(url)
    for table, expected in (written or {}).items():
        if counts.get(table) != expected:
            raise RuntimeError(f"{table}: wrote {expected} rows but the database holds "
                               f"{counts.get(table)}")
    sample = collect_sample(url, now)
    checks = sanity(url, sample)
    steps.append(("sanity checks", time.perf_counter() - mark))
    seconds += time.perf_counter() - started
    sizes = table_sizes(url, TABLES) if name == "national" else _sqlite_sizes(url)
    meta = {"name": name, "generator_version": GENERATOR_VERSION, "scale": scale,
            "now": sample["now"], "counts": counts, "sample": sample,
            "build_seconds": round(seconds, 1), "steps": [[s, round(t, 2)] for s, t in steps],
            "sizes": sizes, "checks": checks, "revision": _revision(url),
            "built_at": datetime.now(UTC).isoformat()}
    _write_meta(name, scale, meta)
    _print_report(meta)
    return Dataset(name, url, counts, seconds, GENERATOR_VERSION, sample)


def _render_prose(url: str) -> int:
    """The generator writes Markdown fields (agenda, minutes, description…) as the app's bulk
    loaders would not: without their HTML. Fill it as the app's migration 0024 did for rows
    that were there before it (``core/prose.py``)."""
    import sqlalchemy as sa

    import consult_hub.models  # noqa: F401 - the models register their Markdown fields
    from consult_hub.core.prose import render_missing

    engine = sa.create_engine(url)
    try:
        with engine.begin() as connection:
            return render_missing(connection)
    finally:
        engine.dispose()


def _revision(url: str) -> str | None:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    finally:
        engine.dispose()


def collect_sample(url: str, now: int) -> dict[str, Any]:
    """Ids and logins for the benchmarks, read from the data: Wuhan (the city of a national
    dataset) and its platforms, events and problems, and some from anywhere."""
    import sqlalchemy as sa

    def spaced(ids: list[int], n: int) -> list[int]:
        if len(ids) <= n:
            return ids
        step = len(ids) / n
        return [ids[int(i * step)] for i in range(n)]

    engine = sa.create_engine(url)
    iso_now = datetime.fromtimestamp(now, UTC)
    sample: dict[str, Any] = {"now": iso_now.isoformat(), "city_name": "武汉市"}
    try:
        with engine.connect() as conn:
            q = lambda sql, **kw: conn.execute(sa.text(sql), kw)  # noqa: E731
            districts = [r[0] for r in q(
                "SELECT id FROM areas WHERE level = 'district' AND code LIKE '4201%' ORDER BY id")]
            sample["city_district_ids"] = districts
            in_city = f"({', '.join(map(str, districts))})"
            platforms = [r[0] for r in q(
                f"SELECT id FROM platforms WHERE district_id IN {in_city} ORDER BY id")]
            sample["city_platforms"] = len(platforms)
            sample["platform_ids"] = spaced(platforms, 20)
            top = q("SELECT max(id) FROM platforms").scalar() or 0
            sample["other_platform_ids"] = [i for i in spaced(list(range(1, top + 1)), 20)]
            busy: list[int] = []
            for pid in spaced(platforms, 200):
                n = q("SELECT count(*) FROM events WHERE platform_id = :p", p=pid).scalar()
                busy.append((n, pid))
            sample["busy_platform_ids"] = [pid for _n, pid in sorted(busy, reverse=True)[:5]]
            sample["coordinator_platform_ids"] = [r[0] for r in q(
                "SELECT pc.platform_id FROM platform_coordinators pc JOIN users u "
                "ON u.id = pc.user_id WHERE u.username = 'coordinator' ORDER BY 1")]
            events = []
            for pid in sample["platform_ids"]:
                events += [r[0] for r in q(
                    "SELECT id FROM events WHERE platform_id = :p ORDER BY starts_at", p=pid)]
            sample["event_ids"] = spaced(sorted(events), 20)
            sample["upcoming_event_ids"] = [r[0] for r in q(
                f"SELECT id FROM events WHERE status = 'planned' AND starts_at > :now AND "
                f"platform_id IN (SELECT id FROM platforms WHERE district_id IN {in_city}) "
                f"ORDER BY starts_at LIMIT 10", now=iso_now)]
            top = q("SELECT max(id) FROM issues").scalar() or 0
            wanted = spaced(list(range(1, top + 1)), 40)
            issues = [dict(r._mapping) for r in q(
                "SELECT id, reference, tracking_token, status, platform_id, district_id "
                f"FROM issues WHERE id IN ({', '.join(map(str, wanted or [0]))}) ORDER BY id")]
            for status_set, key in ((("received", "assigned", "acknowledged", "in_progress",
                                      "replied"), "open"),
                                    (("resolved",), "resolved")):
                names = ", ".join(f"'{x}'" for x in status_set)
                rows = q("SELECT id, reference, tracking_token, status, platform_id, district_id "
                         f"FROM issues WHERE district_id IN {in_city} AND status IN ({names}) "
                         "LIMIT 10")
                sample[f"city_{key}_issues"] = [dict(r._mapping) for r in rows]
            sample["issues"] = issues
            sample["issue_ids"] = [x["id"] for x in issues]
            sample["issue_references"] = [x["reference"] for x in issues]
            sample["reference_counters"] = dict(q(
                "SELECT prefix, last_value FROM reference_counters ORDER BY prefix").all())
            home_admin = q("SELECT district_id FROM users WHERE username = 'district'").scalar()
    finally:
        engine.dispose()
    for role, username in (("admin", "admin"), ("district_admin", "district"),
                           ("coordinator", "coordinator"), ("department", "department")):
        sample[role] = {"username": username, "password": PASSWORD}
    sample["district_admin"]["district_id"] = home_admin
    return sample


def _create_pg_database(scale: float) -> None:
    import psycopg
    from psycopg import sql

    database = sql.Identifier(_pg_database(scale))
    with psycopg.connect(_pg_admin_url(), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(database))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(database))


def _count_rows(url: str) -> dict[str, int]:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return {t: conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar_one()
                    for t in TABLES}
    finally:
        engine.dispose()


def _sqlite_sizes(url: str) -> dict[str, int]:
    path = url.removeprefix("sqlite:///")
    conn = sqlite3.connect(path)
    try:
        try:
            rows = conn.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name").fetchall()
        except sqlite3.Error:
            rows = []
        sizes = {str(n): int(s) for n, s in rows}
        sizes["(file)"] = os.path.getsize(path)
        return sizes
    finally:
        conn.close()


def sanity(url: str, sample: dict[str, Any]) -> dict[str, Any]:
    """The app reads the data: schema matches the migrations, logins verify, a monthly tally
    computes, and the home page and a platform page render."""
    import sqlalchemy as sa
    from flask_migrate import check

    from consult_hub.auth.models import User
    from consult_hub.auth.passwords import verify_password
    from consult_hub.extensions import db
    from consult_hub.tallies.compute import compute_month

    checks: dict[str, Any] = {}
    app = _app(url)
    with app.app_context():
        started = time.perf_counter()
        with warnings.catch_warnings():  # SQLite cannot reflect expression indexes: it says so
            warnings.filterwarnings("ignore", message=".*expression-based index")
            check()  # raises when the schema differs from the migrations
        checks["schema_matches_migrations_s"] = round(time.perf_counter() - started, 2)
        for role in ("admin", "district_admin", "coordinator", "department"):
            login = sample[role]
            user = db.session.scalar(sa.select(User).where(User.username == login["username"]))
            if user is None or user.role.value != role or not verify_password(
                    user.password_hash, login["password"]):
                raise RuntimeError(f"the {role} login {login['username']!r} does not verify")
        today = datetime.fromisoformat(sample["now"]).date()
        month = date(today.year - (today.month == 1), (today.month - 2) % 12 + 1, 1)
        started = time.perf_counter()
        result = compute_month(month)
        city = result["city"][1]
        checks["tally_month"] = month.isoformat()
        checks["tally_seconds"] = round(time.perf_counter() - started, 2)
        checks["tally_city"] = {k: city[k] for k in ("platforms_total", "events_held",
                                                     "issues_raised", "issues_resolved",
                                                     "issues_backlog_end", "issues_overdue_end")}
        say(f"sanity: compute_month({month:%Y-%m}) in {checks['tally_seconds']} s: "
            f"{checks['tally_city']}")
        db.session.remove()
        client = app.test_client()
        for path in ("/", f"/platforms/{sample['platform_ids'][0]}"):
            started = time.perf_counter()
            response = client.get(path)
            took = round(time.perf_counter() - started, 3)
            checks[f"GET {path}"] = [response.status_code, took]
            say(f"sanity: GET {path} → {response.status_code} in {took} s")
            if path == "/" and response.status_code != 200:
                raise RuntimeError(f"GET / answered {response.status_code}")
        db.session.remove()
        db.engine.dispose()
    return checks


def _print_report(meta: dict[str, Any]) -> None:
    out = sys.stderr
    print(f"\nDataset {meta['name']} (generator v{meta['generator_version']}, scale "
          f"{meta['scale']:g}) built in {meta['build_seconds']:.1f} s", file=out)
    for step, seconds in meta["steps"]:
        print(f"  {step:<48} {seconds:8.1f} s", file=out)
    sizes = meta.get("sizes", {})
    print(f"  {'table':<24} {'rows':>12} {'size':>10}", file=out)
    for table in TABLES:
        size = sizes.get(table)
        text = f"{size / 2**20:8.1f} MB" if size else ""
        print(f"  {table:<24} {meta['counts'].get(table, 0):>12,} {text:>10}", file=out)
    if "(file)" in sizes:
        print(f"  file size {sizes['(file)'] / 2**20:.1f} MB", file=out)
    print(f"  logins: admin / district / coordinator / department, password {PASSWORD}",
          file=out)


# Reuse ------------------------------------------------------------------------------------------

def ensure(name: str, *, rebuild: bool = False, progress: bool = True,
           scale: float = 1.0) -> Dataset:
    """The dataset ``name`` ("city" or "national"), built unless a matching one is stored."""
    if name not in SPECS:
        raise ValueError(f"unknown dataset {name!r}; choose from {', '.join(SPECS)}")
    if not rebuild:
        meta = _read_meta(name, scale)
        if (meta and meta.get("name") == name and meta.get("scale") == scale
                and meta.get("generator_version") == GENERATOR_VERSION):
            url = f"sqlite:///{_sqlite_path(scale)}" if name == "city" else _pg_url(scale)
            if progress:
                say(f"Dataset {name!r}: reusing the one built {meta.get('built_at', '?')} "
                    f"(now = {meta['now']}); --rebuild to make a fresh one")
            _upgrade_reused(name, scale, url, meta)
            return Dataset(name, url, meta["counts"], None, GENERATOR_VERSION, meta["sample"])
    return build(name, scale=scale, progress=progress)


def _upgrade_reused(name: str, scale: float, url: str, meta: dict[str, Any]) -> None:
    """Apply migrations added since the build (new indexes, say), as a deployment would."""
    from alembic.config import Config as AlembicConfig
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(_alembic_config(AlembicConfig))
    head = script.get_current_head()
    current = _revision(url)
    if current == head:
        return
    say(f"Dataset {name!r}: upgrading its schema {current} → {head} (a migration landed since "
        "it was built)")
    started = time.perf_counter()
    _migrate(url)
    meta["revision"] = _revision(url)
    meta.setdefault("upgrades", []).append([current, head, round(time.perf_counter() - started, 1)])
    _write_meta(name, scale, meta)


def _alembic_config(cls: Any) -> Any:
    config = cls(str(ROOT / "migrations" / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    return config


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("name", choices=sorted(SPECS))
    parser.add_argument("--rebuild", action="store_true", help="build even if one is stored")
    parser.add_argument("--scale", type=float, default=1.0,
                        help="fraction of the full size, for development (own file/database)")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    args = parser.parse_args(argv)
    dataset = ensure(args.name, rebuild=args.rebuild, progress=not args.quiet, scale=args.scale)
    print(json.dumps(asdict(dataset), ensure_ascii=False, indent=1, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
