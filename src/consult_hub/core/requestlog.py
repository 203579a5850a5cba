"""One access-log line per request, without secrets: what gunicorn prints in production.

gunicorn writes the line (``deploy/gunicorn.conf.py``: client address, method, path,
status, duration in ms) after the response, page-cache hits included. The path is the
one thing that needs care: the query string is never logged (it may carry a receipt
token or search text), and a path segment that is a secret — the tracking link
``/track/<token>`` — is logged as its rule's placeholder. The app notes that masked path
in the WSGI environ once routing has matched; the gunicorn logger prints it instead of
the raw path. Control characters are escaped so that a request is always one line.

The client address is ``REMOTE_ADDR`` after the app ran: with ``TRUSTED_PROXIES`` set,
``ProxyFix`` has replaced the proxy's address with the client's there.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from flask import Flask, request

LOG_PATH = "consult_hub.log_path"
MAX_PATH = 300
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _is_secret(name: str) -> bool:
    """``token``, ``reset_token``…: a secret; ``token_id`` (a row's number) is not."""
    return name.endswith("token")


def _note_masked_path(endpoint: str | None, values: dict[str, Any] | None) -> None:
    """Routing matched: note the path with its secret segments replaced, if it has any."""
    if not values:
        return
    secrets = [name for name in values if _is_secret(name)]
    if not secrets:
        return
    path = request.path
    for name in secrets:
        path = path.replace(str(values[name]), f"<{name}>")
    request.environ[LOG_PATH] = path


def logged_path(environ: Mapping[str, Any]) -> str:
    """The request's path as the access log shows it: masked, one line, bounded."""
    path = str(environ.get(LOG_PATH) or environ.get("PATH_INFO") or "/")
    path = _CONTROL.sub(lambda match: f"\\x{ord(match.group()):02x}", path)
    return path if len(path) <= MAX_PATH else path[:MAX_PATH] + "…"


def init_request_log(app: Flask) -> None:
    app.url_value_preprocessor(_note_masked_path)
