#!/usr/bin/env bash
# Run the suite on SQLite and, when TEST_DATABASE_URL is set or a local server answers, on
# PostgreSQL — the two side by side (one per core) — then say which databases ran.
# Extra arguments go to pytest.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
LOCAL_PG=postgresql://postgres@127.0.0.1:5432/test
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT

# Compiled bytecode is kept (__pycache__, ignored by git) even where the environment says not
# to: without it every test process compiles the project and rewrites every test module's
# asserts again — 12.4 s of CPU to collect the suite instead of 5.6 s, in each of the four
# processes, and again in every subprocess a test starts (flask, gunicorn, the scheduler).
unset PYTHONDONTWRITEBYTECODE

pg_url=${TEST_DATABASE_URL:-}
if [ -z "$pg_url" ] && $PY - "$LOCAL_PG" <<'PY' 2>/dev/null; then
import sys, psycopg
psycopg.connect(sys.argv[1], connect_timeout=3).close()
PY
  pg_url=$LOCAL_PG
fi

# Static checks first: each prints its result, and any failure fails the run (after the tests,
# so one run shows everything). Add a check by adding a line here.
checks_failed=()
check() { echo "== $1 =="; if "${@:2}"; then echo "$1: passed"; else echo "$1: FAILED"; checks_failed+=("$1"); fi; echo; }
check "import layers (lint-imports, docs/architecture.md)" .venv/bin/lint-imports
check "lint (ruff check, [tool.ruff] in pyproject.toml)" .venv/bin/ruff check --quiet .

# Each database's run is split over TEST_WORKERS processes (pytest-xdist), a whole test file to
# a worker (module-scoped worlds stay built once), in the order tests/conftest.py sets (longest
# first; not xdist's own, most tests first). Two runs of two workers keep both cores busy to the
# end: one process per database left the faster run's core idle while the other ran on.
workers=${TEST_WORKERS:-2}
xdist=()
[ "$workers" -le 1 ] || xdist=(-n "$workers" --dist loadfile --no-loadscope-reorder)

echo "== tests on SQLite${pg_url:+ and, alongside, on PostgreSQL (${pg_url%%\?*})}, $workers worker(s) each =="
# POSTGRESQL_RUN_ALONGSIDE lets a test that always uses PostgreSQL (the production stack) run
# once, in the PostgreSQL run, rather than twice against the same server.
env -u TEST_DATABASE_URL ${pg_url:+POSTGRESQL_RUN_ALONGSIDE=1} $PY -m pytest "${xdist[@]}" --durations=15 "$@" \
  >"$logs/sqlite.log" 2>&1 &
sqlite_pid=$!
if [ -n "$pg_url" ]; then
  # SQLITE_RUN_ALONGSIDE: database-independent audits (accessibility) run once, in SQLite's.
  TEST_DATABASE_URL=$pg_url SQLITE_RUN_ALONGSIDE=1 $PY -m pytest "${xdist[@]}" --durations=15 "$@" \
    >"$logs/postgresql.log" 2>&1 &
  pg_pid=$!
fi

# Both runs write to logs (printed whole below); meanwhile say how far each has got, so a
# long run never looks hung.
progress() { grep -o '\[ *[0-9]*%\]' "$1" 2>/dev/null | tail -n 1 | tr -d '[] ' || true; }
started=$SECONDS
(
  while sleep 20; do
    line="  … $((SECONDS - started))s: SQLite $(progress "$logs/sqlite.log")"
    [ -z "$pg_url" ] || line+=", PostgreSQL $(progress "$logs/postgresql.log")"
    echo "$line"
  done
) &
ticker=$!
trap 'kill $ticker 2>/dev/null; rm -rf "$logs"' EXIT

status=0
wait "$sqlite_pid"; sqlite_rc=$?
[ -z "$pg_url" ] || { wait "$pg_pid"; pg_rc=$?; }
kill "$ticker" 2>/dev/null
echo; echo "== SQLite =="; cat "$logs/sqlite.log"
ran=("SQLite: $([ $sqlite_rc -eq 0 ] && echo passed || echo FAILED)")
[ $sqlite_rc -eq 0 ] || status=1
if [ -n "$pg_url" ]; then
  echo; echo "== PostgreSQL =="; cat "$logs/postgresql.log"
  ran+=("PostgreSQL: $([ $pg_rc -eq 0 ] && echo passed || echo FAILED)")
  [ $pg_rc -eq 0 ] || status=1
else
  ran+=("PostgreSQL: not run (set TEST_DATABASE_URL or start a server on 127.0.0.1:5432)")
fi

echo
echo "Databases tested:"
printf '  %s\n' "${ran[@]}"
if [ ${#checks_failed[@]} -gt 0 ]; then
  echo "Checks FAILED: ${checks_failed[*]}"
  status=1
fi
exit $status
