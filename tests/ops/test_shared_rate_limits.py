"""Rate limits that hold: per receipt code across addresses, and across worker processes.

Four phone digits are 10,000 guesses: a limit per address alone lets anyone with many
addresses try them all. And a limit counted in each worker's memory lets through as many
times more as there are workers; with one Redis every worker counts together.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.support.auth import csrf_token
from tests.support.public import closed_issue
from tests.support.services import redis_answers

ROOT = Path(__file__).resolve().parents[2]
MESSAGE = "这个受理编号近期的查询失败次数过多"


def look_up(client: FlaskClient, reference: str, digits: str, address: str):
    token = csrf_token(client, "/track")
    return client.post("/track", data={"csrf_token": token, "reference": reference,
                                       "digits": digits},
                       environ_base={"REMOTE_ADDR": address})


def test_guessing_one_reference_from_many_addresses_is_stopped(
        app: Flask, client: FlaskClient, make, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, "TRACKING_REFERENCE_RATE_LIMIT", "3 per hour")
    issue = closed_issue(app, make("platform").id, phone="13900001234")
    other = closed_issue(app, make("platform").id, phone="13900005678")
    # Each guess from an address of its own: the per-address limit never fires.
    guesses = [look_up(client, issue.reference, f"{n:04d}", f"198.51.100.{n + 1}").status_code
               for n in range(3)]
    assert guesses == [422, 422, 422]
    # Spelt differently, from yet another address: the same receipt code, refused.
    refused = look_up(client, issue.reference.lower().replace("-", " "), "0003", "203.0.113.9")
    assert refused.status_code == 429
    assert MESSAGE in refused.text and "跟踪链接" in refused.text
    assert int(refused.headers["Retry-After"]) > 0
    # Even the right digits wait now (otherwise the 10,000th guess would still work) ...
    assert look_up(client, issue.reference, "1234", "203.0.113.10").status_code == 429
    # ... while other receipt codes are looked up as before, from the same address.
    found = look_up(client, other.reference, "5678", "203.0.113.9")
    assert found.status_code == 303 and "/track/" in found.headers["Location"]


def test_finding_ones_problem_does_not_use_up_its_limit(
        app: Flask, client: FlaskClient, make, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, "TRACKING_REFERENCE_RATE_LIMIT", "2 per hour")
    issue = closed_issue(app, make("platform").id, phone="13900001234")
    answers = [look_up(client, issue.reference, "1234", f"198.51.100.{n}").status_code
               for n in range(1, 5)]
    assert answers == [303, 303, 303, 303]


def test_the_address_limit_still_holds_over_many_codes(
        app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, "TRACKING_RATE_LIMIT", "3 per hour")
    answers = [look_up(client, f"WH24-{n:05d}", "1234", "198.51.100.7").status_code
               for n in range(1, 5)]
    assert answers == [422, 422, 422, 429]


# -- two worker processes, one Redis ------------------------------------------------------------

WORKER = r"""
import json, os, sys
from consult_hub import create_app

app = create_app({
    "TESTING": True, "SECRET_KEY": "shared-limits", "WTF_CSRF_ENABLED": False,
    "PAGE_CACHE_SECONDS": 0, "INSTANCE_PATH": sys.argv[1],
    "RATELIMIT_STORAGE_URI": os.environ["LIMITS_URI"],
    "RATELIMIT_KEY_PREFIX": os.environ["LIMITS_PREFIX"],
    "SUBMISSION_RATE_LIMIT": "5 per hour",
})
client = app.test_client()
statuses = [
    client.post(f"/submit?platform={sys.argv[2]}", data={
        "platform": sys.argv[2], "kind": "doorstep", "category": "society",
        "title": "小区东门路灯坏了", "description": "东门两盏路灯不亮已有一周,晚上出行不便。",
        "name": "", "phone": "", "website": "", "consent": "y"}).status_code
    for _ in range(int(sys.argv[3]))
]
print(json.dumps(statuses))
"""


def run_worker(database_url: str, instance: Path, platform_id: int, posts: int, uri: str,
               prefix: str) -> list[int]:
    env = {**os.environ, "DATABASE_URL": database_url, "LIMITS_URI": uri,
           "LIMITS_PREFIX": prefix}
    result = subprocess.run(
        [sys.executable, "-c", WORKER, str(instance), str(platform_id), str(posts)], env=env,
        capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.slow
@pytest.mark.database_independent  # Redis counts; the database only stores the submissions
def test_two_workers_on_one_redis_count_one_limit(
        database_url: str, make, tmp_path: Path) -> None:
    if not redis_answers():
        pytest.skip("no Redis on 127.0.0.1:6379 (or the redis package is missing)")
    import redis

    platform = make("platform")
    uri, prefix = "redis://127.0.0.1:6379/13", f"consult-hub-test-{uuid.uuid4().hex}"
    try:
        first = run_worker(database_url, tmp_path, platform.id, 3, uri, prefix)
        second = run_worker(database_url, tmp_path, platform.id, 3, uri, prefix)
        assert first == [303, 303, 303]
        assert second == [303, 303, 429]  # 5 per hour, counted over both workers
        # The same two workers on memory:// would each have let 5 through: what the start-up
        # check refuses (tests/test_production_checks.py).
        alone = run_worker(database_url, tmp_path, platform.id, 3, "memory://", prefix)
        assert alone == [303, 303, 303]
    finally:
        store = redis.Redis.from_url(uri)
        keys = list(store.scan_iter(f"*{prefix}*"))
        if keys:
            store.delete(*keys)
        store.close()
