"""Errors: the one raised for bad input, and the error pages rendered inside the layout."""

from __future__ import annotations

from flask import Flask, render_template
from werkzeug.exceptions import HTTPException

from consult_hub.extensions import db


class ValidationFailed(Exception):
    """Input that cannot be accepted; ``errors`` maps each field to its message."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):  # type: ignore[no-untyped-def]
        if error.code is None or error.code < 400:
            return error
        template = f"errors/{error.code}.html"
        # A message the code gave (abort(400, description=…)), not Werkzeug's stock one.
        detail = error.description if error.description != type(error).description else None
        return render_template(
            [template, "errors/generic.html"], error=error, detail=detail
        ), error.code

    @app.errorhandler(500)
    def server_error(error: Exception):  # type: ignore[no-untyped-def]
        db.session.rollback()
        return render_template("errors/500.html", error=error), 500
