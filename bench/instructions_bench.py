"""Instructions per request, counted by valgrind (callgrind): a figure the machine's load does
not move, for telling whether a change made pages cheaper.

Run with ``.venv/bin/python bench/instructions_bench.py [--urls 150] [--staff admin]``.
Requests per second and milliseconds on a shared 2-core machine move by a third from one run
to the next (``throughput_bench.py`` and ``scale_bench.py`` print them all the same);
instructions counted under callgrind repeat within about half a percent. It starts itself again
under ``valgrind --tool=callgrind`` with counting off, builds the app on the city dataset
(production configuration, page cache off), requests each URL twice to warm the process's
caches, collects the garbage, then counts a third round only: the residents' mix
(``throughput_bench.resident_paths``, the first ``--urls`` of a fixed shuffle), or with
``--staff ROLE`` ten staff lists signed in as that role. The figure includes the test client's
own work (about a tenth of a public page's); compare runs of one kind only. Python runs about
50 times slower under valgrind: 150 URLs take two to three minutes.

Nothing is written to the results files: this is a measuring stick for changes (say which
commit each figure is of), not a target.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

STAFF_PATHS = ("/dashboard", "/manage/issues/", "/manage/events/", "/manage/platforms/",
               "/inbox/", "/manage/users/", "/manage/members/", "/manage/departments/",
               "/account/", "/manage/opinion-reports/")


def measure(args: argparse.Namespace) -> None:
    """Inside valgrind: warm up, then count one round with instrumentation on."""
    sys.path[:0] = [str(HERE), str(ROOT / "src")]
    import throughput_bench

    from benchlib.appsetup import load_dataset, login, login_pairs, make_app

    dataset = load_dataset("city")
    instance = tempfile.mkdtemp()
    if args.staff:
        paths = list(STAFF_PATHS)
    else:
        paths = throughput_bench.resident_paths(dataset, instance)
        random.Random(5).shuffle(paths)
        paths = paths[:args.urls]
    app = make_app(dataset, instance, PAGE_CACHE_SECONDS=0)
    if args.staff:
        client = login(app, *login_pairs(dataset.sample)[args.staff])
    else:
        client = app.test_client()
    for _ in range(2):
        for path in paths:
            status = client.get(path).status_code
            if status != 200:
                raise SystemExit(f"{path}: {status}")
    # A full collection walks every object the process holds (~70 M instructions here, as much
    # as eight pages): one falling inside the counted round or not would swing the figure by
    # 5 %. Collected now, the next is hundreds of requests away; the young generations' own
    # collections, which the page's allocations cause, are counted.
    gc.collect()
    control = ["callgrind_control", "-i"]
    subprocess.run([*control, "on", str(os.getpid())], check=True, capture_output=True)
    before = [generation["collections"] for generation in gc.get_stats()]
    for path in paths:
        client.get(path)
    subprocess.run([*control, "off", str(os.getpid())], check=True, capture_output=True)
    counts = [stats["collections"] - n for stats, n in zip(gc.get_stats(), before, strict=True)]
    print(f"REQUESTS {len(paths)} COLLECTIONS {counts[0]} {counts[1]} {counts[2]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--urls", type=int, default=150,
                        help="how many of the residents' mix URLs (150)")
    parser.add_argument("--staff", metavar="ROLE",
                        help="ten staff lists signed in as ROLE (admin, district_admin, …)")
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inside:
        measure(args)
        return
    if not (shutil.which("valgrind") and shutil.which("callgrind_control")):
        print("valgrind is not installed (Debian: apt-get install valgrind); skipped")
        return
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "callgrind.out"
        command = ["valgrind", "--tool=callgrind", "--instr-atstart=no",
                   f"--callgrind-out-file={out}", sys.executable, __file__, "--inside",
                   "--urls", str(args.urls)] + (["--staff", args.staff] if args.staff else [])
        # The same hash seed each run: dict and set layouts, and so the work, repeat.
        run = subprocess.run(command, capture_output=True, text=True, cwd=ROOT,
                             env={**os.environ, "PYTHONHASHSEED": "0"})
    counted = re.search(r"I\s+refs:\s+([\d,]+)", run.stderr)
    requests = re.search(r"REQUESTS (\d+) COLLECTIONS (\d+) (\d+) (\d+)", run.stdout)
    if run.returncode or not counted or not requests:
        print(run.stdout[-2000:] + run.stderr[-2000:])
        raise SystemExit("the counted run failed")
    total, n = int(counted.group(1).replace(",", "")), int(requests.group(1))
    kind = f"ten staff lists as {args.staff}" if args.staff else f"{n} residents' mix URLs"
    young, middle, full = requests.group(2, 3, 4)
    print(f"{kind}, page cache off: {total:,} instructions, {total / n / 1e6:.2f} M a request "
          f"(garbage collections: {young} young, {middle} middle, {full} full)")


if __name__ == "__main__":
    main()
