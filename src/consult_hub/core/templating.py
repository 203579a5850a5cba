"""Template filters and globals shared by every page."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime
from functools import lru_cache, partial
from typing import Any

from flask import Flask, has_request_context, request, url_for
from jinja2 import FileSystemBytecodeCache
from markupsafe import Markup

from consult_hub.core import timefmt
from consult_hub.core.display import elder_mode, is_public_page
from consult_hub.core.i18n import city_name, stored_text, translations
from consult_hub.core.links import external_url, webcal_url
from consult_hub.core.markdown import render_markdown


@lru_cache(maxsize=1024)
def remembered_markdown(text: str | None) -> Markup:
    """``render_markdown``, once per text: an event's minutes, opinions and outcome are the
    same on every view of its page, and building the Markdown parser took a third of it."""
    return render_markdown(text)


def init_templating(app: Flask) -> None:
    app.add_template_filter(timefmt.format_datetime, "datetime")
    app.add_template_filter(timefmt.format_date, "date")
    app.add_template_filter(timefmt.format_month, "month")
    app.add_template_filter(remembered_markdown, "markdown")
    app.add_template_filter(stored_text, "stored_text")
    # Absolute links (subscriptions) on SITE_URL, never on the Host header this request came with.
    app.add_template_global(external_url, "external_url")
    app.add_template_global(webcal_url, "webcal_url")
    app.add_template_global(elder_mode, "elder_mode")  # 长者模式 (core/display.py)
    app.add_template_global(is_public_page, "is_public_page")

    @app.template_filter("iso")
    def iso(value: datetime | None) -> str:
        """A ``<time datetime>`` value: to the second, as HTML allows (at most three fractional
        digits; Python's isoformat gives six)."""
        return "" if value is None else value.isoformat(timespec="seconds")

    @app.template_filter("number")
    def number(value: int | float | None) -> str:
        # Thousands separators read the same in Chinese and English: 1,006 and 1,006.
        return "" if value is None else f"{value:,}"

    @app.template_global()
    def url_for_page(page: int) -> str:
        args = dict(request.view_args or {})
        args.update(request.args.to_dict(flat=False))  # keep repeated filters (status=a&status=b)
        args["page"] = page
        return url_for(request.endpoint or "main.index", **args)

    @app.template_global()
    def has_endpoint(endpoint: str) -> bool:
        """Whether a route exists, so navigation links a feature only once it is built."""
        return endpoint in app.view_functions

    @app.context_processor
    def site() -> dict[str, str]:
        return {"city_name": city_name()}

    init_fragments(app)
    init_remembered_urls(app)
    if not app.jinja_env.auto_reload:
        # Outside debug, templates are compiled once per process (Flask already stops checking
        # their files for changes): a new worker reads the compiled code from disk instead of
        # compiling a hundred templates on its first requests. Jinja checks each template's
        # source against its stored code, so an edited template is compiled afresh.
        folder = os.path.join(app.instance_path, "jinja-bytecode")
        os.makedirs(folder, exist_ok=True)
        app.jinja_env.bytecode_cache = FileSystemBytecodeCache(folder)


# How many built links a process keeps (a page's links to its records, the layout's, the lists'
# pages): past it the store starts again.
MAX_URLS = 20000


def init_remembered_urls(app: Flask) -> None:
    """Templates' ``url_for``, remembered per endpoint and arguments: a page builds 20–60 links
    (4 µs each through Flask and Werkzeug), most of them the same on every request.

    A link depends on nothing else here: no route has a host or subdomain, no blueprint adds
    URL defaults, and a path is the same for every request under one script root (part of the
    key). Blueprint-relative endpoints (``.index``), options (``_external``, ``_anchor``…) and
    arguments that cannot be a key (lists) are built every time, and so is a link that fails
    to build (nothing is kept for it).
    """
    store: dict[tuple[Any, ...], str] = {}

    def remembered_url_for(endpoint: str, **values: Any) -> str:
        if endpoint[:1] == "." or not has_request_context():
            return url_for(endpoint, **values)
        key = (endpoint, request.script_root,
               *((name, type(value), value) for name, value in values.items()))
        try:
            found = store.get(key)
        except TypeError:  # a list of values: built every time
            return url_for(endpoint, **values)
        if found is None:
            found = url_for(endpoint, **values)
            if any(name[:1] == "_" for name in values):
                return found
            if len(store) >= MAX_URLS:
                store.clear()
            store[key] = found
        return found

    app.jinja_env.globals["url_for"] = remembered_url_for


# How many rendered fragments a process keeps (a few per page, role and language; a signed-in
# user's navigation per user): past it the store starts again.
MAX_FRAGMENTS = 4096


def init_fragments(app: Flask) -> None:
    """``fragment(macro, *args)``: the macro's HTML for these arguments, rendered once per
    language and then served from memory (the layout's navigation, stylesheets and footer).

    The key is the macro (its compiled code: the same name in two templates is two macros), the
    arguments with their types, the language and the script root links are built on; arguments
    that cannot be a key (lists, dicts) render the macro every time. Configuration a macro shows
    is passed to it as arguments too (tests change it while the app runs). A cached macro must read
    nothing else that varies: not the user, the request or the database, but what it is given.
    Nothing is kept while templates reload (debug): an edited template shows at once.
    """
    store: dict[tuple[Any, ...], Markup] = {}

    @app.template_global()
    def fragment(macro: Any, *args: Any, **kwargs: Any) -> Markup:
        if app.jinja_env.auto_reload:
            return Markup(macro(*args, **kwargs))
        # Each argument with its type: IssueStatus.PLANNED and EventStatus.PLANNED are both
        # equal to "planned". The catalogue object stands for the language (one per locale).
        key = (macro._func.__code__, *((type(arg), arg) for arg in args),
               *((name, type(arg), arg) for name, arg in kwargs.items()), translations(),
               request.script_root if has_request_context() else None)
        try:
            found = store.get(key)
        except TypeError:  # an argument that cannot be a key (a list): rendered every time
            return Markup(macro(*args, **kwargs))
        if found is None:
            found = Markup(macro(*args, **kwargs))
            if len(store) >= MAX_FRAGMENTS:
                store.clear()
            store[key] = found
        return found

    @app.template_global()
    def remembered(macro: Any) -> Callable[..., Markup]:
        """``macro`` called through ``fragment``: ``{% set status_badge = remembered(_badge) %}``
        in a macro file, and every page that imports it gets the remembered HTML."""
        return partial(fragment, macro)
