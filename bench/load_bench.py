"""60 s of mixed load against gunicorn, with a worker and the scheduler killed mid-load.

Run with ``make bench`` (or ``.venv/bin/python bench/load_bench.py [--seconds 60]``). For each
database — SQLite (a fresh file, four gunicorn workers) and PostgreSQL (a throwaway database
beside TEST_DATABASE_URL or the server on 127.0.0.1:5432, when one answers) — it migrates a
fresh schema, loads the demo city (``--platforms``), serves it with gunicorn configured as in
production, and runs bench/benchlib/loadgen.py's people for ``--seconds``: residents reading public
pages and feeds and submitting problems, coordinators planning events and raising problems,
the district admin assigning and resolving them, all through the real forms. Meanwhile
``flask scheduler run`` is killed with SIGKILL mid catch-up and restarted, and at half time
one gunicorn worker is killed with SIGKILL.

Afterwards it checks the database (every acknowledged write stored exactly once, nothing
half-written, no reminder twice, tallies equal to a fresh computation), prints one table and
writes ``bench/results/load.json``. Exit status 1 when a user saw an error or a check failed.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))  # benchlib, when not run as bench/load_bench.py

from benchlib import loadgen  # noqa: E402

LOCAL_PG = "postgresql://postgres@127.0.0.1:5432/test"
PG_DATABASE = "consult_hub_load_bench"
RESULTS = ROOT / "bench" / "results" / "load.json"


def postgres_admin_url() -> str | None:
    """TEST_DATABASE_URL, BENCH_PG_URL or the local server, if it answers."""
    from consult_hub.config import normalise_database_url

    url = os.environ.get("BENCH_PG_URL") or os.environ.get("TEST_DATABASE_URL") or LOCAL_PG
    engine = sa.create_engine(normalise_database_url(url), isolation_level="AUTOCOMMIT",
                              connect_args={"connect_timeout": 3})
    try:
        with engine.connect():
            return normalise_database_url(url)
    except Exception:
        return None
    finally:
        engine.dispose()


def fresh_postgres(admin_url: str) -> str:
    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{PG_DATABASE}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{PG_DATABASE}"'))
    engine.dispose()
    return sa.make_url(admin_url).set(database=PG_DATABASE).render_as_string(hide_password=False)


def drop_postgres(admin_url: str) -> None:
    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{PG_DATABASE}" WITH (FORCE)'))
    engine.dispose()


def make_app(database_url: str, instance: str) -> Any:
    os.environ.update({"DATABASE_URL": database_url, "INSTANCE_PATH": instance,
                       "SECRET_KEY": "load-bench-secret"})
    from consult_hub import create_app

    return create_app({"INSTANCE_PATH": instance, "SITE_URL": "http://127.0.0.1:5000"})


def prepare(app: Any, platforms: int) -> None:
    from flask_migrate import upgrade

    from consult_hub.core.db import utcnow
    from consult_hub.demo.generate import load_demo

    with app.app_context():
        upgrade()
    with app.test_request_context():
        load_demo(platforms=platforms, seed=1, year=utcnow().year, force=True)


def run_one(name: str, database_url: str, args: argparse.Namespace, work: Path) -> dict[str, Any]:
    instance = str(work / f"instance-{name}")
    Path(instance).mkdir(parents=True, exist_ok=True)
    app = make_app(database_url, instance)
    print(f"{name}: migrating and loading the demo city ({args.platforms} platforms)…",
          flush=True)
    prepare(app, args.platforms)
    env = loadgen.server_env(database_url, instance)
    server = loadgen.Gunicorn(env, args.workers, work / f"gunicorn-{name}.log")
    scheduler = loadgen.Scheduler(env, work / f"scheduler-{name}.log")
    engine = sa.create_engine(database_url)
    report = loadgen.FaultReport()
    try:
        with loadgen.running(server, scheduler):
            server.wait_ready()
            site = loadgen.Site.from_database(engine)
            load = loadgen.Load(server.url, site, readers=args.readers, staff=args.staff,
                                residents=args.residents, seed=7)
            print(f"{name}: {args.seconds:.0f} s of load on {args.workers} gunicorn workers "
                  f"({args.readers} readers, {args.staff} coordinator+district pairs, "
                  f"{args.residents} submitting residents)…", flush=True)
            stats = load.run(args.seconds, during=loadgen.faults(
                server, scheduler, engine, app, worker_at=args.seconds / 2, report=report))
            scheduler_exit = scheduler.stop()
            workers_after = server.worker_pids()
        verdict = loadgen.check_writes(engine, stats.writes, load.run_id)
        duplicates = loadgen.check_notifications(engine)
        scheduler_problems = loadgen.check_scheduler_work(app)
    finally:
        engine.dispose()
        with app.app_context():
            from consult_hub.extensions import db

            db.engine.dispose()
    summary = stats.summary()
    failures = [
        *(f"5xx: {e}" for e in stats.server_errors[:5]),
        *(f"locked: {e}" for e in stats.locked[:5]),
        *(f"unexpected: {e}" for e in stats.unexpected[:5]),
        *verdict.problems, *duplicates, *scheduler_problems,
    ]
    if len(stats.connection_failures) > 1 or any(
            when < (report.worker_killed_at or 0) for when, _w in stats.connection_failures):
        failures.append(f"connection failures beyond the killed worker's one request: "
                        f"{stats.connection_failures[:5]}")
    if scheduler_exit != 0:
        failures.append(f"restarted scheduler exited {scheduler_exit}")
    if report.worker_pid in workers_after or len(workers_after) != args.workers:
        failures.append(f"worker not replaced: {workers_after}")
    return {
        "database": name, "url": sa.make_url(database_url).render_as_string(hide_password=True),
        "workers": args.workers, **summary, "writes": verdict.as_dict(),
        "faults_detail": report.as_dict(),
        "connection_failure_detail": [f"{when:.1f}s {what}" for when, what
                                      in stats.connection_failures],
        "failures": failures, "passed": not failures,
    }


def machine(database_url: str | None) -> dict[str, Any]:
    try:
        sys.path.insert(0, str(ROOT / "bench"))
        from benchlib.measure import machine as describe

        return describe(database_url)
    except Exception:  # benchlib is another benchmark's; the figures stand without it
        import platform

        return {"python": platform.python_version(), "cpus": os.cpu_count(),
                "platform": platform.platform()}


def print_table(results: list[dict[str, Any]]) -> None:
    rows = [
        ("requests", "requests"), ("requests/s", "requests_per_second"),
        ("p50 ms", "p50_ms"), ("p95 ms", "p95_ms"), ("p99 ms", "p99_ms"),
        ("5xx answers", "server_errors"), ("'database is locked'", "database_locked"),
        ("unexpected answers", "unexpected_status"),
        ("connection failures", "connection_failures"),
        ("writes sent", "writes_sent"), ("writes acknowledged", "writes_acknowledged"),
    ]
    width = 26
    print()
    print("Load and faults (target: zero errors; every acknowledged write present once)")
    print(f"{'':<{width}}" + "".join(f"{r['database']:>16}" for r in results))
    for label, key in rows:
        print(f"{label:<{width}}" + "".join(f"{r[key]!s:>16}" for r in results))
    print(f"{'acknowledged verified':<{width}}" + "".join(
        f"{r['writes']['verified']!s:>16}" for r in results))
    print(f"{'unacked, stored whole':<{width}}" + "".join(
        f"{r['writes']['unacknowledged_stored_complete']!s:>16}" for r in results))
    print(f"{'months left at sched. kill':<{width}}" + "".join(
        f"{r['faults_detail']['months_left_at_scheduler_kill']!s:>16}" for r in results))
    print(f"{'result':<{width}}" + "".join(
        f"{'PASS' if r['passed'] else 'FAIL':>16}" for r in results))
    for r in results:
        for line in r["failures"]:
            print(f"  {r['database']}: {line}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--platforms", type=int, default=200)
    parser.add_argument("--readers", type=int, default=6)
    parser.add_argument("--staff", type=int, default=3)
    parser.add_argument("--residents", type=int, default=2)
    parser.add_argument("--databases", default="sqlite,postgresql")
    args = parser.parse_args(argv)
    if loadgen.GUNICORN is None:
        print("load bench skipped: gunicorn missing (pip install -e '.[prod]')")
        return 0
    wanted = {d.strip() for d in args.databases.split(",")}
    results = []
    with tempfile.TemporaryDirectory(prefix="consult_hub_load_") as tmp:
        work = Path(tmp)
        if "sqlite" in wanted:
            results.append(run_one("sqlite", f"sqlite:///{work / 'load.db'}", args, work))
        admin = postgres_admin_url() if "postgresql" in wanted else None
        if "postgresql" in wanted and admin is None:
            print("postgresql: no server answers (set TEST_DATABASE_URL or BENCH_PG_URL); skipped")
        if admin is not None:
            try:
                results.append(run_one("postgresql", fresh_postgres(admin), args, work))
            finally:
                drop_postgres(admin)
    print_table(results)
    loadgen.dump(RESULTS, {
        "benchmark": "load", "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "seconds": args.seconds, "machine": machine(None), "results": results})
    print(f"\nwrote {RESULTS.relative_to(ROOT)}")
    return 0 if all(r["passed"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
