"""One table for the whole ``make bench`` run: every figure of every dataset against its target.

Reads ``bench/results/<dataset>.json`` (written by scale_bench.py and throughput_bench.py)
and prints the datasets side by side, one line per page, tally, job or throughput figure.
Run: ``.venv/bin/python bench/benchlib/report.py [demo city national …]``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchlib.measure import RESULTS, SECTION_TITLES, _fmt, describe_machine  # noqa: E402

# The figures shown per dataset in each section, and their column labels.
SHOWN = {
    "pages": (("p50_ms", "p50"), ("p95_ms", "p95"), ("cached_p95_ms", "cache95")),
    "tallies": (("app_ms", "app"), ("floor_ms", "floor"), ("ratio", "×floor")),
    "jobs": (("seconds", "s"), ("written", "rows")),
    "throughput": (("app_rps", "app"), ("hello_rps", "hello"), ("ratio", "ratio"),
                   ("cpu_ratio", "cpu ratio")),
}
MARK = {"PASS": "ok", "MISS": "MISS", "ERROR": "ERR", "SKIP": "skip", "": ""}


def load(names: list[str]) -> dict[str, dict[str, Any]]:
    found = {}
    for name in names:
        path = RESULTS / f"{name}.json"
        if path.exists():
            found[name] = json.loads(path.read_text())
    return found


def _key(row: dict[str, Any]) -> str:
    """Tally and job names carry the month; line them up across datasets without it."""
    name = row["name"]
    if row["section"] in ("tallies", "jobs"):
        name = " ".join(part for part in name.split() if not part[:4].isdigit())
        name = (name.split("(")[0].strip()
                if name.startswith(("freeze_month", "scheduler catch")) else name)
    return name


def table(results: dict[str, dict[str, Any]]) -> str:
    names = list(results)
    out = ["Consult Hub benchmarks — every figure against its target", "=" * 56]
    for name, data in results.items():
        info = data.get("dataset_info", {})
        machine = data.get("machine") or data.get("throughput_machine")
        counts = info.get("counts", {})
        built = info.get("build_seconds")
        out.append(f"{name}: {info.get('database', '?')}, "
                   + ", ".join(f"{t} {counts[t]:,}" for t in ("platforms", "events", "issues")
                               if t in counts)
                   + (f"; built in {built:,.0f} s" if built else "")
                   + (" (STAND-IN demo data)" if info.get("standin") else ""))
        if machine:
            out.append("  " + describe_machine(machine))
    misses: list[str] = []
    for section, title in SECTION_TITLES.items():
        keys: list[str] = []
        by_key: dict[tuple[str, str], dict[str, Any]] = {}
        for name, data in results.items():
            for row in data.get("rows", []):
                if row["section"] != section:
                    continue
                key = _key(row)
                if key not in keys:
                    keys.append(key)
                by_key[(name, key)] = row
        if not keys:
            continue
        width = max(len(k) for k in keys)
        cols = SHOWN[section]
        out += ["", title]
        head = f"  {'':<{width}}"
        for name in names:
            block = "".join(f"{label:>9}" for _f, label in cols) + f"  {'target':<12}{'':5}"
            head += f" | {name:<{len(block) - 1}}"
        out.append(head)
        for key in keys:
            line = f"  {key:<{width}}"
            for name in names:
                row = by_key.get((name, key))
                if row is None:
                    block = "".join(f"{'':>9}" for _ in cols) + f"  {'':<12}{'':5}"
                else:
                    figures = row.get("figures", {})
                    status = row.get("status", "")
                    block = ("".join(f"{_fmt(figures.get(f)):>9}" for f, _l in cols)
                             + f"  {row.get('target', ''):<12}{MARK.get(status, status):<5}")
                    if status == "MISS":
                        misses.append(f"{name}: {section}: {key}")
                line += f" | {block}"
            out.append(line.rstrip())
    out += ["", f"{len(misses)} target(s) missed" + (":" if misses else ".")]
    out += [f"  - {miss}" for miss in misses]
    return "\n".join(out)


def main() -> None:
    names = sys.argv[1:] or ["demo", "city", "national"]
    results = load(names)
    if not results:
        print("No results yet (bench/results/*.json); run `make bench`.")
        return
    print(table(results))


if __name__ == "__main__":
    main()
