"""Locale and time-zone selection for Flask-Babel."""

from __future__ import annotations

import re
from typing import Any

from babel.support import NullTranslations
from flask import Flask, current_app, g, has_request_context, session
from flask.globals import _cv_app
from flask_babel import Domain, get_locale, get_translations
from flask_babel.speaklater import LazyString
from flask_login import current_user
from jinja2 import nodes, pass_context
from jinja2.runtime import Context
from jinja2.visitor import NodeTransformer
from markupsafe import Markup

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
    english = str(current_locale()) == "en"
    return current_app.config["CITY_NAME_EN" if english else "CITY_NAME"]


def current_locale() -> Any:
    """``get_locale()``, read straight from Flask-Babel's request state once it chose one (a
    page asks 30–40 times: every date it shows); the first call chooses as ``get_locale``."""
    context = _cv_app.get(None)
    state = context.g.__dict__.get("_flask_babel") if context is not None else None
    found = state.__dict__.get("babel_locale") if state is not None else None
    return found if found is not None else get_locale()


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


# -- translations resolved once per request ---------------------------------------------------
#
# Flask-Babel finds the catalogue anew on every gettext call: four walks through ``g`` and the
# locale's name built again, about a fifth of a public page's time at 60 calls a page. The
# catalogue is looked up once per request (per locale: ``force_locale`` and ``refresh`` swap
# Flask-Babel's locale object, and a different object means a fresh lookup) and kept beside
# Flask-Babel's own request state.

_NULL = NullTranslations()
_CACHED = "consult_hub_translations"


def translations() -> Any:
    """The current request's catalogue (``get_translations()``, looked up once per locale)."""
    context = _cv_app.get(None)  # ``g`` without its proxy: 45 calls a page
    if context is None:
        return _NULL
    state = context.g.__dict__.get("_flask_babel")
    if state is not None:
        cached = state.__dict__.get(_CACHED)
        if cached is not None and cached[0] is state.__dict__.get("babel_locale"):
            return cached[1]
    found = _babel_translations()
    state = g._flask_babel  # made by the lookup
    state.__dict__[_CACHED] = (state.__dict__.get("babel_locale"), found)
    return found


def gettext(string: str, **variables: Any) -> str:
    """Flask-Babel's ``gettext``, from the request's catalogue (``translations()``): its own
    looks up the domain through ``g`` on every call, and lazy labels (enums, form fields,
    column headings) are translated hundreds of times on a report's page."""
    text = translations().ugettext(string)
    return text % variables if variables else text


def lazy_gettext(string: str, **variables: Any) -> LazyString:
    """Flask-Babel's ``lazy_gettext``, translated by ``gettext`` above when shown."""
    return LazyString(gettext, string, **variables)


class RequestDomain(Domain):
    """Flask-Babel's domain, reading the catalogue through ``translations()``: what
    ``gettext`` in Python and lazy strings (enum labels) use."""

    def get_translations(self) -> Any:
        return translations()


def _babel_translations() -> Any:
    return Domain.get_translations(_domain)


_domain = RequestDomain()


# The template functions: Jinja's "newstyle" gettext (autoescaped, always %-formatted, as
# jinja2.ext's), calling the catalogue directly instead of through two more layers.
# A template's plain ``_("…")`` (no variables), per catalogue: most of a page's 40–60 calls.
_PLAIN: dict[tuple[Any, str], Markup] = {}
_PLAIN_MAX = 20000


@pass_context
def _template_gettext(context: Context, string: str, **variables: Any) -> str:
    """``_("…")`` in a template; also its filter ``translated`` (``LiteralGettext``), which takes
    the context too: a filter of constants that does not is run once at compile time."""
    eval_ctx = context.eval_ctx
    catalogue = translations()
    if not variables and eval_ctx.autoescape:
        found = _PLAIN.get((catalogue, string))
        if found is None:
            found = Markup(catalogue.ugettext(string)) % variables  # "%%" reads "%" as before
            if len(_PLAIN) >= _PLAIN_MAX:
                _PLAIN.clear()
            _PLAIN[catalogue, string] = found
        return found
    text = catalogue.ugettext(string)
    if eval_ctx.autoescape:
        text = Markup(text)
    return text % variables


class LiteralGettext(NodeTransformer):
    """Rewrites a template's ``_("literal", name=value…)`` into the filter call
    ``"literal"|translated(name=value…)`` when the template is compiled: the same function
    (``_template_gettext``), reached directly instead of through ``Context.call`` (1.5 µs a
    call, 20–40 calls a page). Babel extracts the
    messages from the templates' source, which is unchanged."""

    NAMES = frozenset({"_", "gettext"})

    def visit_Call(self, node: nodes.Call) -> nodes.Node:  # noqa: N802 - Jinja's visitor names
        node = self.generic_visit(node)
        callee = node.node
        if (isinstance(callee, nodes.Name) and callee.name in self.NAMES and callee.ctx == "load"
                and len(node.args) == 1 and isinstance(node.args[0], nodes.Const)
                and type(node.args[0].value) is str
                and node.dyn_args is None and node.dyn_kwargs is None):
            return nodes.Filter(node.args[0], "translated", [], node.kwargs, None, None,
                                lineno=node.lineno)
        return node


@pass_context
def _template_ngettext(context: Context, singular: str, plural: str, num: int,
                       **variables: Any) -> str:
    variables.setdefault("num", num)
    text = translations().ungettext(singular, plural, num)
    if context.eval_ctx.autoescape:
        text = Markup(text)
    return text % variables


@pass_context
def _template_pgettext(context: Context, string_context: str, string: str,
                       **variables: Any) -> str:
    variables.setdefault("context", string_context)
    text = translations().upgettext(string_context, string)
    if context.eval_ctx.autoescape:
        text = Markup(text)
    return text % variables


@pass_context
def _template_npgettext(context: Context, string_context: str, singular: str, plural: str,
                        num: int, **variables: Any) -> str:
    variables.setdefault("context", string_context)
    variables.setdefault("num", num)
    text = translations().unpgettext(string_context, singular, plural, num)
    if context.eval_ctx.autoescape:
        text = Markup(text)
    return text % variables


def init_i18n(app: Flask) -> None:
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    # Every gettext of the app (Python, lazy strings, templates) reads the request's catalogue
    # through translations(); Flask-Babel's default domain is replaced by one that does.
    babel.__dict__["domain_instance"] = _domain
    app.jinja_env.globals.update(
        gettext=_template_gettext, _=_template_gettext, ngettext=_template_ngettext,
        pgettext=_template_pgettext, npgettext=_template_npgettext)
    app.jinja_env.filters["translated"] = _template_gettext  # LiteralGettext's calls
    app.jinja_env.globals["get_locale"] = get_locale
