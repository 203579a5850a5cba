"""A tiny progress line for bulk loads: rows done / total, rows per second and ETA, on stderr.

On a terminal the line is rewritten in place (``\\r``) at most ten times a second; otherwise
(a log file, ``make bench | tee``) a plain line is printed every few seconds. Several counters
may share one line (a table and its child table loaded together); the first one drives the ETA.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO


def _si(n: float) -> str:
    """1234567 → '1.23M'; small numbers as they are."""
    for limit, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(n) >= limit:
            return f"{n / limit:.2f}{suffix}"
    return f"{n:.0f}"


def _duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 60}:{seconds % 60:02d}"


class Counter:
    """One table's rows: ``add(n)`` as they are written."""

    def __init__(self, line: Progress, name: str, total: int | None) -> None:
        self.line, self.name, self.total, self.done = line, name, total, 0

    def add(self, n: int) -> None:
        self.done += n
        self.line.tick()


class Progress:
    """One progress line; ``counter(name, total)`` adds a table to it; ``close()`` ends it."""

    BAR = 20

    def __init__(self, label: str, *, enabled: bool = True, stream: TextIO | None = None,
                 every: float | None = None) -> None:
        self.label = label
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.tty = enabled and self.stream.isatty()
        self.every = every if every is not None else (0.1 if self.tty else 5.0)
        self.counters: list[Counter] = []
        self.started = time.perf_counter()
        self.last = 0.0
        self.seconds: float | None = None

    def counter(self, name: str, total: int | None = None) -> Counter:
        counter = Counter(self, name, total)
        self.counters.append(counter)
        return counter

    def tick(self) -> None:
        if not self.enabled:
            return
        now = time.perf_counter()
        if now - self.last >= self.every:
            self.last = now
            self._show(now, final=False)

    def text(self, now: float, *, final: bool) -> str:
        elapsed = max(now - self.started, 1e-9)
        parts = []
        for c in self.counters:
            total = f"/{_si(c.total)}" if c.total and not final else ""
            parts.append(f"{c.name} {_si(c.done)}{total} ({_si(c.done / elapsed)}/s)")
        lead = self.counters[0] if self.counters else None
        if final:
            tail = f"done in {_duration(elapsed)} ({elapsed:.1f} s)"
            bar = ""
        elif lead and lead.total:
            share = min(1.0, lead.done / lead.total)
            filled = int(share * self.BAR)
            bar = f"[{'#' * filled}{'.' * (self.BAR - filled)}] {share * 100:5.1f}% "
            eta = elapsed * (1 - share) / share if share > 0 else 0
            tail = f"elapsed {_duration(elapsed)} ETA {_duration(eta)}"
        else:
            bar, tail = "", f"elapsed {_duration(elapsed)}"
        return f"{self.label}: {bar}{' · '.join(parts)} · {tail}"

    def _show(self, now: float, *, final: bool) -> None:
        line = self.text(now, final=final)
        if self.tty:
            self.stream.write("\r\033[K" + line + ("\n" if final else ""))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def close(self) -> float:
        """Print the final line (always, even off a terminal); returns the seconds taken."""
        now = time.perf_counter()
        self.seconds = now - self.started
        if self.enabled:
            self._show(now, final=True)
        return self.seconds

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.seconds is None:
            self.close()
