"""Import speed: 10,000 platforms and 10,000 problems from CSV into a fresh database.

Run with ``make bench`` (or ``.venv/bin/python bench/import_bench.py [--rows N]``). Each
database gets a fresh schema from the migrations: SQLite in a temporary directory, and
PostgreSQL when TEST_DATABASE_URL is set or a server answers on 127.0.0.1:5432 (a throwaway
database is created beside it and dropped afterwards). For each file it prints the rows per
second of the first import (everything new) and of a second import of the same file
(everything unchanged).
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import random
import socket
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

LOCAL_PG = "postgresql://postgres@127.0.0.1:5432/test"
DISTRICTS = [("420102", "江岸区"), ("420103", "江汉区"), ("420104", "硚口区"), ("420105", "汉阳区"),
             ("420106", "武昌区"), ("420107", "青山区"), ("420111", "洪山区"),
             ("420112", "东西湖区"), ("420113", "汉南区"), ("420114", "蔡甸区"),
             ("420115", "江夏区"), ("420116", "黄陂区"), ("420117", "新洲区")]
KINDS = ["协商议事室", "委员工作室", "社情民意联系点", "协商议事之家"]
CATEGORIES = ["经济建设", "政治建设", "文化建设", "社会建设", "生态文明建设"]
ISSUE_KINDS = ["群众急难愁盼问题", "房前屋后实事", "基层治理难事"]
SOURCES = ["协商议事活动", "居民提交", "社情民意联系点", "委员反映"]


def _csv(header: list[str], rows: list[list[object]]) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8-sig")


def platforms_csv(count: int, rng: random.Random) -> tuple[bytes, list[tuple[str, str]]]:
    """``count`` platforms over the districts, 20 streets × 10 communities each (created by
    the import)."""
    header = ["编码", "名称", "类型", "区", "街道", "社区", "地址", "纬度", "经度", "召集人",
              "成立日期", "示范点", "示范年份", "状态"]
    rows, codes = [], []
    for n in range(count):
        code, district = DISTRICTS[n % len(DISTRICTS)]
        street = f"第{rng.randint(1, 20)}街道"
        demo = rng.random() < 0.1
        platform_code = f"{code}-{n // len(DISTRICTS) + 1:05d}"
        codes.append((platform_code, district))
        rows.append([platform_code, f"{district}{street}协商议事室{n}", rng.choice(KINDS), district,
                     street, f"{street}第{rng.randint(1, 10)}社区", f"测试路 {n} 号",
                     round(30.4 + rng.random() * 0.4, 5), round(114.1 + rng.random() * 0.5, 5),
                     f"召集人{n}",
                     (date(2020, 1, 1) + timedelta(days=rng.randint(0, 1500))).isoformat(),
                     "是" if demo else "否", "2024" if demo else "", ""])
    return _csv(header, rows), codes


def issues_csv(count: int, platforms: list[tuple[str, str]], rng: random.Random) -> bytes:
    """``count`` problems with references, a third already closed, some assigned."""
    header = ["编号", "平台编码", "标题", "描述", "类型", "类别", "来源", "状态", "承办单位",
              "办理期限", "答复", "受理时间"]
    due = (date.today() + timedelta(days=30)).isoformat()
    rows = []
    for n in range(count):
        code, district = rng.choice(platforms)
        status = rng.choice(["已受理", "已交办", "已解决或采纳", "因条件所限一时难以解决"])
        rows.append([f"WH24-{n + 1:05d}", code, f"问题{n}", f"第 {n} 个问题的描述。",
                     rng.choice(ISSUE_KINDS), rng.choice(CATEGORIES), rng.choice(SOURCES), status,
                     f"{district}城管局" if status == "已交办" else "",
                     due if status == "已交办" else "",
                     "已办结。" if status in ("已解决或采纳", "因条件所限一时难以解决") else "",
                     f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"])
    return _csv(header, rows)


def _seed(app) -> None:
    """The districts (streets and communities come with the platforms) and a department each."""
    from consult_hub.extensions import db
    from consult_hub.models import Area, AreaLevel, Department

    with app.app_context():
        for code, name in DISTRICTS:
            district = Area(code=code, name=name, level=AreaLevel.DISTRICT)
            db.session.add(district)
            db.session.flush()
            db.session.add(Department(code=f"{code}-CG", name=f"{name}城管局",
                                      district_id=district.id))
        db.session.commit()


def _timed(app, kind: str, name: str, data: bytes) -> tuple[float, str]:
    from consult_hub.exchange.importers import IMPORTERS
    from consult_hub.exchange.importing import run_import
    from consult_hub.extensions import db

    with app.test_request_context():
        started = time.perf_counter()
        report = run_import(IMPORTERS[kind], name, data)
        db.session.commit()
        elapsed = time.perf_counter() - started
        db.session.remove()
    return elapsed, report.summary()


def _analyze(app) -> None:
    """Refresh PostgreSQL's statistics, as autovacuum does within a minute of a bulk load.

    Without them the planner still believes the fresh tables are empty and scans them whole
    for every look-up by code, which is not what a re-import meets in practice.
    """
    from consult_hub.extensions import db

    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect() as conn:
                conn.execute(sa.text("ANALYZE"))
                conn.commit()


def bench(label: str, url: str, rows: int) -> None:
    os.environ["DATABASE_URL"] = url
    from flask_migrate import upgrade

    from consult_hub import create_app
    from consult_hub.extensions import db

    with tempfile.TemporaryDirectory() as instance:
        # --rows above the site's IMPORT_MAX_ROWS measures the engine, not the refusal.
        app = create_app({"TESTING": True, "SECRET_KEY": "bench", "INSTANCE_PATH": instance,
                          "IMPORT_MAX_ROWS": max(rows, 20_000)})
        with app.app_context():
            upgrade()
        _seed(app)
        rng = random.Random(2024)
        platform_file, codes = platforms_csv(rows, rng)
        issue_file = issues_csv(rows, codes, rng)
        print(f"{label}: {rows:,} rows per file")
        for kind, name, data in (("platforms", "platforms.csv", platform_file),
                                 ("issues", "issues.csv", issue_file)):
            for attempt in ("first import", "same file again"):
                if attempt != "first import":
                    _analyze(app)
                elapsed, summary = _timed(app, kind, name, data)
                print(f"  {kind:<9} {attempt:<16} {elapsed:6.2f} s  {rows / elapsed:9,.0f} rows/s"
                      f"  ({summary})")
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def _postgres_url() -> str | None:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return url
    try:
        socket.create_connection(("127.0.0.1", 5432), timeout=1).close()
    except OSError:
        return None
    return LOCAL_PG


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        bench("SQLite", f"sqlite:///{Path(folder) / 'bench.db'}", args.rows)
    server = _postgres_url()
    if server is None:
        print("PostgreSQL: no server (set TEST_DATABASE_URL); skipped")
        return
    from consult_hub.config import normalise_database_url

    base = sa.make_url(normalise_database_url(server))
    name = f"consult_hub_bench_{os.getpid()}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:
        print(f"PostgreSQL: cannot create a database ({exc.orig}); skipped")
        return
    try:
        bench("PostgreSQL", base.set(database=name).render_as_string(hide_password=False),
              args.rows)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
