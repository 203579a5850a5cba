"""Safe and cheap by default: security headers on every response, conditional GET on public pages.

Public pages answer anonymous visitors with a weak ETag computed from the body and
``Cache-Control: no-cache``, so a browser (or a calendar client) revalidates and gets a
304 while nothing changed. Pages for signed-in users, and pages showing a one-time
message, are never stored (``private, no-store``).

A page with a form embeds a CSRF token that Flask-WTF re-signs with the current second,
so the token is left out of the ETag; the session's raw token goes in instead. A 304 thus
only reaches a browser holding the same session, whose cached token is still valid
(tokens do not expire: ``WTF_CSRF_TIME_LIMIT = None``).

Views marked ``@shared_page`` whose answer is bound to no session are also kept in the
public page cache (core/pagecache.py) and served from memory to the next anonymous visitor.
"""

from __future__ import annotations

import hashlib
from typing import Any

from flask import Flask, abort, current_app, g, message_flashed, request, session
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask.wrappers import Response
from flask_login import current_user
from werkzeug.routing import IntegerConverter, UnicodeConverter, ValidationError

from consult_hub.core import pagecache
from consult_hub.core.forms import FORBIDDEN_CHARACTERS, MAX_ID
from consult_hub.core.i18n import gettext as _
from consult_hub.extensions import limiter

# The access mark of a view open to anyone (``auth.decorators.public`` sets it).
PUBLIC = "public"

CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])
# The submission form's "near me" asks for the position on the resident's tap (js/submit.js):
# this site's own pages may ask; embedded frames and other origins never.
PERMISSIONS_POLICY = ", ".join(f"{feature}=()" for feature in (
    "accelerometer", "camera", "gyroscope", "magnetometer", "microphone", "payment", "usb",
)) + ", geolocation=(self)"
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "X-Frame-Options": "DENY",
    "Permissions-Policy": PERMISSIONS_POLICY,
}
HSTS = "max-age=31536000"
NO_STORE = "private, no-store"


class BoundedIntConverter(IntegerConverter):
    """``<int:…>`` in every route, capped at the largest id the databases store: a longer
    number in a URL is a page that cannot exist (404), not an overflow in the query (500).

    The rule still matches such a number (as 0, which no row and no year has), so the view
    answers 404 for every method: refusing the match would make Werkzeug answer 405 to a
    PATCH or POST whenever another rule of the same path takes GET.
    """

    def to_python(self, value: str) -> int:
        if int(value) > MAX_ID:
            return 0
        return super().to_python(value)  # the rule's own limits (fixed_digits, min)


class CleanStringConverter(UnicodeConverter):
    """``<name>`` and ``<string:…>``: at most ``MAX_PATH_TEXT`` characters and none nobody
    types; anything else names no page (404) and never reaches a query (PostgreSQL cannot
    even compare NUL)."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:  # noqa: A002
        kwargs.setdefault("maxlength", MAX_PATH_TEXT)
        super().__init__(map, *args, **kwargs)

    def to_python(self, value: str) -> str:
        if FORBIDDEN_CHARACTERS.search(value):
            raise ValidationError()
        return value


MAX_PATH_TEXT = 200  # codes, months, receipts and tokens are far shorter


def init_url_converters(app: Flask) -> None:
    """Before any blueprint registers a rule."""
    app.url_map.converters["int"] = BoundedIntConverter
    app.url_map.converters["default"] = CleanStringConverter
    app.url_map.converters["string"] = CleanStringConverter


def refuse_control_characters() -> None:
    """A query-string parameter carrying characters nobody types (NUL, ESC, bidi overrides…)
    is refused with 400 naming the parameter; PostgreSQL cannot even compare NUL."""
    if request.blueprint == "api":
        return  # the JSON API validates its own parameters and answers in JSON
    for name, value in request.args.items(multi=True):
        if FORBIDDEN_CHARACTERS.search(name) or FORBIDDEN_CHARACTERS.search(value):
            shown = FORBIDDEN_CHARACTERS.sub("", name)[:40] or "?"
            abort(400, description=_("查询参数“%(name)s”含有不允许的控制字符", name=shown))


class CookieSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, without building the cookie's signer (a serializer and
    its keys, every request) for a request that brings no session cookie: most of them, the
    residents reading public pages. What it opens is the same: an empty session."""

    def open_session(self, app: Flask, request: Any) -> SecureCookieSession | None:
        cookies = request.cookies  # ``in`` first: a missing name's ``get`` raises inside
        name = self.get_cookie_name(app)
        if app.secret_key and (name not in cookies or not cookies[name]):
            return self.session_class()
        return super().open_session(app, request)


