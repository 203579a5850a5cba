"""Template filters and globals shared by every page."""

from __future__ import annotations

import os
import re
from collections import ChainMap
from collections.abc import Callable, MutableMapping
from datetime import datetime
from functools import lru_cache, partial
from typing import Any

import sqlalchemy as sa
from flask import Flask, g, request, url_for
from flask.globals import _cv_request
from flask.templating import Environment
from jinja2 import FileSystemBytecodeCache, nodes
from markupsafe import Markup
from werkzeug.routing import AnyConverter, IntegerConverter, UnicodeConverter

from consult_hub.core import timefmt
from consult_hub.core.display import elder_mode, is_public_page
from consult_hub.core.i18n import LiteralGettext, city_name, stored_text, translations
from consult_hub.core.links import external_url, webcal_url
from consult_hub.core.markdown import render_markdown
from consult_hub.core.prose import html_column


@lru_cache(maxsize=4096)
def remembered_markdown(text: str | None) -> Markup:
    """``render_markdown``, once per text, for Markdown not stored as HTML: a problem's
    timeline notes, and a prose field of a row written without its HTML (``prose``). Up to
    4,096 texts (half a millisecond each to convert), a few megabytes."""
    return render_markdown(text)


def prose(record: Any, field: str) -> Markup:
    """A Markdown field of a record (``event|prose("minutes")``) as the HTML stored when it
    was saved (core/prose.py); rendered here only for a row written without it."""
    html = getattr(record, html_column(field), None)
    if html is not None:
        return Markup(html)  # noqa: S704 - sanitised by render_markdown when saved
    return remembered_markdown(getattr(record, field))


class TemplateGlobals(ChainMap):
    """A template's globals over the environment's (Jinja's ``ChainMap``), with ``keys()`` a
    set: each ``{% from … import … %}`` of a render subtracts a template's global names from
    its context's (``Template._get_default_module``), and against ``ChainMap.keys()`` that
    took a Python-level lookup per name, 40–60 µs an import, three or four imports a page."""

    def keys(self) -> set[str]:
        return set().union(*self.maps)

    def __getitem__(self, key: str) -> Any:
        # ChainMap's tries each map and catches the KeyError of each it misses: each render's
        # context (``dict(globals, **vars)``) read all 30-odd globals that way, through the
        # template's own (empty) map, raising once a name.
        for mapping in self.maps:
            if key in mapping:
                return mapping[key]
        return self.__missing__(key)


# Subscripted by a string, these raise TypeError: only their attributes have names.
_BY_POSITION = (tuple, sa.Row)


class TemplateEnvironment(Environment):
    """Flask's Jinja environment, its templates' globals as ``TemplateGlobals``: set as
    ``app.jinja_environment`` before anything creates ``app.jinja_env``."""

    def make_globals(self, d: MutableMapping[str, Any] | None) -> MutableMapping[str, Any]:
        return TemplateGlobals({} if d is None else d, self.globals)

    def getitem(self, obj: Any, argument: Any) -> Any:
        """Jinja's ``obj[argument]``, falling back to the attribute: for an object that cannot
        be subscripted by a name (a row, a tuple, a dataclass, a model), the attribute at once.
        Jinja tries the subscript first and catches its TypeError; ``sort``, ``sum``, ``map``
        and ``selectattr`` by attribute went this way for every item (70 a staff page)."""
        if isinstance(argument, str) and not isinstance(obj, type) and (
                isinstance(obj, _BY_POSITION) or not hasattr(type(obj), "__getitem__")):
            try:
                return getattr(obj, argument)
            except AttributeError:
                return self.undefined(obj=obj, name=argument)
        return super().getitem(obj, argument)

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        """The template's syntax tree, its literal ``_("…")`` calls made filter calls
        (``LiteralGettext``: the same translation, cheaper to reach)."""
        return LiteralGettext().visit(super()._parse(source, name, filename))


