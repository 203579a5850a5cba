"""长者模式: a switch on every public page, remembered in a cookie, never mixed up by the page
cache, refused from other sites."""

from __future__ import annotations

import re
from urllib.parse import unquote

from flask import Flask
from flask.testing import FlaskClient

SWITCH = re.compile(r'<form class="display-switch" method="post" action="/display">\s*'
                    r'<input type="hidden" name="next" value="([^"]*)">\s*'
                    r'<input type="hidden" name="elder" value="(\d)">')


def turn(client: FlaskClient, on: bool, next_path: str = "/platforms", **headers: str):
    return client.post("/display", data={"elder": "1" if on else "0", "next": next_path},
                       headers=headers)


def test_every_public_page_has_the_switch_and_it_is_remembered(client: FlaskClient) -> None:
    for path in ("/", "/platforms", "/outcomes", "/about", "/privacy", "/submit", "/track"):
        html = client.get(path).text
        assert SWITCH.search(html), path
        assert 'class="elder"' not in html and "elder.css" not in html
    here = SWITCH.search(client.get("/outcomes?q=电梯").text).group(1)
    assert here == "/outcomes?q=电梯"  # back to the same search

    answer = turn(client, True, here)
    assert answer.status_code == 303 and unquote(answer.headers["Location"]) == here
    cookie = answer.headers["Set-Cookie"]
    assert "elder_mode=1" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Max-Age=31536000" in cookie  # remembered for a year, not for the session
    html = client.get("/platforms").text
    assert '<html lang="zh-CN" class="elder">' in html and "/static/css/elder.css" in html
    assert SWITCH.search(html).group(2) == "0" and 'aria-pressed="true"' in html

    assert turn(client, False).status_code == 303
    assert 'class="elder"' not in client.get("/platforms").text


def test_the_switch_goes_back_only_to_this_site(client: FlaskClient) -> None:
    for target in ("https://example.com/", "//example.com/", ""):
        assert turn(client, True, target).headers["Location"] == "/"


def test_other_sites_cannot_switch_it(client: FlaskClient) -> None:
    assert turn(client, True, **{"Sec-Fetch-Site": "cross-site"}).status_code == 403
    assert turn(client, True, **{"Origin": "https://evil.example"}).status_code == 403
    assert "Set-Cookie" not in turn(client, True, Origin="https://evil.example").headers
    assert turn(client, True, **{"Sec-Fetch-Site": "same-origin"}).status_code == 303
    assert turn(client, True, Origin="http://localhost").status_code == 303


def test_the_page_cache_keeps_one_copy_per_mode(app: Flask) -> None:
    plain, elder = app.test_client(), app.test_client()
    assert 'class="elder"' not in plain.get("/platforms").text  # cached, plain
    turn(elder, True)
    assert 'class="elder"' in elder.get("/platforms").text  # not the plain copy
    assert 'class="elder"' in elder.get("/platforms").text  # its own copy, from memory
    assert 'class="elder"' not in app.test_client().get("/platforms").text
    assert app.extensions["page_cache"].hits >= 2


def test_staff_pages_keep_their_layout(auth, client: FlaskClient, make) -> None:
    staff = make("user")
    turn(client, True)
    auth.login(staff.username)
    html = client.get("/dashboard").text
    assert "工作台" in html and 'class="elder"' not in html and "display-switch" not in html
