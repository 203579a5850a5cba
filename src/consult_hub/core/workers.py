"""How many processes serve this application, and whether its rate limits hold across them.

Flask-Limiter's ``memory://`` storage counts in each process: under gunicorn with four
workers a limit of 5 submissions lets up to 20 through. The application asks gunicorn how
many workers it starts (the gunicorn application that is loading us is on the call stack,
with its configuration from the command line, ``GUNICORN_CMD_ARGS``, ``WEB_CONCURRENCY``
and any config file, in the master with ``--preload``/``--check-config`` and in each worker
otherwise) and refuses memory storage under several.
"""

from __future__ import annotations

import inspect
import sys


def gunicorn_workers() -> int | None:
    """The number of workers of the gunicorn loading this application; None outside gunicorn."""
    if "gunicorn" not in sys.modules:
        return None
    try:
        from gunicorn.app.base import BaseApplication
    except ImportError:  # pragma: no cover - a module named gunicorn that is not gunicorn
        return None
    frame = inspect.currentframe()
    try:
        while frame is not None:
            candidate = frame.f_locals.get("self")
            if isinstance(candidate, BaseApplication):
                workers = getattr(getattr(candidate, "cfg", None), "workers", None)
                if isinstance(workers, int):
                    return workers
            frame = frame.f_back
    finally:
        del frame
    return None


def uses_memory_storage(storage_uri: str) -> bool:
    return storage_uri.strip().lower().startswith("memory://")


def shared_limits_problem(storage_uri: str, workers: int | None) -> str | None:
    """Why the rate limits would not hold: ``memory://`` storage under several workers."""
    if not uses_memory_storage(storage_uri) or workers is None or workers <= 1:
        return None
    return (
        f"RATELIMIT_STORAGE_URI is {storage_uri!r} while gunicorn runs {workers} workers: "
        f"each worker would count its own limits, letting up to {workers} times as many "
        "submissions and tracking look-ups through. Consult Hub refuses to start so. Point "
        "every worker at one Redis (the 'redis' package is in the prod extra), e.g.\n"
        "    export RATELIMIT_STORAGE_URI=redis://127.0.0.1:6379/0\n"
        "or run a single worker (-w 1). Only for load tests and benchmarks, "
        "RATELIMIT_PER_WORKER_OK=1 accepts limits counted per worker."
    )
