"""Markdown for minutes and notes, sanitised: only harmless tags survive."""

from __future__ import annotations

import re
import threading

import markdown as md
import nh3
from markupsafe import Markup

ALLOWED_TAGS = {"p", "br", "strong", "em", "ul", "ol", "li", "blockquote", "h3", "h4", "a",
                "code", "pre", "table", "thead", "tbody", "tr", "th", "td", "hr"}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}}


# What Markdown could read as markup, or whose spacing it could change: its punctuation, a
# list's "+" at a line's start, spaces that start or end a line or come two together, any
# other white space (tabs, carriage returns, ideographic and no-break spaces: it strips them)
# and controls. Text without any of these is paragraphs of plain lines, which
# ``_plain_html`` writes as the converter would.
_MARKUP = re.compile(r"[\\`*_{}\[\]<>()#\-.!|&~=\x00-\x08\x0e-\x1f\x7f]|[^\S \n]|^\+|^ | $|  ",
                     re.M)
_BLANK_LINES = re.compile(r"\n{2,}")


def render_markdown(text: str | None) -> Markup:
    """Turn user Markdown into safe HTML (no raw HTML, scripts or javascript: links)."""
    if not text:
        return Markup("")
    return sanitised(_plain_html(text) if _MARKUP.search(text) is None else
                     _converter().reset().convert(text))


def sanitised(html: str) -> Markup:
    """``html`` with only harmless tags, attributes and link schemes left."""
    clean = nh3.clean(html, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES,
                      url_schemes={"http", "https", "mailto"},
                      link_rel="noopener noreferrer nofollow")
    return Markup(clean)  # noqa: S704 - sanitised by nh3 above


def _plain_html(text: str) -> str:
    """What the converter makes of text without markup (``_MARKUP``): a paragraph for each
    run of lines between blank ones, each line break a ``<br />`` (the nl2br extension). Most
    minutes and opinions are such text, and the converter took 0.105 ms for each where this
    takes 0.015: loading the city demo (14,000 texts) 7.8 → 6.9 s. The same HTML for every
    such text: tests/ops/test_models.py compares the two on drawn text."""
    paragraphs = [part for part in _BLANK_LINES.split(text.strip("\n")) if part]
    return "\n".join("<p>" + part.replace("\n", "<br />\n") + "</p>" for part in paragraphs)


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
