"""JSON answers and JSON errors: ``{"error": {"code", "message", "fields"}}`` with the right
status."""

from __future__ import annotations

import json
import re
from typing import Any

from flask import Blueprint, Flask, Response, current_app, request
from flask.blueprints import BlueprintSetupState
from werkzeug.exceptions import HTTPException, InternalServerError

from consult_hub.core.i18n import gettext as _
from consult_hub.extensions import db

API_PREFIX = "/api/"
_SURROGATES = re.compile("[\ud800-\udfff]")
# The code each status answers with when nothing more specific is known.
CODES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
    405: "method_not_allowed", 409: "conflict", 413: "payload_too_large",
    415: "unsupported_media_type", 422: "validation_failed", 429: "rate_limited",
    500: "server_error",
}


class ApiError(Exception):
    """An error answered as JSON; ``fields`` names what was wrong with which field."""

    def __init__(self, status: int, message: str, *, code: str | None = None,
                 fields: dict[str, str] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code or CODES.get(status, "error")
        # A field name comes from the request: one that cannot be encoded (a lone surrogate)
        # is shown with a replacement character rather than breaking the answer.
        self.fields = {_printable(name): str(text) for name, text in (fields or {}).items()}
        self.headers = headers or {}


def _printable(name: str) -> str:
    return _SURROGATES.sub("\ufffd", name)


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """``data`` as UTF-8 JSON (Chinese stays readable, not ``\\u`` escaped)."""
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return Response(body, status=status, headers=headers, mimetype="application/json")


def error_response(error: ApiError) -> Response:
    return json_response({"error": {"code": error.code, "message": error.message,
                                    "fields": error.fields}}, error.status, error.headers)


def _messages() -> dict[int, str]:
    return {
        400: _("请求格式不正确"),
        401: _("需要有效的 API 令牌"),
        403: _("没有权限进行这项操作"),
        404: _("找不到这个资源"),
        405: _("此地址不支持这种请求方法"),
        409: _("资源已被修改或当前状态不允许这项操作"),
        413: _("请求内容太大"),
        415: _("请求内容应为 JSON"),
        429: _("请求太频繁，请稍后再试"),
        500: _("服务器内部错误"),
    }


def from_http(error: HTTPException) -> ApiError:
    status = error.code or 500
    headers = {}
    if status == 405 and getattr(error, "valid_methods", None):
        headers["Allow"] = ", ".join(sorted(error.valid_methods))
    message = _messages().get(status) or error.name
    return ApiError(status, message, headers=headers)


def _api_error(error: ApiError) -> Response:
    if error.status >= 500:
        db.session.rollback()
    return error_response(error)


def _http_error(error: HTTPException) -> Response | HTTPException:
    if error.code is None or error.code < 400:
        return error
    return error_response(from_http(error))


def _server_error(error: InternalServerError) -> Response:
    db.session.rollback()
    return error_response(ApiError(500, _messages()[500]))


def register(bp: Blueprint) -> None:
    """JSON errors for the API's views, and for unrouted URLs under /api/ (404, 405)."""
    bp.register_error_handler(ApiError, _api_error)
    bp.register_error_handler(HTTPException, _http_error)
    bp.register_error_handler(InternalServerError, _server_error)
    bp.record_once(_install_app_handlers)


def _install_app_handlers(state: BlueprintSetupState) -> None:
    app: Flask = state.app
    for status in (404, 405):
        app.register_error_handler(status, _routing_error)


def _routing_error(error: HTTPException) -> Any:
    """A URL under /api/ that matched no route answers JSON; every other page as before."""
    if request.path.startswith(API_PREFIX):
        return error_response(from_http(error))
    # The site's own handler for HTTP errors (core.errors) renders the HTML page.
    site_handler = current_app.error_handler_spec[None][None].get(HTTPException)
    return site_handler(error) if site_handler else error
