#!/usr/bin/env bash
# Run the suite on SQLite, then on PostgreSQL when TEST_DATABASE_URL is set or a local server
# answers; say which databases ran. Extra arguments go to pytest.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
LOCAL_PG=postgresql://postgres@127.0.0.1:5432/test

pg_url=${TEST_DATABASE_URL:-}
if [ -z "$pg_url" ] && $PY - "$LOCAL_PG" <<'PY' 2>/dev/null; then
import sys, psycopg
psycopg.connect(sys.argv[1], connect_timeout=3).close()
PY
  pg_url=$LOCAL_PG
fi

ran=()
status=0
echo "== tests on SQLite =="
env -u TEST_DATABASE_URL $PY -m pytest "$@" || status=1
ran+=("SQLite: $([ $status -eq 0 ] && echo passed || echo FAILED)")

if [ -n "$pg_url" ]; then
  echo "== tests on PostgreSQL (${pg_url%%\?*}) =="
  if TEST_DATABASE_URL=$pg_url $PY -m pytest "$@"; then
    ran+=("PostgreSQL: passed")
  else
    ran+=("PostgreSQL: FAILED"); status=1
  fi
else
  ran+=("PostgreSQL: not run (set TEST_DATABASE_URL or start a server on 127.0.0.1:5432)")
fi

echo
echo "Databases tested:"
printf '  %s\n' "${ran[@]}"
exit $status
