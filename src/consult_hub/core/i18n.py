"""Locale and time-zone selection for Flask-Babel."""

from __future__ import annotations

from flask import Flask, current_app, has_request_context, session
from flask_babel import get_locale, get_translations
from flask_login import current_user

from consult_hub.extensions import babel


def select_locale() -> str:
    """The session's choice, else the signed-in user's, else Chinese (always, outside a request)."""
    if not has_request_context():  # scheduler jobs and commands: messages pick force_locale
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    languages = current_app.config["LANGUAGES"]
    chosen = session.get("locale")
    if chosen in languages:
        return chosen
    if current_user and current_user.is_authenticated and current_user.locale in languages:
        return current_user.locale
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def city_name() -> str:
    """The city's name in the current locale (CITY_NAME, or CITY_NAME_EN in English)."""
    english = str(get_locale()) == "en"
    return current_app.config["CITY_NAME_EN" if english else "CITY_NAME"]


def N_(text: str) -> str:
    """Mark Chinese text the system writes into records: extracted for the catalogue, kept as is."""
    return text


def stored_text(text: str | None) -> str:
    """Text from a record in the current locale when the system wrote it (``N_``), else as it is."""
    if not text:
        return text or ""
    return get_translations().gettext(text)  # no %-formatting: a resident's "50%" stays intact


def select_timezone() -> str:
    return current_app.config["TIMEZONE"]


def init_i18n(app: Flask) -> None:
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    app.jinja_env.globals["get_locale"] = get_locale
