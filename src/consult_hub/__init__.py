"""Consult Hub: the system of record for a city's grassroots consultation platforms."""

from __future__ import annotations

import os
from typing import Any

from flask import Flask

from consult_hub.config import DEFAULT_SECRET_KEY, PROJECT_ROOT, Config


class InsecureConfiguration(RuntimeError):
    """The application would run in production with a guessable secret."""


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the application: configuration, extensions, blueprints and commands."""
    settings = Config()
    app = Flask(
        __name__,
        instance_path=settings.INSTANCE_PATH,
        template_folder=str(PROJECT_ROOT / "templates"),
    )
    app.config.from_object(settings)
    if config:
        app.config.update(config)
    os.makedirs(app.instance_path, exist_ok=True)
    _check_secret_key(app)

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
    from consult_hub.core.templating import init_templating

    register_error_handlers(app)
    init_templating(app)
    init_http(app)

    from consult_hub.core.pagecache import init_page_cache

    init_page_cache(app)  # inside ProxyFix (below), so the cache key sees the real host/scheme
    if app.config["TRUSTED_PROXIES"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]

    from consult_hub.cli import register_cli

    register_cli(app)
    return app


def _register_blueprints(app: Flask) -> None:
    from consult_hub.api.tokens import bp as tokens
    from consult_hub.api.views import bp as api
    from consult_hub.areas.views import bp as areas
    from consult_hub.audit.views import bp as audit
    from consult_hub.auth.users import bp as users
    from consult_hub.auth.views import bp as auth
    from consult_hub.departments.views import bp as departments
    from consult_hub.events.views import bp as events
    from consult_hub.exchange.views import bp as exchange
    from consult_hub.feeds.views import bp as feeds
    from consult_hub.issues.views import bp as issues
    from consult_hub.main.views import bp as main
    from consult_hub.members.views import bp as members
    from consult_hub.notifications.views import bp as notifications
    from consult_hub.open311.views import bp as open311
    from consult_hub.platforms.views import bp as platforms
    from consult_hub.public.views import bp as public
    from consult_hub.tallies.views import bp as tallies

    for blueprint in (main, auth, users, areas, departments, members, platforms, events, issues,
                      notifications, tallies, audit, public, feeds, api, tokens, open311, exchange):
        app.register_blueprint(blueprint)


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


def _serving_requests() -> bool:
    """Whether this process will answer HTTP: any entry point but a maintenance command."""
    import click

    ctx = click.get_current_context(silent=True)
    if ctx is None:
        return True  # imported by a WSGI server
    args = [*ctx.protected_args, *ctx.args] if hasattr(ctx, "protected_args") else ctx.args
    return ctx.info_name == "run" or (bool(args) and args[0] == "run")