def init_http(app: Flask) -> None:
    """Register the header and caching hooks on ``app``."""
    app.session_interface = CookieSessions()
    _read_shared_pages_unlimited(app)
    app.before_request(refuse_control_characters)
    app.before_request(_note_pending_flashes)
    message_flashed.connect(_note_flash, app)
    # after_request hooks run last-registered first: caching decides, then headers go on.
    app.after_request(security_headers)
    app.after_request(cache_policy)


def security_headers(response: Response) -> Response:
    """Add the security headers, leaving any a view chose itself."""
    # The names present, read once: asking Werkzeug's headers for a missing one raises (and
    # builds) an exception, five of them a response with ``setdefault``.
    headers = response.headers
    present = {name.lower() for name in headers.keys()}
    for name, value in SECURITY_HEADERS.items():
        if name.lower() not in present:
            headers.add(name, value)
    if (current_app.config.get("SESSION_COOKIE_SECURE")
            and "strict-transport-security" not in present):
        headers.add("Strict-Transport-Security", HSTS)
    return response


def cache_policy(response: Response) -> Response:
    """Revalidate public pages by ETag; never store what a signed-in user sees."""
    if request.endpoint == "static":
        return response  # send_file already answers conditional requests
    if _signed_in():
        response.headers["Cache-Control"] = NO_STORE
        return response
    if (request.method not in ("GET", "HEAD") or response.status_code != 200
            or response.is_streamed or not _public_view()
            or _has_header(response, "cache-control")):  # the view decided (a secret link)
        return response
    if g.get("shows_flash"):
        response.headers["Cache-Control"] = NO_STORE
        return response
    # A view whose body carries the moment it was made tags what the body says instead
    # (``g.content_etag``, feeds/views.py): a digest of every byte would change every second.
    response.set_etag(g.get("content_etag") or _body_etag(response), weak=True)
    # A page tied to the visitor's session (CSRF token, language) is theirs alone.
    bound_to_session = session.modified or bool(session)
    response.headers["Cache-Control"] = "private, no-cache" if bound_to_session else "no-cache"
    if not bound_to_session and _shared_view():
        request.environ[pagecache.ENVIRON_FLAG] = True  # the same for every anonymous visitor
    return response.make_conditional(request)


def _has_header(response: Response, lower_name: str) -> bool:
    """``lower_name in response.headers``, without the exception a missing name raises there."""
    return any(name.lower() == lower_name for name in response.headers.keys())


def _public_view() -> bool:
    view = current_app.view_functions.get(request.endpoint or "")
    return getattr(view, "access", None) == PUBLIC


def _shared_view() -> bool:
    view = current_app.view_functions.get(request.endpoint or "")
    return bool(getattr(view, "shared_page", False))


def _read_shared_pages_unlimited(app: Flask) -> None:
    """Flask-Limiter's check, not run at all for a read of a shared page.

    Its request filter (below) exempts such a read anyway, but is asked only after the
    extension has worked out the view's name, its blueprint's exemptions and the limits that
    could apply: 2 % of the residents' pages' instructions without the page cache.
    """
    hooks = app.before_request_funcs.get(None, [])
    check = limiter._check_request_limit  # what Limiter.init_app registered
    for index, hook in enumerate(hooks):
        if hook == check:
            hooks[index] = _limits_unless_reading_shared_page


def _limits_unless_reading_shared_page() -> None:
    if not _reading_shared_page():
        limiter._check_request_limit()


@limiter.request_filter
def _reading_shared_page() -> bool:
    """A GET (or HEAD) of a shared page (``@shared_page``) is never rate-limited: the page cache
    answers it without the app at all, and no such view has a limit on reading. The rule, for
    every check Flask-Limiter makes; ``_limits_unless_reading_shared_page`` applies it before
    the extension's own work."""
    return request.method in ("GET", "HEAD") and _shared_view()


def _signed_in() -> bool:
    """Whether a user is signed in. A request that brings nothing to sign in with was made
    anonymous before any other hook (``auth.loader._anonymous_without_credentials``), so this
    loads no session for it."""
    return bool(current_user.is_authenticated)


def _body_etag(response: Response) -> str:
    body = response.get_data()
    digest = hashlib.blake2b(digest_size=16)
    field = current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    token = g.get(field)
    if token and current_app.config.get("WTF_CSRF_TIME_LIMIT") is None:
        body = body.replace(token.encode(), b"")
        digest.update(str(session.get(field, "")).encode())
    digest.update(body)
    return digest.hexdigest()


def _note_pending_flashes() -> None:
    if "_flashes" in session:
        g.shows_flash = True


def _note_flash(sender: Any, **extra: Any) -> None:
    g.shows_flash = True
