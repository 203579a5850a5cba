"""Template filters and globals shared by every page."""

from __future__ import annotations

from datetime import datetime

from flask import Flask, request, url_for

from consult_hub.core import timefmt
from consult_hub.core.display import elder_mode, is_public_page
from consult_hub.core.i18n import city_name, stored_text
from consult_hub.core.links import external_url, webcal_url
from consult_hub.core.markdown import render_markdown


def init_templating(app: Flask) -> None:
    app.add_template_filter(timefmt.format_datetime, "datetime")
    app.add_template_filter(timefmt.format_date, "date")
    app.add_template_filter(timefmt.format_month, "month")
    app.add_template_filter(render_markdown, "markdown")
    app.add_template_filter(stored_text, "stored_text")
    # Absolute links (subscriptions) on SITE_URL, never on the Host header this request came with.
    app.add_template_global(external_url, "external_url")
    app.add_template_global(webcal_url, "webcal_url")
    app.add_template_global(elder_mode, "elder_mode")  # 长者模式 (core/display.py)
    app.add_template_global(is_public_page, "is_public_page")

    @app.template_filter("iso")
    def iso(value: datetime | None) -> str:
        """A ``<time datetime>`` value: to the second, as HTML allows (at most three fractional
        digits; Python's isoformat gives six)."""
        return "" if value is None else value.isoformat(timespec="seconds")

    @app.template_filter("number")
    def number(value: int | float | None) -> str:
        # Thousands separators read the same in Chinese and English: 1,006 and 1,006.
        return "" if value is None else f"{value:,}"

    @app.template_global()
    def url_for_page(page: int) -> str:
        args = dict(request.view_args or {})
        args.update(request.args.to_dict(flat=False))  # keep repeated filters (status=a&status=b)
        args["page"] = page
        return url_for(request.endpoint or "main.index", **args)

    @app.template_global()
    def has_endpoint(endpoint: str) -> bool:
        """Whether a route exists, so navigation links a feature only once it is built."""
        return endpoint in app.view_functions

    @app.context_processor
    def site() -> dict[str, str]:
        return {"city_name": city_name()}
