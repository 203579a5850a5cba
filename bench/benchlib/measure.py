"""Shared measuring pieces: server time per request, percentiles, machine details, results.

Every benchmark script collects :class:`Row` objects into a :class:`Results`, prints them as one
table and merges them into ``bench/results/<dataset>.json`` (each script owns its sections, so
``scale_bench.py`` and ``throughput_bench.py`` write into the same file without losing each
other's figures).
"""

from __future__ import annotations

import json
import math
import os
import platform
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "bench" / "results"
LOCAL_PG = "postgresql://postgres@127.0.0.1:5432/test"


# -- numbers -----------------------------------------------------------------------------------


def percentile(values: Iterable[float], p: float) -> float:
    """The p-th percentile (0–100) with linear interpolation between closest ranks."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    rank = (len(ordered) - 1) * p / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 2)


class ServerTimer:
    """WSGI middleware: the time spent inside the application for each request.

    The clock runs from the call into the app until its response body has been produced and
    closed, so lazily rendered or streamed bodies count; the test client's own work around
    the call (building the environ, parsing the response) does not.
    """

    def __init__(self, app: Callable[..., Any]) -> None:
        self.app = app
        self.last: float = 0.0

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        started = time.perf_counter()
        result = self.app(environ, start_response)
        try:
            body = b"".join(result)
        finally:
            if hasattr(result, "close"):
                result.close()
        self.last = time.perf_counter() - started
        return [body]


def timed(func: Callable[[], Any], runs: int = 3, budget: float = 60.0) -> tuple[list[float], Any]:
    """Run ``func`` up to ``runs`` times (fewer when the budget in seconds is spent); the times."""
    times, result, spent = [], None, 0.0
    for _ in range(max(1, runs)):
        started = time.perf_counter()
        result = func()
        elapsed = time.perf_counter() - started
        times.append(elapsed)
        spent += elapsed
        if spent > budget:
            break
    return times, result


# -- rows and the table ------------------------------------------------------------------------


@dataclass
class Row:
    """One measured line: a figure, its target, and whether the target was met."""

    section: str  # "pages", "tallies", "jobs", "throughput"
    name: str
    figures: dict[str, Any] = field(default_factory=dict)
    target: str = ""
    status: str = ""  # PASS / MISS / "" (no target) / SKIP / ERROR
    note: str = ""

    def judge(self, value: float | None, limit: float | None, label: str) -> None:
        """PASS when ``value`` ≤ ``limit`` (≥ for ratios: pass a negative limit)."""
        if limit is None:
            return
        if limit < 0:
            self.target = f"{label} ≥ {-limit:g}"
            ok = value is not None and value >= -limit
        else:
            self.target = f"{label} ≤ {limit:g}"
            ok = value is not None and value <= limit
        self.status = "PASS" if ok else "MISS"


def _fmt(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:,.1f}" if abs(value) >= 10 else f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


SECTION_TITLES = {
    "pages": "Server time per page (ms)",
    "tallies": "Monthly tallies against the raw SQL floor (ms)",
    "jobs": "Jobs (s)",
    "throughput": "Throughput under gunicorn (requests/s)",
}
COLUMNS = {
    "pages": (("p50_ms", "p50"), ("p95_ms", "p95"), ("cached_p50_ms", "cache p50"),
              ("cached_p95_ms", "cache p95"), ("n", "n"), ("errors", "err")),
    "tallies": (("app_ms", "app"), ("floor_ms", "floor"), ("ratio", "×floor"),
                ("match", "same")),
    "jobs": (("seconds", "time"), ("written", "rows")),
    "throughput": (("app_rps", "app"), ("hello_rps", "hello"), ("ratio", "ratio"),
                   ("app_cpu_ms", "cpu ms"), ("cpu_ratio", "cpu ratio"), ("errors", "err")),
}


def table(rows: list[Row], title: str = "") -> str:
    """The rows as a plain-text table, one block per section."""
    out = []
    if title:
        out += [title, "=" * len(title)]
    sections = [s for s in SECTION_TITLES if any(r.section == s for r in rows)]
    width = max([len(r.name) for r in rows] + [20])
    for section in sections:
        cols = COLUMNS[section]
        out.append("")
        out.append(SECTION_TITLES[section])
        header = f"  {'':<{width}}" + "".join(f"{label:>10}" for _k, label in cols)
        out.append(header + f"  {'target':<14}{'result':<7}note")
        for row in (r for r in rows if r.section == section):
            cells = "".join(f"{_fmt(row.figures.get(key)):>10}" for key, _label in cols)
            out.append(f"  {row.name:<{width}}{cells}  {row.target:<14}{row.status:<7}"
                       f"{row.note}")
    misses = [r for r in rows if r.status == "MISS"]
    passes = [r for r in rows if r.status == "PASS"]
    out.append("")
    out.append(f"{len(passes)} PASS, {len(misses)} MISS"
               + (": " + ", ".join(r.name for r in misses) if misses else ""))
    return "\n".join(out)


# -- the results file --------------------------------------------------------------------------


class Results:
    """Rows for one dataset, merged into ``bench/results/<name>.json`` section by section."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.path = RESULTS / f"{name}.json"

    def load(self) -> dict[str, Any]:
        try:
            return json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}

    def save(self, rows: list[Row], *, owner: str, extra: dict[str, Any] | None = None,
             sections: Iterable[str] | None = None) -> Path:
        """Replace the rows ``owner`` wrote before (in ``sections``, default all) by ``rows``;
        keep the other scripts' rows and sections not run this time."""
        data = self.load()
        data["dataset"] = self.name
        data.setdefault("runs", {})[owner] = datetime.now(UTC).isoformat(timespec="seconds")
        redone = set(sections) if sections is not None else None
        kept = [r for r in data.get("rows", []) if r.get("owner") != owner
                or (redone is not None and r.get("section") not in redone)]
        data["rows"] = kept + [{**asdict(r), "owner": owner} for r in rows]
        for key, value in (extra or {}).items():
            if (key.endswith("_settings") and isinstance(data.get(key), dict)
                    and isinstance(value, dict)):
                value = {**data[key], **value}  # a partial run keeps the other parts' settings
            data[key] = value
        RESULTS.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps(data, ensure_ascii=False, indent=1, default=str) + "\n")
        return self.path


