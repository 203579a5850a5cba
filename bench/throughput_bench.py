"""Requests per second of the home and platform pages under gunicorn, beside hello-world Flask.

Run with ``make bench`` or ``.venv/bin/python bench/throughput_bench.py [--only city|national]``.
For each dataset, Consult Hub (``wsgi:app``, production configuration: SECRET_KEY set, no
debug, scheduler off) and a hello-world Flask app (``bench/benchlib/hello.py``) are served in
turn by gunicorn with the same settings — by default those of the README's production
section (``deploy/gunicorn.conf.py``: sync workers, cores + 1) — and loaded by ``wrk``
for a fixed time (2 threads, 16 connections, 10 s, after a 2 s warm-up). The judged platform
page is one busy platform's, requested over and over like hello-world's one URL; 200 different
platform pages and the residents' mix (about 1,300 URLs: platform, event and outcome pages,
directory and outcome list pages and filters; ``resident_paths``) are loaded through a wrk Lua
script. Hello-world runs before and after Consult Hub and its mean is the ceiling (both runs
are kept: on a busy machine they show how far to trust the ratio). The ratio app/hello is the
share of the framework's ceiling a page reaches: home and platform page ≥ 0.5 (page cache on);
with the page cache off (``PAGE_CACHE_SECONDS=0``: every request rendered) the home page
≥ 0.15 and the residents' mix ≥ 0.20 (issue 18). Each row also has the server's CPU time per
request and hello-world's ÷ the row's (``cpu ratio``), which a busy machine barely changes.
Without wrk a small Python load generator stands in (noted).
Rows go into the same table and ``bench/results/<dataset>.json`` as scale_bench's.
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "src"))

from benchlib import measure  # noqa: E402
from benchlib.appsetup import (  # noqa: E402
    load_dataset,
    make_app,
    postgres_answers,
    production_env,
    results_name,
)
from benchlib.measure import Row  # noqa: E402

OWNER = "throughput_bench"
TARGET_RATIO = 0.5
# The README's production settings (deploy/gunicorn.conf.py): sync workers, one more than the
# cores. (--worker-class gthread shows why not: a worker keeps the connections it accepted, and
# in some runs one worker holds most of wrk's 16 and the other core idles.)
WORKERS, WORKER_CLASS, WORKER_THREADS, PRELOAD = (os.cpu_count() or 1) + 1, "sync", 4, False
GUNICORN = Path(sys.executable).with_name("gunicorn")


SERVERS: dict[str, int] = {}  # base URL → gunicorn master's pid, while it serves


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def gunicorn(app_spec: str, env: dict[str, str], args: argparse.Namespace, log: Path,
             pythonpath: str | None = None) -> Iterator[str]:
    """Serve ``app_spec`` with the benchmark's gunicorn settings; yields the base URL."""
    port = free_port()
    command = [str(GUNICORN), "-w", str(args.workers), "-k", args.worker_class,
               "-b", f"127.0.0.1:{port}", "--log-level", "warning"]
    if args.worker_class == "gthread":
        command += ["--threads", str(args.worker_threads)]
    if args.preload:
        command.append("--preload")
    if pythonpath:
        command += ["--pythonpath", pythonpath]
    command.append(app_spec)
    with log.open("ab") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=out)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                conn.request("GET", "/")
                status = conn.getresponse().status
                conn.close()
                if status == 200:
                    break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn {app_spec} did not start; see {log}:\n"
                                   + log.read_text()[-2000:])
            time.sleep(0.3)
        SERVERS[base] = process.pid
        yield base
    finally:
        SERVERS.pop(base, None)
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _server_cpu_seconds(master: int) -> float | None:
    """CPU time (user + system) used so far by gunicorn's master and workers (Linux /proc);
    None elsewhere. Beside requests/s it gives CPU per request, which the machine's other
    work barely changes (requests/s falls with every other busy process)."""
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    total = 0.0
    try:
        entries = os.listdir("/proc")
    except OSError:
        return None
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        pid, parent = int(entry), int(fields[1])
        if pid == master or parent == master:
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


# -- load generators ---------------------------------------------------------------------------


def lua_script(paths: list[str], folder: Path) -> Path:
    """A wrk script requesting a random path of ``paths`` each time."""
    script = folder / f"paths-{len(paths)}-{abs(hash(tuple(paths)))}.lua"
    listed = ", ".join(f'"{p}"' for p in paths)
    script.write_text(
        f"local paths = {{{listed}}}\n"
        "math.randomseed(os.time())\n"
        "request = function()\n"
        "  return wrk.format('GET', paths[math.random(#paths)])\n"
        "end\n")
    return script


