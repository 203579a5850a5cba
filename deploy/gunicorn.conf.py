"""gunicorn settings for Consult Hub in production.

    cd /srv/consult-hub && .venv/bin/gunicorn -c deploy/gunicorn.conf.py

(`deploy/systemd/consult-hub-web.service` runs exactly this.) Settings from the environment:
``WEB_CONCURRENCY`` workers (default: one more than the host's cores) and ``GUNICORN_BIND``
(default 127.0.0.1:8000, where nginx proxies to). Command-line options override what is here.

Sync workers, one request at a time each, behind nginx (which buffers slow clients, so a
worker is never held by one). A page the page cache cannot answer is CPU work, and a sync
worker takes a new request only when it is free, so the work spreads over the cores by
itself; one worker more than cores fills a core while another waits on PostgreSQL.
Threaded (gthread) workers were tried and dropped (issue 18): each keeps the connections it
accepted, and when one worker happened to accept most of them it served nearly all requests
while the other sat idle — measured on a 2-core host with bench/throughput_bench.py, 2 gthread
workers of 4 threads fell from ~620 to ~230 rendered platform pages a second in about one
2-second window in four (one worker's CPU 2.2 s, the other's 0.02 s in such a window; even
hello-world Flask fell from ~7,000 to ~1,900), where 2 to 4 sync workers held 580–670 in
every window. Each worker keeps its own page cache.

Logging: one access line per request on stdout (the journal under systemd) —
client address, method, path, status, duration and the worker's pid:

    203.0.113.7 "POST /submit" 303 41ms <4242>

The path never carries the query string, and secret path segments (the tracking link's
token) appear as their placeholder (``consult_hub/core/requestlog.py``). Behind nginx with
``TRUSTED_PROXIES=1`` the address is the client's, not nginx's.
"""

import os

from gunicorn.glogging import Logger

from consult_hub.core.requestlog import logged_path

wsgi_app = "wsgi:app"
bind = [os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")]
# Several workers need RATELIMIT_STORAGE_URI=redis://… (the app refuses memory:// then).
workers = int(os.environ.get("WEB_CONCURRENCY") or (os.cpu_count() or 1) + 1)
worker_class = "sync"
# No preload_app: `systemctl reload` (HUP) must start workers on a release's new code, which a
# preloaded master would not re-import; it saved no time per request either (bench/).
# A sync worker must finish each request within this (else it is restarted): the longest, a
# staff export of a city's ten years (20,000 problems), takes 2 s as CSV and 6 s as XLSX.
timeout = 60
graceful_timeout = 30
# Requests come from nginx on this host; it sets X-Forwarded-For/-Proto (TRUSTED_PROXIES=1).
forwarded_allow_ips = "127.0.0.1,::1"

accesslog = "-"
errorlog = "-"
loglevel = "info"
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(M)sms %(p)s'


class AccessLogger(Logger):
    """gunicorn's logger, printing the path as ``logged_path`` gives it (masked, one line)."""

    def atoms(self, resp, req, environ, request_time):  # type: ignore[no-untyped-def]
        atoms = super().atoms(resp, req, environ, request_time)
        atoms["U"] = logged_path(environ)
        return atoms


logger_class = AccessLogger
