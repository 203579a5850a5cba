"""Datasets and the application the benchmarks run against, configured as in production."""

from __future__ import annotations

import os
import re
import socket
from pathlib import Path
from typing import Any


def load_dataset(name: str, rebuild: bool = False, scale: float = 1.0) -> Any:
    """``benchlib.datasets.ensure(name)``; the demo stand-in while that module is missing.

    ``scale`` < 1 builds a smaller copy (for trying the benchmarks out); its results go to
    ``bench/results/<name>-s<scale>.json``, apart from the real ones."""
    if name == "demo":  # the one-year city demo, built by the app's own loader
        from benchlib import standin

        dataset = standin.ensure(name, rebuild=rebuild)
        upgrade_schema(dataset)
        return dataset
    try:
        from benchlib import datasets
    except ImportError:
        datasets = None
    if datasets is None or not hasattr(datasets, "ensure"):
        from benchlib import standin

        print(f"{name}: benchlib/datasets.py is missing; using the stand-in (one demo year)")
        dataset = standin.ensure(name, rebuild=rebuild)
    else:
        extra = {"scale": scale} if scale != 1 else {}
        dataset = datasets.ensure(name, rebuild=rebuild, progress=True, **extra)
    upgrade_schema(dataset)
    return dataset


def upgrade_schema(dataset: Any) -> None:
    """Apply migrations newer than the dataset, as each release does (a no-op when current)."""
    import tempfile

    from flask_migrate import upgrade

    with tempfile.TemporaryDirectory() as instance:
        app = make_app(dataset, instance)
        with app.app_context():
            upgrade()
            from consult_hub.extensions import db

            db.engine.dispose()


def results_name(dataset: Any, scale: float = 1.0) -> str:
    return dataset.name if scale == 1 else f"{dataset.name}-s{scale:g}"


def production_env(dataset: Any, instance: str) -> dict[str, str]:
    """Environment of a production process on ``dataset``: a real secret, no debug."""
    env = {k: v for k, v in os.environ.items() if k not in ("FLASK_DEBUG", "TESTING")}
    env.update({"DATABASE_URL": dataset.database_url, "SECRET_KEY": "bench-" + os.urandom(16).hex(),
                "INSTANCE_PATH": instance, "SITE_URL": "http://127.0.0.1:5000",
                # Page reads only: no limit fires, so memory:// counting per worker is fine here.
                "RATELIMIT_PER_WORKER_OK": "1"})
    return env


def make_app(dataset: Any, instance: str, **overrides: Any) -> Any:
    from consult_hub import create_app
    from consult_hub.config import normalise_database_url

    os.environ["DATABASE_URL"] = dataset.database_url
    app = create_app({
        "SECRET_KEY": "bench-" + os.urandom(8).hex(),
        "SQLALCHEMY_DATABASE_URI": normalise_database_url(dataset.database_url),
        "INSTANCE_PATH": instance,
        "UPLOAD_FOLDER": str(Path(instance) / "uploads"),
        "SITE_URL": "http://127.0.0.1:5000",
        **overrides,
    })
    assert not app.debug and not app.testing
    return app


def login_pairs(sample: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """``sample["logins"]`` as role → (username, password), whatever shape it came in."""
    raw = sample.get("logins") or {role: sample[role] for role in
                                    ("admin", "district_admin", "coordinator") if role in sample}
    pairs = {}
    items = raw.items() if isinstance(raw, dict) else ((x.get("role"), x) for x in raw)
    for role, value in items:
        if isinstance(value, dict):
            pairs[role] = (value.get("username"), value.get("password"))
        elif isinstance(value, (tuple, list)) and len(value) == 2:
            pairs[role] = (value[0], value[1])
    return {role: pair for role, pair in pairs.items() if role and all(pair)}


def login(app: Any, username: str, password: str) -> Any:
    """A test client signed in as ``username`` through the login form."""
    client = app.test_client()
    page = client.get("/login", environ_base={"REMOTE_ADDR": "10.255.0.1"})
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', page.text)
    answer = client.post("/login", data={"username": username, "password": password,
                                         "csrf_token": match.group(1) if match else ""},
                         environ_base={"REMOTE_ADDR": "10.255.0.1"})
    if answer.status_code != 302:
        raise RuntimeError(f"login as {username} failed ({answer.status_code})")
    return client


def postgres_answers() -> bool:
    """Whether a PostgreSQL server answers (BENCH_DATABASE_URL, TEST_DATABASE_URL or local)."""
    url = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL")
    host, port = "127.0.0.1", 5432
    if url:
        import sqlalchemy as sa

        parsed = sa.make_url(url)
        host, port = parsed.host or host, parsed.port or port
    try:
        socket.create_connection((host, port), timeout=1).close()
    except OSError:
        return False
    return True
