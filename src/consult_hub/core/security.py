"""Small request-safety helpers shared by the blueprints."""

from __future__ import annotations

from urllib.parse import urlsplit


def safe_next(target: str | None) -> str | None:
    """Return ``target`` if it is a path on this site, otherwise None.

    Only a plain absolute path is accepted: no scheme, no host, no ``//`` or
    ``/\\`` (browsers treat a backslash as a slash), no control characters.
    """
    if not target or not target.startswith("/"):
        return None
    if any(ord(c) < 32 or c == "\\" for c in target):
        return None
    if target.startswith("//"):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target
