"""Template filters and globals shared by every page."""

from __future__ import annotations

from flask import Flask, request, url_for

from consult_hub.core import timefmt
from consult_hub.core.i18n import city_name, stored_text
from consult_hub.core.links import external_url
from consult_hub.core.markdown import render_markdown


def init_templating(app: Flask) -> None:
    app.add_template_filter(timefmt.format_datetime, "datetime")
    app.add_template_filter(timefmt.format_date, "date")
    app.add_template_filter(timefmt.format_month, "month")
    app.add_template_filter(render_markdown, "markdown")
    app.add_template_filter(stored_text, "stored_text")
    # Absolute links (subscriptions) on SITE_URL, never on the Host header this request came with.
    app.add_template_global(external_url, "external_url")

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
