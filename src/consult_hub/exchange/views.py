"""Import and export pages for staff, and the public open-data download."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("exchange", __name__)
