"""Errors: the one raised for bad input, and the error pages rendered inside the layout."""

from __future__ import annotations

from flask import Flask, Response, render_template
from werkzeug.exceptions import HTTPException, SecurityError

from consult_hub.extensions import db


class ValidationFailed(Exception):
    """Input that cannot be accepted; ``errors`` maps each field to its message."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if error.code is None or error.code < 400:
            return error
        if isinstance(error, SecurityError):
            # A Host outside TRUSTED_HOSTS: no URL can be built for it, so no page either.
            return Response("400 请求的主机名不属于本网站。Bad Request: unknown host name.\n",
                            400, content_type="text/plain; charset=utf-8")
        template = f"errors/{error.code}.html"
        # A message the code gave (abort(400, description=…)), not Werkzeug's stock one.
        detail = error.description if error.description != type(error).description else None
        return render_template(
            [template, "errors/generic.html"], error=error, detail=detail
        ), error.code

    @app.errorhandler(500)
    def server_error(error: Exception):
        db.session.rollback()
        return render_template("errors/500.html", error=error), 500
