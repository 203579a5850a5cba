"""gunicorn settings for Consult Hub in production.

    cd /srv/consult-hub && .venv/bin/gunicorn -c deploy/gunicorn.conf.py

(`deploy/systemd/consult-hub-web.service` runs exactly this.) Settings from the environment:
``WEB_CONCURRENCY`` workers (default 2), ``GUNICORN_THREADS`` threads in each (default 4) and
``GUNICORN_BIND`` (default 127.0.0.1:8000, where nginx proxies to). Command-line options
override what is here.

Threaded workers (gthread), one per core: a page the cache cannot answer costs CPU, so more
processes than cores only take turns, while threads let a worker serve cached pages and wait
on the database for one request while another renders; each worker's page cache serves all
its threads (fewer workers, fewer copies to fill). Unlike sync workers they keep connections
open, so nginx's upstream ``keepalive`` (deploy/nginx/consult-hub.conf) saves a connection per
request. Measured on a 2-core host with bench/throughput_bench.py (issue 18): as many
requests/s as 4 sync workers or more, with half the processes.

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
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
# Idle connections from nginx stay open longer than nginx keeps them (its upstream
# keepalive_timeout, 60 s): nginx closes them first, never sending on one gunicorn just closed.
keepalive = 75
# No preload_app: `systemctl reload` (HUP) must start workers on a release's new code, which a
# preloaded master would not re-import; it saved no time per request either (bench/).
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
