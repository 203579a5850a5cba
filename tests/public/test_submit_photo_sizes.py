"""Photos that add up past the request limit are caught in the page, before the text is lost.

A request over ``MAX_CONTENT_LENGTH`` is refused (413) before any field is read, so the
resident's typed words would be gone; the submission page sums the chosen photos and stops the
send with a message by the photo field instead. Here the limit is made small (600 KiB) so two
ordinary photos exceed it.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask

from tests.support.e2e import PHONE, new_page

sync_api = pytest.importorskip("playwright.sync_api",
                               reason="Playwright missing (pip install -e '.[browser]')")
expect = sync_api.expect

# The check runs in the browser; the database only supplies one platform to choose.
pytestmark = [pytest.mark.slow, pytest.mark.database_independent]


def photo(name: str, kib: int) -> dict[str, Any]:
    return {"name": name, "mimeType": "image/jpeg", "buffer": b"\xff\xd8\xff" + bytes(kib * 1024)}


def test_photos_past_the_request_limit_are_stopped_in_the_page(
        app: Flask, browser: Any, live_server: str, make: Any, monkeypatch: Any) -> None:
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 600 * 1024)
    platform = make("platform")
    context, page = new_page(browser, PHONE)
    try:
        page.goto(f"{live_server}/submit?platform={platform.id}")
        page.get_by_label("标题").fill("路灯不亮")
        page.get_by_label("问题描述").fill("东门两盏路灯坏了一周。")
        photos = page.get_by_label(re.compile("^照片"))
        photos.set_input_files([photo("a.jpg", 200), photo("b.jpg", 200)])
        status = page.locator("[data-photo-status]")
        expect(status).to_contain_text("照片合计超过 0.3 MB")
        page.get_by_label(re.compile("我已阅读并同意")).check()
        page.get_by_role("button", name="提交", exact=True).click()
        # Nothing was sent: still the form, with the words as typed.
        expect(page).to_have_url(re.compile(r"/submit"))
        expect(page.get_by_label("问题描述")).to_have_value("东门两盏路灯坏了一周。")
        expect(status).to_contain_text("照片合计超过")
        photos.set_input_files([photo("a.jpg", 200)])  # one fewer: the message goes
        expect(status).to_have_text("")
    finally:
        context.close()
