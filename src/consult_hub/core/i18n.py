"""Locale and time-zone selection for Flask-Babel."""

from __future__ import annotations

import re

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


# Texts the system stored in records before their wording changed: half-width marks before the
# GB/T 15834 pass ("群众满意度评价:满意"), and words docs/glossary.md no longer uses. Keyed by the
# old text with its marks made full-width; older records then read, and translate, as new ones.
_HALF_WIDTH = re.compile("(?<=[\u4e00-\u9fff])[,;:()?!]|[,;:()?!](?=[\u4e00-\u9fff])")
_FULL_WIDTH = dict(zip(",;:()?!", "，；：（）？！", strict=True))
STORED_TEXT_NOW = {
    "群众满意度评价：满意": "居民评价：满意",  # legacy-term
    "群众满意度评价：基本满意": "居民评价：基本满意",  # legacy-term
    "群众满意度评价：不满意": "居民评价：不满意",  # legacy-term
    "居民对办理结果不满意，重新办理": "居民对办理结果不满意，重新办理",
}


def stored_text(text: str | None) -> str:
    """Text from a record in the current locale when the system wrote it (``N_``), else as it is."""
    if not text:
        return text or ""
    # Only known system texts are rewritten: a resident's "费用:100元" stays as they wrote it.
    now = STORED_TEXT_NOW.get(_HALF_WIDTH.sub(lambda m: _FULL_WIDTH[m.group()], text), text)
    return get_translations().gettext(now)  # no %-formatting: a resident's "50%" stays intact


def select_timezone() -> str:
    return current_app.config["TIMEZONE"]


def init_i18n(app: Flask) -> None:
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    app.jinja_env.globals["get_locale"] = get_locale