def init_templating(app: Flask) -> None:
    app.add_template_filter(timefmt.format_datetime, "datetime")
    app.add_template_filter(timefmt.format_date, "date")
    app.add_template_filter(timefmt.format_month, "month")
    app.add_template_filter(remembered_markdown, "markdown")
    app.add_template_filter(prose, "prose")
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

    def page_link(page: Any) -> str:
        args = dict(request.view_args or {})
        args.update(request.args.to_dict(flat=False))  # keep repeated filters (status=a&status=b)
        args["page"] = page
        return url_for(request.endpoint or "main.index", **args)

    @app.template_global()
    def url_for_page(page: int) -> str:
        """This page's link with another ``?page=``. A list's pager shows up to ten: the link
        is built once per request, around the page number (``_PAGE_MARK``), and each page's
        number put in (when the number is where the mark was, once, and no route of the
        endpoint has defaults that the number could choose)."""
        if type(page) is not int:
            return page_link(page)
        state = g.__dict__
        shape = state.get(_PAGE_SHAPE)
        if shape is None:
            shape = state[_PAGE_SHAPE] = _page_shape(app, page_link)
        if not shape:
            return page_link(page)
        return f"{shape[0]}{page}{shape[1]}"

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

    A link to one record of many (``public.event``, ``event_id=…``) is rarely the same twice:
    such links are put together from their shape instead (``url_shape``), the path around the
    arguments, learnt once per endpoint, argument names and types.
    """
    store: dict[tuple[Any, ...], str] = {}
    shapes: dict[tuple[Any, ...], tuple[str, ...] | None] = {}

    def remembered_url_for(endpoint: str, **values: Any) -> str:
        context = _cv_request.get(None)  # the request without its proxy: 30–60 links a page
        if endpoint[:1] == "." or context is None:
            return url_for(endpoint, **values)
        root = context.request.script_root
        key = (endpoint, root, *((name, type(value), value) for name, value in values.items()))
        try:
            found = store.get(key)
        except TypeError:  # a list of values: built every time
            return url_for(endpoint, **values)
        if found is not None:
            return found
        shape_key = (endpoint, root, *((name, type(value)) for name, value in values.items()))
        parts = shapes.get(shape_key, False)
        if parts and all(_plain(value) for value in values.values()):
            return _from_shape(parts, values)
        found = url_for(endpoint, **values)
        if any(name[:1] == "_" for name in values):
            return found
        if parts is False and values:
            shapes[shape_key] = url_shape(app, endpoint, values, found)
        if len(store) >= MAX_URLS:
            store.clear()
        store[key] = found
        return found

    app.jinja_env.globals["url_for"] = remembered_url_for


# This request's page links around the page number (``url_for_page``); () when built each time.
_PAGE_SHAPE = "consult_hub_page_shape"
_PAGE_MARK = 10**12 + 7


def _page_shape(app: Flask, page_link: Callable[[Any], str]) -> tuple[str, ...]:
    endpoint = request.endpoint or "main.index"
    if app.url_default_functions or any(rule.defaults
                                        for rule in app.url_map.iter_rules(endpoint)):
        return ()
    marked = page_link(_PAGE_MARK)
    mark = str(_PAGE_MARK)
    if marked.count(mark) != 1:
        return ()
    shape = tuple(marked.split(mark))
    return shape if f"{shape[0]}2{shape[1]}" == page_link(2) else ()


# Argument values a link shows as they are, in a path and in a query string alike.
_PLAIN_TEXT = re.compile(r"[A-Za-z0-9_.~-]+")
# Stand-ins for the arguments while a shape is learnt: plain, and found nowhere else in a link.
_MARK = "zq{}x7"


def _plain(value: Any) -> bool:
    kind = type(value)
    return kind is int or (kind is str and _PLAIN_TEXT.fullmatch(value) is not None)


def _from_shape(parts: tuple[str, ...], values: dict[str, Any]) -> str:
    pieces = [parts[0]]
    for value, part in zip(values.values(), parts[1:], strict=True):
        pieces.append(str(value))
        pieces.append(part)
    return "".join(pieces)


def url_shape(app: Flask, endpoint: str, values: dict[str, Any],
              built: str) -> tuple[str, ...] | None:
    """The link to ``endpoint`` around its arguments (in their order), or None when a link
    cannot be put together that way: an argument that is not a plain int or text, a route with
    defaults (then the values choose the rule), a converter that changes a value (a fixed
    number of digits, a choice), or URL defaults that could add arguments. ``built`` is the
    link Flask built for ``values``: the shape must give it back, or it is not used."""
    if app.url_default_functions or not all(_plain(value) for value in values.values()):
        return None
    rules = list(app.url_map.iter_rules(endpoint))
    if not rules:
        return None
    for rule in rules:
        if rule.defaults:
            return None
        for name, converter in getattr(rule, "_converters", {}).items():
            if name not in values:
                continue
            if isinstance(converter, IntegerConverter) and type(values[name]) is int:
                if converter.fixed_digits:
                    return None
            elif not (type(converter) is not AnyConverter
                      and isinstance(converter, UnicodeConverter)
                      and type(values[name]) is str):
                return None
    marks = {name: (10**12 + n if type(value) is int else _MARK.format(n))
             for n, (name, value) in enumerate(values.items())}
    try:
        url = url_for(endpoint, **marks)
    except Exception:  # noqa: BLE001 - no shape; Flask builds this link every time
        return None
    parts: list[str] = []
    rest = url
    for mark in marks.values():
        text = str(mark)
        if rest.count(text) != 1 or url.count(text) != 1:
            return None
        before, rest = rest.split(text)
        parts.append(before)
    parts.append(rest)
    shape = tuple(parts)
    return shape if _from_shape(shape, values) == built else None


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
        context = _cv_request.get(None)
        key = (macro._func.__code__, *((type(arg), arg) for arg in args),
               *((name, type(arg), arg) for name, arg in kwargs.items()), translations(),
               context.request.script_root if context is not None else None)
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