def rows_of(data: dict[str, Any]) -> list[Row]:
    fields = {"section", "name", "figures", "target", "status", "note"}
    return [Row(**{k: v for k, v in raw.items() if k in fields}) for raw in data.get("rows", [])]


# -- the machine -------------------------------------------------------------------------------


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _ram_gib() -> float | None:
    try:
        match = re.search(r"MemTotal:\s+(\d+) kB", Path("/proc/meminfo").read_text())
        return round(int(match.group(1)) / 1024 / 1024, 1) if match else None
    except OSError:
        return None


def _os_name() -> str:
    try:
        text = Path("/etc/os-release").read_text()
        match = re.search(r'^PRETTY_NAME="?([^"\n]+)"?', text, re.M)
        if match:
            return f"{match.group(1)} ({platform.system()} {platform.release()})"
    except OSError:
        pass
    return platform.platform()


def _git(*args: str) -> str | None:
    try:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True,
                              check=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None


def postgres_version(url: str | None = None) -> str | None:
    """The server's version when a URL answers, else the client's (``psql --version``)."""
    if url and url.startswith("postgres"):
        try:
            import sqlalchemy as sa

            sys.path.insert(0, str(ROOT / "src"))
            from consult_hub.config import normalise_database_url

            engine = sa.create_engine(normalise_database_url(url))
            with engine.connect() as conn:
                version = conn.scalar(sa.text("SHOW server_version"))
            engine.dispose()
            return f"server {version}"
        except Exception:  # noqa: BLE001 - a detail for the record, never a failure
            pass
    if shutil.which("psql"):
        out = subprocess.run(["psql", "--version"], capture_output=True, text=True).stdout
        return out.strip() or None
    return None


def machine(database_url: str | None = None) -> dict[str, Any]:
    """What the figures were measured on."""
    commit = _git("rev-parse", "HEAD")
    dirty = _git("status", "--porcelain", "--untracked-files=no")
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "host": socket.gethostname(),
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "load_average": ([round(v, 2) for v in os.getloadavg()]
                         if hasattr(os, "getloadavg") else None),
        "ram_gib": _ram_gib(),
        "os": _os_name(),
        "python": sys.version.split()[0],
        "sqlite": sqlite3.sqlite_version,
        "postgresql": postgres_version(database_url),
        "git_commit": commit,
        "git_dirty": bool(dirty) if dirty is not None else None,
    }


def describe_machine(info: dict[str, Any]) -> str:
    return (f"{info['cpu']}, {info['cores']} cores, {info['ram_gib']} GiB RAM, {info['os']}; "
            f"Python {info['python']}, SQLite {info['sqlite']}, PostgreSQL {info['postgresql']}; "
            f"commit {(info['git_commit'] or '?')[:10]}"
            f"{' (modified)' if info['git_dirty'] else ''}; "
            f"load {info['load_average']}; {info['date']}")
