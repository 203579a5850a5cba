"""gunicorn settings for Consult Hub in production.

    cd /srv/consult-hub && .venv/bin/gunicorn -c deploy/gunicorn.conf.py

(`deploy/systemd/consult-hub-web.service` runs exactly this.) Settings from the environment:
``WEB_CONCURRENCY`` workers (default 4) and ``GUNICORN_BIND`` (default 127.0.0.1:8000, where
nginx proxies to). Command-line options override what is here.

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
workers = int(os.environ.get("WEB_CONCURRENCY", "4"))
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
