"""Server time of every public page and the main staff lists, tallies, freeze and reminders
at scale.

Run with ``make bench`` or ``.venv/bin/python bench/scale_bench.py [--only city|national]``.
For each dataset (``benchlib.datasets``: "city" = one city over ten years on SQLite,
"national" = the nation over ten years on PostgreSQL, built once and reused) it measures:

1. jobs: freezing last month's tally (``freeze_month``), the scheduler's monthly job
   (``run_job("monthly_tally")``: exactly one month pending), and a reminder sweep over all
   open problems, first run and a second run where everything is already reminded;
   the notifications the sweep wrote are deleted afterwards, so the dataset stays reusable;
2. tallies: a city's and the nation's monthly tally (``compute_month``) beside the raw SQL
   floor (``benchlib/floor.py``), their ratio, and whether their core totals agree;
3. pages: p50 and p95 of the time spent inside the WSGI app per request, in process through
   the Flask test client with a production configuration (SECRET_KEY set, no debug, no
   testing), no ``If-None-Match`` (the 304 path is never taken), after a warm-up, with the
   platform, event, problem, district, search word or deep page varying per request.

Prints one table per dataset and merges the rows into ``bench/results/<dataset>.json`` with
the machine's details. Targets: national PostgreSQL, public pages p95 ≤ 100 ms and a city's
monthly tally ≤ 200 ms; city SQLite (ten years), public pages p95 ≤ 50 ms and staff pages
≤ 25 ms; the city demo (one year, ``--only demo``), public pages and feeds p95 ≤ 5 ms
(issue 18), the API ≤ 50 ms, staff pages ≤ 25 ms.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "src"))

from benchlib import measure  # noqa: E402
from benchlib.appsetup import (  # noqa: E402
    load_dataset,
    login,
    login_pairs,
    make_app,
    postgres_answers,
    results_name,
)
from benchlib.measure import Row, ms, percentile  # noqa: E402

TARGETS = {  # dataset → (public page p95 ms, staff page p95 ms, a city's monthly tally ms)
    "city": (50, 25, 200),  # staff pages: issue 18
    "national": (100, None, 200),
    "demo": (5, 25, 200),  # a district's first year; public pages: issue 18
}
# Where the API and Open311 (lists of 20–100 records as JSON) have a target of their own:
# elsewhere they share the public pages'.
API_TARGETS = {"demo": 50}
OWNER = "scale_bench"


# -- jobs --------------------------------------------------------------------------------------


def scheduler_started(app: Any) -> int:
    """Freeze the complete months the dataset has no final tally for, as the scheduler does
    when it starts; returns how many. Pages are judged on a running site: a dataset just
    built (``--parts pages`` without ``jobs``) has none frozen, and its year report then
    counts the months live on every request (679 ms instead of 10 on the city demo)."""
    from consult_hub.core.db import utcnow
    from consult_hub.extensions import db
    from consult_hub.scheduler import freeze_tallies, run_job
    from consult_hub.tallies.compute import months_to_freeze

    with app.app_context():
        pending = len(months_to_freeze(utcnow()))
        db.session.remove()
    if pending:
        print(f"{pending} complete months not frozen yet: the scheduler's catch-up first "
              "(as on its start)…", flush=True)
        run_job(app, "monthly_tally", freeze_tallies, utcnow())
    return pending


def bench_jobs(app: Any, month: Any, catch_up_budget: float) -> tuple[list[Row], dict[str, Any]]:
    import sqlalchemy as sa

    from consult_hub.core.db import utcnow
    from consult_hub.extensions import db
    from consult_hub.issues.models import DUE_STATUSES, Issue, IssueStatus
    from consult_hub.models import Notification
    from consult_hub.scheduler import freeze_tallies, run_job, sweep_reminders
    from consult_hub.tallies.compute import freeze_month, months_to_freeze
    from consult_hub.tallies.models import MonthlyTally

    rows: list[Row] = []
    info: dict[str, Any] = {"month": month.isoformat()}
    now = utcnow()

    with app.app_context(), app.test_request_context(base_url=app.config["SITE_URL"] + "/"):
        started = time.perf_counter()
        freeze_month(month, now)
        elapsed = time.perf_counter() - started
        written = db.session.scalar(sa.select(sa.func.count()).select_from(MonthlyTally)
                                    .where(MonthlyTally.month == month))
        rows.append(Row("jobs", f"freeze_month({month:%Y-%m})",
                        {"seconds": round(elapsed, 2), "written": written},
                        note="upserts every scope of the month"))
        pending = months_to_freeze(now)
        db.session.remove()

    if pending:
        estimate = elapsed * len(pending)
        if estimate > catch_up_budget:
            rows.append(Row("jobs", f"scheduler catch-up ({len(pending)} months)", status="SKIP",
                            note=f"≈{estimate:,.0f} s estimated, over --catch-up-budget "
                                 f"{catch_up_budget:g} s; report pages count those months live"))
        else:
            started = time.perf_counter()
            done = run_job(app, "monthly_tally", freeze_tallies, now)
            elapsed_all = time.perf_counter() - started
            rows.append(Row("jobs", f"scheduler catch-up ({len(done or [])} months)",
                            {"seconds": round(elapsed_all, 2), "written": len(done or [])},
                            note="first start: every unfrozen complete month"))
            pending = []
    if pending:
        # Too many months to catch up: the job's path (run_job: contexts, the advisory lock,
        # finding the months) with the freeze of last month alone.
        def last_month_only(when: Any) -> list[str]:
            months_to_freeze(when)
            freeze_month(month, when)
            return [f"{month:%Y-%m}"]

        started = time.perf_counter()
        done = run_job(app, "monthly_tally", last_month_only, now)
        elapsed = time.perf_counter() - started
        rows.append(Row("jobs", "scheduler monthly job (run_job monthly_tally)",
                        {"seconds": round(elapsed, 2), "written": len(done or [])},
                        status="" if done else "ERROR",
                        note=f"last month only ({len(pending)} older months unfrozen)"))
    else:
        # The steady state of the 02:00 job: exactly last month is missing.
        with app.app_context():
            db.session.execute(sa.delete(MonthlyTally).where(
                MonthlyTally.month == month, MonthlyTally.scope_key == "city"))
            db.session.commit()
            db.session.remove()
        started = time.perf_counter()
        done = run_job(app, "monthly_tally", freeze_tallies, now)
        elapsed = time.perf_counter() - started
        rows.append(Row("jobs", "scheduler monthly job (run_job monthly_tally)",
                        {"seconds": round(elapsed, 2), "written": len(done or [])},
                        status="" if done else "ERROR",
                        note="months frozen: " + ", ".join(done or []) if done else
                        "froze nothing (see the log)"))

    elapsed = _count_current_month(app)
    rows.append(Row("jobs", "scheduler current month count (run_job current_tally)",
                    {"seconds": round(elapsed, 2)},
                    note="every 10 minutes: the month so far, read by the reports"))

    with app.app_context():
        before = db.session.scalar(sa.select(sa.func.max(Notification.id))) or 0
        open_problems = db.session.scalar(sa.select(sa.func.count()).select_from(Issue).where(
            Issue.status.in_([*DUE_STATUSES, IssueStatus.PLANNED])))
        db.session.remove()
    info["open_problems"] = open_problems
    try:
        for label in ("first run", "again (all reminded)"):
            if label.startswith("again"):
                _analyze_notifications(app)
            started = time.perf_counter()
            counts = run_job(app, "reminders", sweep_reminders, now)
            elapsed = time.perf_counter() - started
            rows.append(Row("jobs", f"reminder sweep, {label}",
                            {"seconds": round(elapsed, 2),
                             "written": sum((counts or {}).values())},
                            status="" if counts is not None else "ERROR",
                            note=f"{open_problems:,} open problems; "
                                 + ", ".join(f"{k} {v}" for k, v in (counts or {}).items())))
    finally:
        with app.app_context():
            removed = db.session.execute(sa.delete(Notification).where(
                Notification.id > before)).rowcount
            db.session.commit()
            db.session.remove()
        info["notifications_removed"] = removed
    return rows, info


def _analyze_notifications(app: Any) -> None:
    """What autovacuum does within a minute of the first sweep's inserts (the next sweep
    runs five minutes later): with the statistics of an empty table, PostgreSQL reads every
    queued reminder for each batch of keys asked about."""
    import sqlalchemy as sa

    from consult_hub.extensions import db

    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect() as conn:
                conn.execute(sa.text("ANALYZE notifications"))
                conn.commit()


# -- tallies -----------------------------------------------------------------------------------


def bench_tallies(app: Any, dataset: Any, month: Any, runs: int) -> list[Row]:
    from benchlib import floor
    from consult_hub.extensions import db
    from consult_hub.tallies.compute import compute_month

    limit = TARGETS[dataset.name][2]
    city_districts = dataset.sample.get("city_district_ids")
    cases = []
    if dataset.name == "national":
        if city_districts:
            cases.append((f"a city's tally ({len(city_districts)} districts)", city_districts,
                          limit))
        cases.append(("the nation's tally", None, None))
    else:
        cases.append(("the city's tally", None, limit))
    rows = []
    with app.app_context():
        for label, districts, target in cases:
            try:
                app_times, computed = measure.timed(
                    lambda d=districts: compute_month(month, d), runs)
            except TypeError as exc:  # an older compute_month without district_ids
                rows.append(Row("tallies", label, status="ERROR", note=str(exc)))
                continue
            db.session.rollback()
            floor_times, floor_figures = measure.timed(
                lambda d=districts: floor.floor(month, d), runs)
            db.session.rollback()
            app_s, floor_s = min(app_times), min(floor_times)
            differs = floor.differences(computed["city"][1], floor_figures)
            row = Row("tallies", f"{label} {month:%Y-%m}", {
                "app_ms": ms(app_s), "floor_ms": ms(floor_s),
                "ratio": round(app_s / floor_s, 1) if floor_s else None,
                "match": "yes" if not differs else "NO",
                "app_runs_ms": [ms(t) for t in app_times],
                "floor_runs_ms": [ms(t) for t in floor_times],
                "events_held": floor_figures["events_held"],
                "issues_raised": floor_figures["issues_raised"],
                "scopes": len(computed),
            }, note=f"best of {len(app_times)}; " + (
                "differs: " + "; ".join(differs) if differs else
                f"{floor_figures['events_held']:,} events held, "
                f"{floor_figures['issues_raised']:,} problems raised"))
            row.judge(ms(app_s), target, "app")
            rows.append(row)
        db.session.remove()
    return rows


# -- pages -------------------------------------------------------------------------------------


def _time_page(client: Any, timer: measure.ServerTimer, page: Any, requests: int, warmup: int,
               salt: int, budget: float) -> tuple[list[float], int, str]:
    """Server times of ``requests`` requests after ``warmup`` ones; a slow page stops once it
    has spent ``budget`` seconds and has at least 5 timed requests (n says how many)."""
    times, errors, first_error, spent = [], 0, "", 0.0
    for n in range(warmup + requests):
        if spent > budget and len(times) >= 5:
            break
        if n < warmup and spent > budget / 4:
            continue  # a slow page: one warm-up request is enough
        url = page.url(n)
        # A different address per request: the API's per-client rate limit stays out of it.
        address = f"10.{n % 250}.{(n // 250) % 250}.{salt % 250 + 1}"
        answer = client.get(url, environ_base={"REMOTE_ADDR": address})
        if answer.status_code != 200:
            errors += 1
            first_error = first_error or f"{answer.status_code} {url}"
        spent += timer.last
        if n >= warmup:
            times.append(timer.last)
    return times, errors, first_error


CURRENT_TALLY_EVERY = 540  # seconds: the job's 10 minutes, with a margin


def _count_current_month(app: Any) -> float:
    """Run the scheduler's current_tally job once, as a running site's scheduler does."""
    from consult_hub.core.db import utcnow
    from consult_hub.scheduler import refresh_current_tallies, run_job

    started = time.perf_counter()
    run_job(app, "current_tally", refresh_current_tallies, utcnow())
    return time.perf_counter() - started


def bench_pages(dataset: Any, instance: str, requests: int, warmup: int, only: str | None,
                budget: float) -> tuple[list[Row], dict[str, Any]]:
    """Each page twice for anonymous visitors: rendered (the page cache off: what a miss, or
    any visitor with a session, costs; judged against the target), then as a cookie-less
    resident meets it with the page cache on (varied URLs mostly miss; fixed ones hit).
    Staff pages are never cached: rendered only."""
    from benchlib import pages as page_list

    public_limit, staff_limit, _tally = TARGETS[dataset.name]
    app = make_app(dataset, instance, PAGE_CACHE_SECONDS=0)
    cached_app = make_app(dataset, instance)
    with app.app_context():
        pools = page_list.gather(dataset.sample)
        from consult_hub.extensions import db

        db.session.remove()
    timer = measure.ServerTimer(app.wsgi_app)
    app.wsgi_app = timer
    cached_timer = measure.ServerTimer(cached_app.wsgi_app)
    cached_app.wsgi_app = cached_timer
    logins = login_pairs(dataset.sample)
    clients: dict[str | None, Any] = {None: app.test_client()}
    anonymous = cached_app.test_client(use_cookies=False)
    rows = []
    chosen = [p for p in page_list.pages(pools) if not only or re.search(only, p.name)]
    counted_at = float("-inf")
    for page in chosen:
        # A running site's scheduler counts the current month every 10 minutes (the
        # current_tally job) and the reports read that count: do the same between pages.
        if time.monotonic() - counted_at > CURRENT_TALLY_EVERY:
            _count_current_month(app)
            counted_at = time.monotonic()
        if page.role not in clients:
            pair = logins.get(page.role)
            try:
                if not pair:
                    raise RuntimeError(f"no {page.role} login in the dataset's sample")
                clients[page.role] = login(app, *pair)
            except RuntimeError as exc:
                clients[page.role] = exc
        client = clients[page.role]
        row = Row("pages", page.name)
        row.figures["kind"] = page.kind
        if isinstance(client, Exception):
            row.status, row.note = "SKIP", str(client)
            rows.append(row)
            continue
        times, errors, first_error = _time_page(client, timer, page, requests, warmup, len(rows),
                                                budget)
        row.figures.update({
            "p50_ms": ms(percentile(times, 50)), "p95_ms": ms(percentile(times, 95)),
            "max_ms": ms(max(times)), "n": len(times), "errors": errors,
            "example": page.url(warmup),
        })
        if page.role is None:
            cached, cached_errors, cached_error = _time_page(anonymous, cached_timer, page,
                                                             requests, warmup, len(rows), budget)
            row.figures.update({"cached_p50_ms": ms(percentile(cached, 50)),
                                "cached_p95_ms": ms(percentile(cached, 95))})
            errors += cached_errors
            row.figures["errors"] = errors
            first_error = first_error or cached_error
        row.note = first_error
        limit = (staff_limit if page.role
                 else API_TARGETS.get(dataset.name, public_limit) if page.kind == "api"
                 else public_limit)
        row.judge(row.figures["p95_ms"], limit, "p95")
        if errors:
            row.status = "ERROR"
        rows.append(row)
        cached_note = (f"  cached p95 {row.figures['cached_p95_ms']:8.1f} ms"
                       if "cached_p95_ms" in row.figures else "")
        print(f"  {page.name:<56} p50 {row.figures['p50_ms']:8.1f} ms  p95 "
              f"{row.figures['p95_ms']:8.1f} ms{cached_note}  {row.status}", flush=True)
    with app.app_context():
        db.engine.dispose()
    with cached_app.app_context():
        db.engine.dispose()
    return rows, {"pools": {"platforms": len(pools.platform_ids), "events": len(pools.event_ids),
                            "references": len(pools.references),
                            "districts": len(pools.district_ids),
                            "words": pools.words[:10],
                            "months": [m.isoformat() for m in pools.months[:3]],
                            "counts": pools.counts}}


# -- one dataset -------------------------------------------------------------------------------


def run(name: str, args: argparse.Namespace) -> list[Row]:
    dataset = load_dataset(name, args.rebuild, args.scale)
    print(f"\n{name}: {dataset.database_url.split('@')[-1]} — "
          + ", ".join(f"{k} {v:,}" for k, v in dataset.counts.items() if isinstance(v, int)),
          flush=True)
    info = measure.machine(dataset.database_url)
    print("machine: " + measure.describe_machine(info), flush=True)
    rows: list[Row] = []
    extra: dict[str, Any] = {"machine": info, "dataset_info": {
        "name": dataset.name, "counts": dataset.counts, "build_seconds": dataset.build_seconds,
        "generator_version": dataset.generator_version,
        "standin": bool(dataset.sample.get("standin")),
        "database": dataset.database_url.split("://")[0]}}
    with tempfile.TemporaryDirectory() as instance:
        app = make_app(dataset, instance)
        from benchlib.pages import last_complete_month

        with app.app_context():
            import sqlalchemy as sa

            from consult_hub.core.db import utcnow
            from consult_hub.extensions import db
            from consult_hub.issues.models import Issue

            latest = db.session.scalar(sa.select(sa.func.max(Issue.created_at)))
            month = last_complete_month(utcnow().date(), latest.date() if latest else None)
            db.session.remove()
        settings = {"requests": args.requests, "warmup": args.warmup, "month": month.isoformat()}
        if "jobs" in args.parts:
            print(f"{name}: jobs for {month:%Y-%m}…", flush=True)
            job_rows, job_info = bench_jobs(app, month, args.catch_up_budget)
            rows += job_rows
            settings["jobs"] = job_info
        if "tallies" in args.parts:
            print(f"{name}: tallies for {month:%Y-%m}…", flush=True)
            rows += bench_tallies(app, dataset, month, args.tally_runs)
        if "pages" in args.parts:
            if "jobs" not in args.parts:
                caught_up = scheduler_started(app)
                if caught_up:
                    settings["caught_up_months"] = caught_up
            print(f"{name}: pages, {args.warmup} warm-up + {args.requests} requests each…",
                  flush=True)
            page_rows, page_info = bench_pages(dataset, instance, args.requests, args.warmup,
                                               args.pages, args.page_budget)
            rows += page_rows
            settings.update(page_info)
        with app.app_context():
            from consult_hub.extensions import db

            db.engine.dispose()
    extra["scale_settings"] = settings
    title = (f"{name} ({extra['dataset_info']['database']}"
             f"{', STAND-IN demo data' if extra['dataset_info']['standin'] else ''})")
    print()
    print(measure.table(rows, f"scale_bench — {title}"))
    path = measure.Results(results_name(dataset, args.scale)).save(rows, owner=OWNER, extra=extra,
                                                                sections=args.parts)
    print(f"written to {path.relative_to(measure.ROOT)}")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", action="append", choices=["demo", "city", "national"],
                        help="one dataset (repeatable); default: demo, city, then national")
    parser.add_argument("--requests", type=int, default=50, help="requests per page (50)")
    parser.add_argument("--warmup", type=int, default=5, help="untimed requests first (5)")
    parser.add_argument("--page-budget", type=float, default=20,
                        help="seconds a page may take per pass before it stops early, "
                             "with at least 5 timed requests (20)")
    parser.add_argument("--tally-runs", type=int, default=3, help="runs of each tally (3)")
    parser.add_argument("--parts", default="jobs,tallies,pages",
                        help="comma-separated subset of jobs,tallies,pages")
    parser.add_argument("--pages", help="only pages whose name matches this regex")
    parser.add_argument("--catch-up-budget", type=float, default=float("inf"),
                        help="freeze missing months first only when it should take under this "
                             "(s; default: always, as the scheduler does on its first start)")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the datasets")
    parser.add_argument("--scale", type=float, default=1.0,
                        help="a smaller dataset to try things out (e.g. 0.01); own results file")
    args = parser.parse_args()
    args.parts = {p.strip() for p in args.parts.split(",")}
    names = args.only or ["demo", "city", "national"]
    if "national" in names and not args.only and not postgres_answers():
        print("national: no PostgreSQL server answers; skipped")
        names = [n for n in names if n != "national"]
    for name in names:
        run(name, args)


if __name__ == "__main__":
    main()
