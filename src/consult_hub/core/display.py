"""长者模式 (elder-friendly mode): a visitor's display choice, kept in a cookie of its own.

Not in the session: a session makes every page the visitor's alone, and the page cache
(core/pagecache.py) would then render each page anew for every older resident. The cookie
holds one bit; the page cache keeps one copy of a page per mode (``cache_variant``), so one
mode's HTML is never served to the other.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, request

ELDER_COOKIE = "elder_mode"
ELDER_ON = "1"
# Remembered for a year: the choice is about the reader's eyes, not a session.
ELDER_COOKIE_DAYS = 365


def is_public_page() -> bool:
    """Whether this request's page is one of the residents' (a view marked ``public``)."""
    from consult_hub.core.http import PUBLIC  # core.http imports the page cache, which imports us

    view = current_app.view_functions.get(request.endpoint or "")
    return getattr(view, "access", None) == PUBLIC


def elder_mode() -> bool:
    """Whether this request's page is shown in 长者模式 (public pages only: staff pages keep
    their dense layout; the mode's stylesheet is written for the residents' pages)."""
    cookies = request.cookies
    return ELDER_COOKIE in cookies and cookies[ELDER_COOKIE] == ELDER_ON and is_public_page()


def cache_variant(environ: dict[str, Any]) -> str:
    """The display mode a WSGI request asks for, as part of the page cache's key."""
    cookies = environ.get("HTTP_COOKIE", "")
    if ELDER_COOKIE not in cookies:
        return ""
    from werkzeug.http import parse_cookie

    return "elder" if parse_cookie(cookies).get(ELDER_COOKIE) == ELDER_ON else ""
