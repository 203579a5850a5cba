"""Consult Hub: the system of record for a city's grassroots consultation platforms."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from flask import Flask

from consult_hub.config import DEFAULT_SECRET_KEY, PROJECT_ROOT, Config


class InsecureConfiguration(RuntimeError):
    """The application would run in production with a guessable secret, links on no
    configured address, or rate limits that do not hold (``check_production_settings``)."""


class ConsultHub(Flask):
    """Flask, remembering which of its views and hooks are plain functions.

    Flask asks of every function it calls (15–20 a request: the hooks, the view, the context
    processors) whether it is a coroutine function, through ``inspect``, each time; the answer
    never changes. A coroutine function still goes to Flask's ``async_to_sync`` every time."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._plain_functions: set[Any] = set()

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        try:
            if func in self._plain_functions:
                return func
        except TypeError:  # unhashable: asked each time
            return super().ensure_sync(func)
        found = super().ensure_sync(func)
        if found is func:
            self._plain_functions.add(func)
        return found


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the application: configuration, extensions, blueprints and commands."""
    settings = Config()
    app = ConsultHub(
        __name__,
        instance_path=settings.INSTANCE_PATH,
        template_folder=str(PROJECT_ROOT / "templates"),
    )
    from consult_hub.core.templating import TemplateEnvironment

    app.jinja_environment = TemplateEnvironment  # before anything creates app.jinja_env
    app.config.from_object(settings)
    if config:
        app.config.update(config)
    os.makedirs(app.instance_path, exist_ok=True)
    _check_secret_key(app)
    check_production_settings(
        app, site_url_given=bool(os.environ.get("SITE_URL") or (config or {}).get("SITE_URL")))

    from consult_hub import extensions, models  # noqa: F401  (every table on the metadata)
    from consult_hub.core import sqlite  # noqa: F401  (connection pragmas)

    extensions.db.init_app(app)
    extensions.migrate.init_app(
        app, extensions.db, directory=str(PROJECT_ROOT / "migrations"),
        render_as_batch=True, compare_type=True,
    )
    extensions.csrf.init_app(app)
    extensions.login_manager.init_app(app)
    extensions.limiter.init_app(app)
    from consult_hub.core.i18n import init_i18n

    init_i18n(app)

    from consult_hub.auth.loader import init_login

    init_login(app)

    from consult_hub.core.http import init_url_converters

    init_url_converters(app)
    _register_blueprints(app)

    from consult_hub.core.errors import register_error_handlers
    from consult_hub.core.http import init_http
    from consult_hub.core.requestlog import init_request_log
    from consult_hub.core.templating import init_templating

    register_error_handlers(app)
    init_templating(app)
    init_http(app)
    init_request_log(app)  # secrets out of the access log's paths

    from consult_hub.core.pagecache import init_page_cache

    init_page_cache(app)  # inside ProxyFix (below), so the cache key sees the real host/scheme
    if app.config["TRUSTED_PROXIES"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)

    from consult_hub.cli import register_cli

    register_cli(app)
    return app


def _register_blueprints(app: Flask) -> None:
    from consult_hub.accounts.views import bp as users
    from consult_hub.api.tokens import bp as tokens
    from consult_hub.api.views import bp as api
    from consult_hub.apikeys.views import bp as apikeys
    from consult_hub.areas.views import bp as areas
    from consult_hub.audit_log.views import bp as audit
    from consult_hub.auth.account import bp as account
    from consult_hub.auth.views import bp as auth
    from consult_hub.departments.views import bp as departments
    from consult_hub.events.views import bp as events
    from consult_hub.exchange.views import bp as exchange
    from consult_hub.feeds.views import bp as feeds
    from consult_hub.issues import event_pages  # noqa: F401 - routes on the events blueprint
    from consult_hub.issues.views import bp as issues
    from consult_hub.main import overviews  # noqa: F401 - routes on lower blueprints
    from consult_hub.main.views import bp as main
    from consult_hub.members.views import bp as members
    from consult_hub.notifications.views import bp as notifications
    from consult_hub.open311.views import bp as open311
    from consult_hub.opinions.views import bp as opinions
    from consult_hub.platforms.views import bp as platforms
    from consult_hub.proposals.views import bp as proposals
    from consult_hub.public.views import bp as public
    from consult_hub.tallies.views import bp as tallies

    for blueprint in (main, auth, users, areas, departments, members, platforms, events, issues,
                      notifications, tallies, audit, public, feeds, api, tokens, open311, exchange,
                      account, apikeys, proposals):
        app.register_blueprint(blueprint)
    app.register_blueprint(opinions)


def _check_secret_key(app: Flask) -> None:
    if app.debug or app.testing or app.config["SECRET_KEY"] != DEFAULT_SECRET_KEY:
        return
    message = (
        "SECRET_KEY is not set. Consult Hub refuses to serve requests with the built-in "
        "development key outside debug mode. Set one, e.g.\n"
        "    export SECRET_KEY=\"$(python3 -c 'import secrets; print(secrets.token_hex(32))')\"\n"
        "or run in development with FLASK_DEBUG=1."
    )
    if _serving_requests():
        raise InsecureConfiguration(message)
    app.logger.warning(message)


def check_production_settings(app: Flask, *, site_url_given: bool) -> None:
    """Every production start-up check but the secret key's (``_check_secret_key``).

    Production is neither debug mode nor tests. There, a process that will serve requests
    (``_serving_requests``) refuses to start when a check fails, and so does the scheduler
    when SITE_URL is missing or wrong (its reminder emails carry links); a maintenance
    command (``db upgrade``, ``tally``, …) logs the problem instead:

    - ``SITE_URL`` must be set, as an absolute http(s) address: every absolute link is
      built on it, never on the request's Host header (``core/links.py``);
    - ``TRUSTED_HOSTS`` defaults to SITE_URL's host (and localhost, for probes on the
      machine), so a request naming another host gets 400;
    - rate limits must hold across workers: no ``memory://`` storage under several
      gunicorn workers (``core/workers.py``).
    """
    if app.debug or app.testing:
        return
    from urllib.parse import urlsplit

    from consult_hub.core.workers import (
        gunicorn_workers,
        shared_limits_problem,
        uses_memory_storage,
    )

    problems: list[str] = []
    warnings: list[str] = []
    site = urlsplit(app.config["SITE_URL"])
    if not site_url_given:
        problems.append(
            "SITE_URL is not set. Consult Hub refuses to serve requests without its public "
            "address outside debug mode: every link in feeds, the API, receipts and emails is "
            "built on it (never on the Host header a request names). Set it, e.g.\n"
            "    export SITE_URL=https://consult.example.org\n"
            "or run in development with FLASK_DEBUG=1.")
    elif site.scheme not in ("http", "https") or not site.hostname:
        problems.append(f"SITE_URL must be an absolute http(s) address such as "
                        f"https://consult.example.org, not {app.config['SITE_URL']!r}.")
    elif app.config.get("TRUSTED_HOSTS") is None:
        app.config["TRUSTED_HOSTS"] = [site.hostname, "localhost", "127.0.0.1"]
    # The scheduler answers no request but mails reminders whose links are built on SITE_URL.
    refuse = _serving_requests() or (bool(problems) and _running_scheduler())

    storage = app.config["RATELIMIT_STORAGE_URI"]
    workers = gunicorn_workers()
    limits = shared_limits_problem(storage, workers)
    if limits and app.config.get("RATELIMIT_PER_WORKER_OK"):
        warnings.append("RATELIMIT_PER_WORKER_OK is set: rate limits count per worker. " + limits)
    elif limits:
        problems.append(limits)
    elif workers is None and uses_memory_storage(storage) and _serving_requests():
        warnings.append(
            f"RATELIMIT_STORAGE_URI is {storage!r}: rate limits count in this process only. "
            "Under several processes or hosts set RATELIMIT_STORAGE_URI=redis://….")

    for message in warnings:
        app.logger.warning(message)
    if problems and refuse:
        raise InsecureConfiguration("\n\n".join(problems))
    for message in problems:
        app.logger.warning(message)


def _running_scheduler() -> bool:
    """Whether this process is the scheduler (``flask … scheduler run``). The app is loaded
    while click still resolves the command, before it has a context of its own, so the
    command line says it."""
    import sys

    words = sys.argv[1:]
    return any(words[i:i + 2] == ["scheduler", "run"] for i in range(len(words)))


def _serving_requests() -> bool:
    """Whether this process will answer HTTP: any entry point but a maintenance command."""
    import click

    ctx = click.get_current_context(silent=True)
    if ctx is None:
        return True  # imported by a WSGI server
    args = [*ctx.protected_args, *ctx.args] if hasattr(ctx, "protected_args") else ctx.args
    return ctx.info_name == "run" or (bool(args) and args[0] == "run")
