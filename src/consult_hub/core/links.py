"""Absolute links, always on the configured public address (``SITE_URL``).

Nothing here reads the ``Host`` header: a request with a forged one must not put its host
into a feed, an API answer, a receipt or an email. ``url_for(..., _external=True)`` and
``request.host_url`` / ``request.base_url`` would; use these instead.
"""

from __future__ import annotations

from flask import current_app, has_request_context, request, url_for


def site_url() -> str:
    """The public address without a trailing slash, e.g. ``https://consult.example.org``."""
    return str(current_app.config["SITE_URL"]).rstrip("/")


def _under_site(path: str) -> str:
    """``path`` (as ``url_for`` builds it, starting with the script root) under ``SITE_URL``.

    ``SITE_URL`` names where the application's root is published, path included, so the
    script root this request arrived under (``SCRIPT_NAME``) is replaced by it, not added.
    """
    root = request.script_root if has_request_context() else ""
    if root and (path == root or path.startswith(root + "/") or path.startswith(root + "?")):
        path = path[len(root):]
    if not path.startswith("/"):
        path = "/" + path
    return site_url() + path


def external_url(endpoint: str, **values: object) -> str:
    """``url_for(endpoint, **values)`` as an absolute link on ``SITE_URL``."""
    return _under_site(url_for(endpoint, **values))


def webcal_url(url: str) -> str:
    """An http(s) calendar link as a ``webcal://`` one: calendar apps (iOS and macOS Calendar,
    Outlook, Thunderbird) open it as a subscription that keeps updating, where the https link
    downloads a copy once. The clients fetch it over https when SITE_URL is https, so it
    carries nothing the https link does not; anything else is returned unchanged."""
    scheme, separator, rest = url.partition("://")
    if separator and scheme.lower() in ("http", "https"):
        return "webcal://" + rest
    return url


def current_url_without_query() -> str:
    """The address of the current request's page (no query string) on ``SITE_URL``."""
    return site_url() + request.path
