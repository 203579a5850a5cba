"""Monthly and annual reports: charts, tables and downloads."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("tallies", __name__)
