"""Requests per second of the home and platform pages under gunicorn, beside hello-world Flask.

Run with ``make bench`` or ``.venv/bin/python bench/throughput_bench.py [--only city|national]``.
For each dataset, Consult Hub (``wsgi:app``, production configuration: SECRET_KEY set, no
debug, scheduler off) and a hello-world Flask app (``bench/benchlib/hello.py``) are served in
turn by gunicorn with the same settings — by default those of the README's production
section, ``-w 4`` sync workers — and loaded by ``wrk`` for a fixed time (2 threads,
16 connections, 10 s, after a 2 s warm-up). The judged platform page is one busy platform's,
requested over and over like hello-world's one URL; 200 different platform pages (a wrk Lua
script) are loaded too, for information. Hello-world runs before and after Consult Hub and its
mean is the ceiling (both runs are kept: on a busy machine they show how far to trust the
ratio). The ratio app/hello is the share of the framework's ceiling the page
reaches; target ≥ 0.5. The same two pages are then loaded with the page cache off
(``PAGE_CACHE_SECONDS=0``: every request rendered), for information. Without wrk a small
Python load generator stands in (noted).
Rows go into the same table and ``bench/results/<dataset>.json`` as scale_bench's.
"""

from __future__ import annotations

import argparse
import http.client
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
GUNICORN = Path(sys.executable).with_name("gunicorn")


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
        yield base
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


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


def run_hello(env: dict[str, str], args: argparse.Namespace, log: Path, load: Any,
              folder: Path) -> dict[str, Any]:
    with gunicorn("benchlib.hello:app", env, args, log, pythonpath=str(HERE)) as base:
        load(base, ["/"], args.warmup, args, folder)
        hello = load(base, ["/"], args.duration, args, folder)
    print(f"  hello-world Flask: {hello['rps']:,.0f} req/s", flush=True)
    return hello


def run(name: str, args: argparse.Namespace) -> list[Row]:
    dataset = load_dataset(name, scale=args.scale)
    load = run_wrk if shutil.which("wrk") and not args.python_load else run_python
    tool = "wrk" if load is run_wrk else "python"
    settings = (f"gunicorn -w {args.workers} -k {args.worker_class}"
                + (f" --threads {args.worker_threads}" if args.worker_class == "gthread" else "")
                + f"; {tool} -t{args.threads} -c{args.connections} -d{args.duration:g}s")
    print(f"\n{name}: {settings}", flush=True)
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as folder:
        folder_path = Path(folder)
        instance = str(folder_path / "instance")
        many = platform_paths(dataset, instance, 200)
        busy = (dataset.sample.get("busy_platform_ids") or [])[:1]
        one = [f"/platforms/{busy[0]}"] if busy else many[:1]
        # Judged: the home page and one (busy) platform page, each requested over and over as
        # hello-world's one URL is. Informative: 200 different platform pages (each worker's
        # page cache fills during the run, so the figure depends on how fast it renders).
        targets = {"home page": ["/"], "platform page": one,
                   "platform pages (200 different)": many}
        log = folder_path / "gunicorn.log"
        env = production_env(dataset, instance)
        hellos = [run_hello(env, args, log, load, folder_path)]
        with gunicorn("wsgi:app", env, args, log) as base:
            for label, paths in targets.items():
                load(base, paths, args.warmup, args, folder_path)
                results[label] = load(base, paths, args.duration, args, folder_path)
                print(f"  Consult Hub {label}: {results[label]['rps']:,.0f} req/s", flush=True)
        if not args.no_uncached:
            # The same pages rendered every time (the page cache off): what a cache miss costs.
            with gunicorn("wsgi:app", {**env, "PAGE_CACHE_SECONDS": "0"}, args, log) as base:
                for label, paths in list(targets.items())[:2]:
                    label = f"{label} (page cache off)"
                    load(base, paths, args.warmup, args, folder_path)
                    results[label] = load(base, paths, args.duration, args, folder_path)
                    print(f"  Consult Hub {label}: {results[label]['rps']:,.0f} req/s",
                          flush=True)
        hellos.append(run_hello(env, args, log, load, folder_path))
        # Before and after the app, so that a change in the machine's load shows (and averages).
        hello = {"rps": round(sum(h["rps"] for h in hellos) / len(hellos), 1),
                 "errors": sum(h["errors"] for h in hellos), "runs": hellos}
        server_log = log.read_text()[-3000:] if log.exists() else ""
    rows = []
    for label, figures in results.items():
        ratio = round(figures["rps"] / hello["rps"], 3) if hello["rps"] else None
        row = Row("throughput", label, {
            "app_rps": figures["rps"], "hello_rps": hello["rps"], "ratio": ratio,
            "errors": figures["errors"] + hello["errors"], "app": figures, "hello": hello,
            "settings": settings,
        }, note=settings + ("; errors!" if figures["errors"] + hello["errors"] else ""))
        if "cache off" in label:
            row.note = "informative: every request rendered; " + row.note
        elif "different" in label:
            row.note = "informative: hits once each worker has rendered each page; " + row.note
        else:
            row.judge(ratio, -TARGET_RATIO, "ratio")
        rows.append(row)
    info = measure.machine(dataset.database_url)
    print()
    print(measure.table(rows, f"throughput_bench — {name}"))
    if server_log.strip():
        print("gunicorn log (tail):\n" + server_log)
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
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers (4, as README)")
    parser.add_argument("--worker-class", default="sync", help="gunicorn worker class (sync)")
    parser.add_argument("--worker-threads", type=int, default=4,
                        help="threads per worker with --worker-class gthread (4)")
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
