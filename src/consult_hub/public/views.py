"""Public pages for residents."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("public", __name__, url_prefix=None)
