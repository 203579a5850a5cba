"""Reading and posting pages as a browser would: CSRF-carrying forms, field values and errors."""

from __future__ import annotations

import html
import re
from typing import Any

from flask.testing import FlaskClient

from tests.support.auth import csrf_token


def post(client: FlaskClient, path: str, data: dict[str, Any], **kwargs: Any):
    """Submit a form the way its page does (with the page's CSRF token)."""
    return client.post(path, data={"csrf_token": csrf_token(client, path), **data}, **kwargs)


def input_value(page: str, name: str) -> str | None:
    """The value of the input called ``name`` on ``page``, unescaped."""
    tag = re.search(rf'<input[^>]*name="{re.escape(name)}"[^>]*>', page)
    value = tag and re.search(r'value="([^"]*)"', tag.group(0))
    return html.unescape(value.group(1)) if value else None


def field_errors(page: str, field_id: str) -> str:
    block = re.search(rf'<div class="field-errors" id="{re.escape(field_id)}-error">(.*?)</div>',
                      page, re.S)
    return block.group(1) if block else ""


def page_text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def assert_in_layout(html: str) -> None:
    assert '<a class="skip-link" href="#main">跳到主要内容</a>' in html
    assert '<main id="main"' in html
    assert "一线协商·共同缔造" in html
    assert '<span class="brand-city">' in html
    assert 'href="/locale/zh?next=' in html and 'href="/locale/en?next=' in html


def assert_no_inline_code(html: str) -> None:
    """Nothing a strict Content-Security-Policy would block."""
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html, re.I), "inline <script>"
    assert not re.search(r"\sstyle\s*=", html, re.I), "style attribute"
    assert not re.search(r"<[^>]+\son[a-z]+\s*=", html, re.I), "inline event handler"
    assert "<style" not in html.lower()
