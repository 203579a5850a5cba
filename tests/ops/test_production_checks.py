"""The production start-up checks (``consult_hub.check_production_settings``).

Outside debug mode and tests the site refuses to serve without ``SITE_URL`` (its links would
name whichever host a request claims, or 127.0.0.1) and with in-memory rate limits under
several gunicorn workers (each would count its own: 9 of 14 submissions got past a limit of 5).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from consult_hub import InsecureConfiguration, create_app
from consult_hub.config import DEFAULT_SITE_URL
from consult_hub.core.workers import gunicorn_workers, shared_limits_problem
from tests.support.services import redis_answers

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = shutil.which("gunicorn", path=str(Path(sys.executable).parent))


def production_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("FLASK_DEBUG", "SITE_URL", "RATELIMIT_STORAGE_URI", "WEB_CONCURRENCY",
                        "GUNICORN_CMD_ARGS", "RATELIMIT_PER_WORKER_OK", "TRUSTED_HOSTS")}
    env.update({"SECRET_KEY": "production-like-secret-" + "x" * 40,
                "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", "INSTANCE_PATH": str(tmp_path),
                "SITE_URL": "https://consult.example.org", **extra})
    return {k: v for k, v in env.items() if v}


@pytest.fixture()
def production(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    monkeypatch.delenv("SITE_URL", raising=False)
    monkeypatch.delenv("TRUSTED_HOSTS", raising=False)
    monkeypatch.setenv("SECRET_KEY", "production-like-secret-" + "x" * 40)


# -- SITE_URL ------------------------------------------------------------------------------------


def test_production_refuses_to_start_without_site_url(production, tmp_path) -> None:
    with pytest.raises(InsecureConfiguration, match="SITE_URL is not set") as refused:
        create_app({"INSTANCE_PATH": str(tmp_path)})
    assert "export SITE_URL=https://" in str(refused.value)


def test_production_refuses_a_site_url_that_is_no_address(production, monkeypatch,
                                                          tmp_path) -> None:
    monkeypatch.setenv("SITE_URL", "consult.example.org")
    with pytest.raises(InsecureConfiguration, match="absolute http"):
        create_app({"INSTANCE_PATH": str(tmp_path)})


def test_production_with_site_url_trusts_its_host(production, monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("SITE_URL", "https://Consult.Example.org/")
    app = create_app({"INSTANCE_PATH": str(tmp_path)})
    assert app.config["SITE_URL"] == "https://Consult.Example.org"
    assert app.config["TRUSTED_HOSTS"] == ["consult.example.org", "localhost", "127.0.0.1"]


def test_debug_and_tests_keep_the_development_address(production, monkeypatch, tmp_path) -> None:
    app = create_app({"INSTANCE_PATH": str(tmp_path), "TESTING": True})
    assert app.config["SITE_URL"] == DEFAULT_SITE_URL and app.config["TRUSTED_HOSTS"] is None
    monkeypatch.setenv("FLASK_DEBUG", "1")
    app = create_app({"INSTANCE_PATH": str(tmp_path)})
    assert app.config["SITE_URL"] == DEFAULT_SITE_URL and app.config["TRUSTED_HOSTS"] is None


@pytest.mark.database_independent  # a subprocess on its own SQLite file (production_env)
def test_gunicorn_entry_point_refuses_to_start_without_site_url(tmp_path) -> None:
    env = production_env(tmp_path, SITE_URL="")
    result = subprocess.run([sys.executable, "-c", "import wsgi"], env=env, capture_output=True,
                            text=True, cwd=ROOT, timeout=60)
    assert result.returncode != 0
    assert "SITE_URL is not set" in result.stderr


@pytest.mark.database_independent  # a subprocess on its own SQLite file (production_env)
def test_a_maintenance_command_only_warns_without_site_url(tmp_path) -> None:
    env = production_env(tmp_path, SITE_URL="")
    result = subprocess.run([str(Path(sys.executable).parent / "flask"), "--app", "consult_hub",
                             "tally", "--help"], env=env, capture_output=True, text=True,
                            cwd=ROOT, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "SITE_URL is not set" in result.stderr  # said, not refused


@pytest.mark.database_independent  # a subprocess on its own SQLite file (production_env)
def test_the_scheduler_refuses_to_start_without_site_url(tmp_path) -> None:
    """Its reminder emails link to the site: without SITE_URL they would name 127.0.0.1."""
    env = production_env(tmp_path, SITE_URL="")
    result = subprocess.run([str(Path(sys.executable).parent / "flask"), "--app", "consult_hub",
                             "scheduler", "run"], env=env, capture_output=True, text=True,
                            cwd=ROOT, timeout=60)
    assert result.returncode != 0
    assert "SITE_URL is not set" in result.stderr


# -- rate limits under several workers ----------------------------------------------------------


def test_the_decision_on_rate_limit_storage() -> None:
    refusal = shared_limits_problem("memory://", 4)
    assert refusal and "RATELIMIT_STORAGE_URI" in refusal and "redis://" in refusal
    assert "4 workers" in refusal
    assert shared_limits_problem("memory://", 1) is None  # one process: its count is the count
    assert shared_limits_problem("memory://", None) is None  # not gunicorn: cannot tell
    assert shared_limits_problem("redis://127.0.0.1:6379/0", 4) is None
    assert gunicorn_workers() is None  # pytest is no gunicorn


def check_config(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``gunicorn --check-config``: loads the application as a gunicorn master would."""
    if GUNICORN is None:
        pytest.skip("gunicorn missing (pip install -e '.[prod]')")
    return subprocess.run([GUNICORN, *args, "--check-config", "wsgi:app"],
                          env=production_env(tmp_path, **env), capture_output=True, text=True,
                          cwd=ROOT, timeout=90)


@pytest.mark.database_independent  # gunicorn on its own SQLite file (production_env)
def test_gunicorn_with_several_workers_refuses_memory_storage(tmp_path) -> None:
    refused = check_config(tmp_path, "-w", "2")
    assert refused.returncode != 0
    assert "RATELIMIT_STORAGE_URI is 'memory://' while gunicorn runs 2 workers" in refused.stderr
    # WEB_CONCURRENCY, gunicorn's other way to say how many workers, counts as well.
    assert check_config(tmp_path, WEB_CONCURRENCY="3").returncode != 0
    assert check_config(tmp_path, "-w", "1").returncode == 0, "one worker: its count holds"
    accepted = check_config(tmp_path, "-w", "2", RATELIMIT_PER_WORKER_OK="1")
    assert accepted.returncode == 0, accepted.stderr
    assert "rate limits count per worker" in accepted.stderr


@pytest.mark.database_independent  # gunicorn on its own SQLite file (production_env)
def test_gunicorn_with_several_workers_starts_on_redis(tmp_path) -> None:
    if not redis_answers():
        pytest.skip("no Redis on 127.0.0.1:6379 (or the redis package is missing)")
    started = check_config(tmp_path, "-w", "4", RATELIMIT_STORAGE_URI="redis://127.0.0.1:6379/13")
    assert started.returncode == 0, started.stderr


def test_maintenance_commands_and_tests_are_not_refused(production, monkeypatch, tmp_path) -> None:
    """Only gunicorn's worker count decides: a test or a one-process server starts on memory://."""
    monkeypatch.setenv("SITE_URL", "https://consult.example.org")
    monkeypatch.setenv("WEB_CONCURRENCY", "4")  # read by gunicorn only
    app = create_app({"INSTANCE_PATH": str(tmp_path)})
    assert app.config["RATELIMIT_STORAGE_URI"] == "memory://"
