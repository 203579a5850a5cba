"""Locale and time-zone selection for Flask-Babel."""

from __future__ import annotations

from flask import Flask, current_app, session
from flask_login import current_user

from flask_babel import get_locale

from consult_hub.extensions import babel


def select_locale() -> str:
    languages = current_app.config["LANGUAGES"]
    chosen = session.get("locale")
    if chosen in languages:
        return chosen
    if current_user and current_user.is_authenticated and current_user.locale in languages:
        return current_user.locale
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def select_timezone() -> str:
    return current_app.config["TIMEZONE"]


def init_i18n(app: Flask) -> None:
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    app.jinja_env.globals["get_locale"] = get_locale
