"""Markdown for minutes and notes, sanitised: only harmless tags survive."""

from __future__ import annotations

import threading

import markdown as md
import nh3
from markupsafe import Markup

ALLOWED_TAGS = {"p", "br", "strong", "em", "ul", "ol", "li", "blockquote", "h3", "h4", "a",
                "code", "pre", "table", "thead", "tbody", "tr", "th", "td", "hr"}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}}


def render_markdown(text: str | None) -> Markup:
    """Turn user Markdown into safe HTML (no raw HTML, scripts or javascript: links)."""
    if not text:
        return Markup("")
    html = _converter().reset().convert(text)
    clean = nh3.clean(html, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES,
                      url_schemes={"http", "https", "mailto"},
                      link_rel="noopener noreferrer nofollow")
    return Markup(clean)  # noqa: S704 - sanitised by nh3 above


_local = threading.local()


def _converter() -> md.Markdown:
    """This thread's converter: building one (its extensions, patterns and processors) took
    longer than converting an event's minutes. A converter is not thread-safe; ``reset``
    clears what the last text left."""
    converter = getattr(_local, "converter", None)
    if converter is None:
        converter = _local.converter = md.Markdown(
            extensions=["tables", "sane_lists", "nl2br"], output_format="html")
    return converter
