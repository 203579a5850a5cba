#!/usr/bin/env bash
# Start the development site and the scheduler process side by side; Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
export FLASK_DEBUG=1
FLASK=(.venv/bin/flask --app consult_hub)
HOST=${HOST:-127.0.0.1}
PORT=${PORT:-5000}
# Absolute links (feeds, receipts, reminders) point at this server unless SITE_URL says otherwise.
export SITE_URL=${SITE_URL:-http://$HOST:$PORT}

"${FLASK[@]}" scheduler run &
scheduler=$!
trap 'kill $scheduler 2>/dev/null || true; wait $scheduler 2>/dev/null || true' EXIT INT TERM

cat <<MSG

  Consult Hub is starting at http://$HOST:$PORT/
  Staff sign-in:  http://$HOST:$PORT/login
  The seed's year: http://$HOST:$PORT/?year=2024
$("${FLASK[@]}" demo logins 2>/dev/null | sed 's/^/  /')

  The scheduler runs beside it (pid $scheduler). Ctrl-C stops both.

MSG
"${FLASK[@]}" run --host "$HOST" --port "$PORT"