def _seconds(text: str) -> float:
    number, unit = re.match(r"([\d.]+)(\w+)", text).groups()
    return float(number) * {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}[unit]


def run_wrk(base: str, paths: list[str], duration: float, args: argparse.Namespace,
            folder: Path) -> dict[str, Any]:
    command = ["wrk", "-t", str(args.threads), "-c", str(args.connections),
               "-d", f"{duration:g}s", "--latency", "--timeout", "10s"]
    if len(paths) > 1:
        command += ["-s", str(lua_script(paths, folder))]
    out = subprocess.run(command + [base + paths[0]], capture_output=True, text=True,
                         check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    errors = 0
    if match := re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out):
        errors += int(match.group(1))
    if match := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)",
                          out):
        errors += sum(int(g) for g in match.groups())
    latency = {f"p{p}_ms": round(_seconds(m.group(1)) * 1000, 2)
               for p in (50, 99) if (m := re.search(rf"^\s+{p}%\s+(\S+)", out, re.M))}
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    return {"rps": round(rps, 1), "errors": errors, "requests": requests, **latency}


def run_python(base: str, paths: list[str], duration: float, args: argparse.Namespace,
               _folder: Path) -> dict[str, Any]:
    """A keep-alive load generator in threads: a fallback, slower than wrk (noted in the row)."""
    host, port = base.removeprefix("http://").split(":")
    done, errors, lock = [0], [0], threading.Lock()
    deadline = time.monotonic() + duration

    def worker(seed: int) -> None:
        conn, n = http.client.HTTPConnection(host, int(port), timeout=10), seed
        while time.monotonic() < deadline:
            n += 1
            try:
                conn.request("GET", paths[n % len(paths)])
                answer = conn.getresponse()
                answer.read()
                ok = answer.status == 200
            except OSError:
                conn.close()
                conn, ok = http.client.HTTPConnection(host, int(port), timeout=10), False
            with lock:
                done[0] += 1
                errors[0] += not ok
        conn.close()

    threads = [threading.Thread(target=worker, args=(i * 7,)) for i in range(args.connections)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    return {"rps": round(done[0] / elapsed, 1), "errors": errors[0], "requests": done[0]}


# -- one dataset -------------------------------------------------------------------------------


def platform_paths(dataset: Any, instance: str, count: int) -> list[str]:
    import random

    from benchlib.pages import _sample_ids
    from consult_hub.extensions import db
    from consult_hub.platforms.models import Platform

    app = make_app(dataset, instance)
    with app.app_context():
        ids = _sample_ids(Platform.id, [], count, random.Random(11))
        db.session.remove()
        db.engine.dispose()
    return [f"/platforms/{i}" for i in ids]


MIX_DETAIL_PAGES = 400  # of each kind: platform, event and outcome pages
MIX_LIST_PAGES = {"directory": 50, "outcomes": 20}  # at most, from page 1 on


def resident_paths(dataset: Any, instance: str) -> list[str]:
    """The residents' mix: pages residents open, each once in the list (wrk picks at random).

    400 random platform pages, 400 event pages and 400 published outcome pages (ids drawn
    over the whole id range), the directory's pages 1..n (up to 50) and the outcome list's
    (up to 20), and the lists filtered by each district, platform kind, outcome status and
    category: about 1,280 URLs on the city dataset. The same seed gives the same list.
    """
    import random

    import sqlalchemy as sa

    from benchlib.pages import _sample_ids
    from consult_hub.areas.models import Area, AreaLevel
    from consult_hub.core.categories import Category
    from consult_hub.events.models import Event
    from consult_hub.extensions import db
    from consult_hub.issues.models import OUTCOME_STATUSES, Issue
    from consult_hub.platforms.models import Platform, PlatformKind

    app = make_app(dataset, instance)
    rng = random.Random(18)
    with app.app_context():
        per_page = app.config["PER_PAGE"]
        session = db.session
        platforms = _sample_ids(Platform.id, [], MIX_DETAIL_PAGES, rng)
        events = _sample_ids(Event.id, [], MIX_DETAIL_PAGES, rng)
        published = [Issue.status.in_(OUTCOME_STATUSES), Issue.published_at.is_not(None)]
        outcome_ids = _sample_ids(Issue.id, published, MIX_DETAIL_PAGES, rng)
        references = list(session.scalars(sa.select(Issue.reference).where(
            Issue.id.in_(outcome_ids))))
        n_platforms = session.scalar(sa.select(sa.func.count()).select_from(Platform)) or 0
        n_outcomes = session.scalar(sa.select(sa.func.count()).select_from(Issue)
                                    .where(*published)) or 0
        districts = list(session.scalars(sa.select(Area.id).where(
            Area.level == AreaLevel.DISTRICT).order_by(Area.code)))
        wanted = set(dataset.sample.get("city_district_ids") or [])
        districts = [d for d in districts if d in wanted] or districts
        db.session.remove()
        db.engine.dispose()
    paths = ([f"/platforms/{i}" for i in platforms] + [f"/events/{i}" for i in events]
             + [f"/issues/{r}" for r in references])
    for name, count in (("directory", n_platforms), ("outcomes", n_outcomes)):
        base = "/platforms" if name == "directory" else "/outcomes"
        last = min(MIX_LIST_PAGES[name], max(1, -(-count // per_page)))
        paths += [base] + [f"{base}?page={n}" for n in range(2, last + 1)]
    paths += [f"/platforms?district={d}" for d in districts[:30]]
    paths += [f"/platforms?kind={k.value}" for k in PlatformKind]
    paths += [f"/outcomes?district={d}" for d in districts[:30]]
    paths += [f"/outcomes?status={s.value}" for s in OUTCOME_STATUSES]
    paths += [f"/outcomes?category={c.value}" for c in Category]
    rng.shuffle(paths)
    return paths


def measured(load: Any, base: str, paths: list[str], args: argparse.Namespace,
             folder: Path) -> dict[str, Any]:
    """``load`` after a warm-up, with the server's CPU milliseconds per request."""
    load(base, paths, args.warmup, args, folder)
    master = SERVERS.get(base)
    before = _server_cpu_seconds(master) if master else None
    figures = load(base, paths, args.duration, args, folder)
    after = _server_cpu_seconds(master) if master else None
    if before is not None and after is not None and figures["requests"]:
        figures["cpu_ms"] = round((after - before) * 1000 / figures["requests"], 3)
    return figures


def run_hello(env: dict[str, str], args: argparse.Namespace, log: Path, load: Any,
              folder: Path) -> dict[str, Any]:
    with gunicorn("benchlib.hello:app", env, args, log, pythonpath=str(HERE)) as base:
        hello = measured(load, base, ["/"], args, folder)
    print(f"  hello-world Flask: {hello['rps']:,.0f} req/s", flush=True)
    return hello


MIX = "residents' mix"
# Judged rows and their targets (requests/s ÷ hello-world's, same run); the others inform.
JUDGED = {
    "home page": TARGET_RATIO,
    "platform page": TARGET_RATIO,
    "home page (page cache off)": 0.15,
    f"{MIX} (page cache off)": 0.20,
}


def gunicorn_settings(args: argparse.Namespace) -> str:
    return (f"gunicorn -w {args.workers} -k {args.worker_class}"
            + (f" --threads {args.worker_threads}" if args.worker_class == "gthread" else "")
            + (" --preload" if args.preload else ""))


def run(name: str, args: argparse.Namespace) -> list[Row]:
    dataset = load_dataset(name, scale=args.scale)
    load = run_wrk if shutil.which("wrk") and not args.python_load else run_python
    tool = "wrk" if load is run_wrk else "python"
    settings = (gunicorn_settings(args)
                + f"; {tool} -t{args.threads} -c{args.connections} -d{args.duration:g}s")
    print(f"\n{name}: {settings}", flush=True)
    results: dict[str, dict[str, Any]] = {}
    wanted = re.compile(args.rows) if args.rows else None
    with tempfile.TemporaryDirectory() as folder:
        folder_path = Path(folder)
        instance = str(folder_path / "instance")
        many = platform_paths(dataset, instance, 200)
        mix = resident_paths(dataset, instance)
        busy = (dataset.sample.get("busy_platform_ids") or [])[:1]
        one = [f"/platforms/{busy[0]}"] if busy else many[:1]
        # Judged: the home page and one (busy) platform page, each requested over and over as
        # hello-world's one URL is, and the residents' mix (wrk picks one of its URLs at random
        # for each request). Informative: 200 different platform pages (each worker's page
        # cache fills during the run, so the figure depends on how fast it renders).
        cached = {"home page": ["/"], "platform page": one,
                  "platform pages (200 different)": many, MIX: mix}
        # Every request rendered (the page cache off): what a cache miss costs.
        uncached = {"home page": ["/"], "platform page": one, MIX: mix}
        print(f"  {MIX}: {len(mix):,} URLs", flush=True)
        log = folder_path / "gunicorn.log"
        env = production_env(dataset, instance)
        hellos = [run_hello(env, args, log, load, folder_path)]
        passes = [("", env, cached)]
        if not args.no_uncached:
            passes.append((" (page cache off)", {**env, "PAGE_CACHE_SECONDS": "0"}, uncached))
        for suffix, pass_env, targets in passes:
            targets = {label + suffix: paths for label, paths in targets.items()
                       if wanted is None or wanted.search(label + suffix)}
            if not targets:
                continue
            with gunicorn("wsgi:app", pass_env, args, log) as base:
                for label, paths in targets.items():
                    results[label] = measured(load, base, paths, args, folder_path)
                    print(f"  Consult Hub {label}: {results[label]['rps']:,.0f} req/s",
                          flush=True)
        hellos.append(run_hello(env, args, log, load, folder_path))
        # Before and after the app, so that a change in the machine's load shows (and averages).
        hello = {"rps": round(sum(h["rps"] for h in hellos) / len(hellos), 1),
                 "errors": sum(h["errors"] for h in hellos), "runs": hellos}
        cpu = [h["cpu_ms"] for h in hellos if h.get("cpu_ms")]
        if len(cpu) == len(hellos):
            hello["cpu_ms"] = round(sum(cpu) / len(cpu), 3)
        server_log = log.read_text()[-3000:] if log.exists() else ""
    rows = []
    for label, figures in results.items():
        ratio = round(figures["rps"] / hello["rps"], 3) if hello["rps"] else None
        # Hello-world's CPU per request over the page's: the ratio an idle machine would show
        # when the server is CPU-bound (informative; requests/s is judged).
        cpu_ratio = (round(hello["cpu_ms"] / figures["cpu_ms"], 3)
                     if figures.get("cpu_ms") and hello.get("cpu_ms") else None)
        row = Row("throughput", label, {
            "app_rps": figures["rps"], "hello_rps": hello["rps"], "ratio": ratio,
            "app_cpu_ms": figures.get("cpu_ms"), "cpu_ratio": cpu_ratio,
            "errors": figures["errors"] + hello["errors"], "app": figures, "hello": hello,
            "settings": settings, **({"urls": len(mix)} if label.startswith(MIX) else {}),
        }, note=settings + ("; errors!" if figures["errors"] + hello["errors"] else ""))
        if label.startswith(MIX):
            row.note = f"{len(mix):,} URLs at random; " + row.note
        if label in JUDGED:
            row.judge(ratio, -JUDGED[label], "ratio")
        elif "cache off" in label:
            row.note = "informative: every request rendered; " + row.note
        elif "different" in label:
            row.note = "informative: hits once each worker has rendered each page; " + row.note
        else:
            row.note = "informative; " + row.note
        rows.append(row)
    info = measure.machine(dataset.database_url)
    print()
    print(measure.table(rows, f"throughput_bench — {name}"))
    if server_log.strip():
        print("gunicorn log (tail):\n" + server_log)
    if wanted is not None:
        print("--rows given: a partial run, not written to the results file")
        return rows
    path = measure.Results(results_name(dataset, args.scale)).save(rows, owner=OWNER, extra={
        "throughput_machine": info, "throughput_settings": settings})
    print(f"written to {path.relative_to(ROOT)}")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", choices=["city", "national"],
                        help="one dataset (repeatable); default: city, then national")
    parser.add_argument("--duration", type=float, default=10, help="seconds per target (10)")
    parser.add_argument("--warmup", type=float, default=2, help="warm-up seconds (2)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (2)")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections (16)")
    parser.add_argument("--workers", type=int, default=WORKERS,
                        help="gunicorn workers (as README: %(default)s)")
    parser.add_argument("--worker-class", default=WORKER_CLASS,
                        help="gunicorn worker class (as README: %(default)s)")
    parser.add_argument("--worker-threads", type=int, default=WORKER_THREADS,
                        help="threads per worker with --worker-class gthread (%(default)s)")
    parser.add_argument("--preload", action=argparse.BooleanOptionalAction, default=PRELOAD,
                        help="load the app before forking the workers (as README: %(default)s)")
    parser.add_argument("--rows", help="only the rows whose name matches this regex (a partial "
                        "run, for trying things out: not written to the results file)")
    parser.add_argument("--no-uncached", action="store_true",
                        help="skip the runs with the page cache off")
    parser.add_argument("--python-load", action="store_true",
                        help="use the Python load generator even when wrk is installed")
    parser.add_argument("--scale", type=float, default=1.0,
                        help="a smaller dataset to try things out (e.g. 0.01); own results file")
    args = parser.parse_args()
    names = args.only or ["city", "national"]
    if "national" in names and not args.only and not postgres_answers():
        print("national: no PostgreSQL server answers; skipped")
        names = [n for n in names if n != "national"]
    if not GUNICORN.exists():
        print(f"gunicorn is not installed ({GUNICORN}); run `make install`. Skipped.")
        return
    for name in names:
        run(name, args)


if __name__ == "__main__":
    main()
