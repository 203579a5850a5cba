# Sourced by scripts/lighthouse.sh and scripts/vnu.sh: the site to check, and its pages.
#
# With SITE (an address such as http://127.0.0.1:5000) the checks run against that running
# site. Without it, a demo site is started on a scratch SQLite database in a temporary folder
# (the city demo, about 15 s to load), served by gunicorn as in production, and stopped at exit.

demo_site_start() {
  if [ -n "${SITE:-}" ]; then
    SITE=${SITE%/}
    return
  fi
  local port=${DEMO_PORT:-5091}
  DEMO_DIR=$(mktemp -d "${TMPDIR:-/tmp}/consult-hub-checks.XXXXXX")
  export INSTANCE_PATH=$DEMO_DIR SITE_URL=http://127.0.0.1:$port
  export SECRET_KEY=checks-only-$RANDOM$RANDOM DATABASE_URL=sqlite:///$DEMO_DIR/demo.db
  echo "Starting a demo site on a scratch database ($DEMO_DIR)…" >&2
  .venv/bin/flask --app consult_hub db upgrade >"$DEMO_DIR/setup.log" 2>&1
  .venv/bin/flask --app consult_hub demo load --scale city --seed 1 --year 2024 \
    >>"$DEMO_DIR/setup.log" 2>&1
  .venv/bin/gunicorn --bind "127.0.0.1:$port" --workers 1 --threads 4 \
    wsgi:app >"$DEMO_DIR/server.log" 2>&1 &
  DEMO_PID=$!
  trap demo_site_stop EXIT
  SITE=http://127.0.0.1:$port
  for _ in $(seq 1 50); do
    curl -fsS -o /dev/null "$SITE/" 2>/dev/null && return
    sleep 0.2
  done
  echo "The demo site did not start; see $DEMO_DIR/server.log" >&2
  exit 2
}

demo_site_stop() {
  if [ -n "${DEMO_PID:-}" ]; then
    kill "$DEMO_PID" 2>/dev/null || true
    wait "$DEMO_PID" 2>/dev/null || true
  fi
  [ -n "${DEMO_DIR:-}" ] && rm -rf "$DEMO_DIR"
}

# The first link on a list page matching a pattern (a platform, an event, an outcome).
first_link() {
  curl -fsS "$SITE$1" | grep -o "href=\"$2\"" | head -1 | sed 's/^href="//; s/"$//'
}
