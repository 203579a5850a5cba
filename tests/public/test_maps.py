"""Maps of where a platform is, with no third party at run time.

The map is composed by the server from the configured tile provider (here a tile server on
127.0.0.1 standing in for 天地图) and served from this site; the browser never sees the
provider, its key or any other host. No tile URL configured: no map, and the public pages
name no host but the site's own (and the 备案 links of the footer).
"""

from __future__ import annotations

import io
import re
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image

from consult_hub.config import Config
from consult_hub.extensions import db
from consult_hub.issues.operations import change_status
from consult_hub.public import maps
from tests.support import factories

KEY = "tk-0123456789abcdef"
WUHAN = (30.5928, 114.3055)  # 百步亭 area, WGS84
SEA = (120, 170, 220)  # the test tiles' colour
# The footer's registration links (ICP备案 and 公安备案) are the only other hosts allowed.
REGISTRATION_HOSTS = {"beian.miit.gov.cn", "beian.mps.gov.cn", "www.beian.gov.cn"}


def png(colour: tuple[int, ...], size: int = 256, mode: str = "RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, (size, size), colour).save(out, "PNG")
    return out.getvalue()


class TileServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), TileHandler)
        self.requests: list[str] = []
        self.mode = "ok"
        self.base = f"http://127.0.0.1:{self.server_address[1]}"


class TileHandler(BaseHTTPRequestHandler):
    server: TileServer

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self.server.requests.append(self.path)
        mode = self.server.mode
        if mode == "slow":
            time.sleep(1.5)
        if mode == "error":
            self.send_response(503)
            self.end_headers()
            return
        if mode == "redirect":
            self.send_response(302)
            self.send_header("Location", "http://tiles.elsewhere.invalid/1/2/3.png")
            self.end_headers()
            return
        if mode == "huge":
            body, kind = b"\x89PNG" + b"\0" * (maps.MAX_TILE_BYTES + 10), "image/png"
        elif mode == "html":
            body, kind = b"<html>quota exceeded</html>", "text/html"
        elif self.path.startswith("/labels/"):
            body, kind = png((0, 0, 0, 0), mode="RGBA"), "image/png"  # a transparent layer
        else:
            body, kind = png(SEA), "image/png"
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture()
def tiles() -> Iterator[TileServer]:
    server = TileServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture()
def configured(app: Flask, tiles: TileServer, tmp_path: Any,
               monkeypatch: pytest.MonkeyPatch) -> TileServer:
    """Maps on, from the test tile server: a base layer and a (transparent) label layer."""
    monkeypatch.setitem(app.config, "MAP_TILE_URL",
                        f"{tiles.base}/vec/{{z}}/{{x}}/{{y}}.png?tk={{key}} "
                        f"{tiles.base}/labels/{{z}}/{{x}}/{{y}}.png?tk={{key}}")
    monkeypatch.setitem(app.config, "MAP_TILE_KEY", KEY)
    monkeypatch.setitem(app.config, "MAP_ATTRIBUTION", "地图来源：天地图 审图号：GS(2024)0568号")
    monkeypatch.setitem(app.config, "MAP_FOLDER", str(tmp_path / "maps"))
    monkeypatch.setitem(app.config, "MAP_FETCH_TIMEOUT", 0.8)
    app.extensions.pop("maps.budget", None)
    yield tiles
    app.extensions.pop("maps.budget", None)


def fresh(app: Flask) -> None:
    """Forget the public pages kept in memory (a setting changed within the test)."""
    if "page_cache" in app.extensions:
        app.extensions["page_cache"].clear()


def map_src(page: str) -> str | None:
    found = re.search(r'<figure class="pub-map">\s*<img src="([^"]+)"', page)
    return found.group(1) if found else None


def outcome(app: Flask, platform_id: int) -> str:
    with app.app_context():
        issue = factories.issue(platform_id=platform_id, source="resident",
                                submitter_name="张居民", submitter_phone="13900001234",
                                description="楼下路灯不亮。")
        issue.submitted_address = "幸福路 18 号 3 栋"  # as reported: private
        change_status(issue, "resolve", actor_id=None, resolution="已修复。")
        db.session.commit()
        return issue.reference


# --- not configured (the default) ---------------------------------------------------------


def test_without_a_tile_url_there_is_no_map_but_the_address_is_written_out(
        app: Flask, client: FlaskClient, make: Callable[..., Any]) -> None:
    assert not app.config["MAP_TILE_URL"]
    platform = make("platform", address="江岸区百步亭花园路 1 号", latitude=WUHAN[0],
                    longitude=WUHAN[1])
    page = client.get(f"/platforms/{platform.id}").text
    assert "江岸区百步亭花园路 1 号" in page
    assert "pub-map" not in page and "/maps/" not in page
    issue_page = client.get(f"/issues/{outcome(app, platform.id)}").text
    assert "江岸区百步亭花园路 1 号" in issue_page and "pub-map" not in issue_page
    assert client.get("/maps/" + "0" * 32 + ".png").status_code == 404


def test_public_pages_name_no_host_but_the_site_itself(
        app: Flask, client: FlaskClient, make: Callable[..., Any]) -> None:
    district = make("district", code="420102")
    platform = make("platform", district_id=district.id, latitude=WUHAN[0], longitude=WUHAN[1])
    event = make("event", platform_id=platform.id)
    reference = outcome(app, platform.id)
    site = urlsplit(app.config["SITE_URL"])
    pages = ["/", "/platforms", f"/platforms/{platform.id}", "/events", f"/events/{event.id}",
             "/outcomes", f"/issues/{reference}", "/feeds/", "/privacy", "/about", "/submit",
             f"/submit?platform={platform.id}", "/track"]
    checked = 0
    for path in pages:
        answer = client.get(path)
        if answer.status_code == 404:
            continue  # a page another part of the site has not built yet
        assert answer.status_code == 200, path
        checked += 1
        for url in re.findall(r'\s(?:src|href|action|srcset|poster|data)="([^"]+)"', answer.text):
            found = urlsplit(url.split()[0])
            if not found.netloc:
                continue  # relative, or mailto:/tel:
            assert found.netloc == site.netloc or found.hostname in REGISTRATION_HOSTS, (
                f"{path}: {url}")
    assert checked >= 10


# --- configured ------------------------------------------------------------------------------


def test_the_platform_page_shows_a_map_served_from_this_site(
        app: Flask, client: FlaskClient, make: Callable[..., Any], configured: TileServer) -> None:
    platform = make("platform", name="百步亭协商议事室", address="江岸区百步亭花园路 1 号",
                    latitude=WUHAN[0], longitude=WUHAN[1])
    answer = client.get(f"/platforms/{platform.id}")
    page = answer.text
    src = map_src(page)
    assert src and src.startswith("/maps/") and src.endswith(".png")
    assert "江岸区百步亭花园路 1 号" in page  # the address in words, beside the picture
    assert "百步亭协商议事室的位置示意图" in page  # the picture's text alternative
    assert "审图号：GS(2024)0568号" in page
    # Neither the provider nor its key reach the browser; the policy still allows images from
    # this site only (the tiles were fetched by the server).
    assert configured.base.split("//")[1] not in page and KEY not in page
    policy = answer.headers["Content-Security-Policy"]
    img_src = re.search(r"img-src ([^;]+)", policy).group(1).split()
    assert img_src == ["'self'", "data:"]

    image = client.get(src)
    assert image.status_code == 200 and image.mimetype == "image/png"
    assert "max-age" in image.headers["Cache-Control"]
    picture = Image.open(io.BytesIO(image.data)).convert("RGB")
    image.close()
    assert picture.size == (maps.WIDTH, maps.HEIGHT)
    assert _near(picture.getpixel((5, 5)), SEA)  # the provider's tile
    assert _near(picture.getpixel((maps.WIDTH // 2 + 6, maps.HEIGHT // 2)), (196, 30, 30))

    # The tiles around the place, at the configured zoom, with the key, from both layers.
    x, y = maps.tile_position(*WUHAN, app.config["MAP_ZOOM"])
    asked = set(configured.requests)
    assert f"/vec/16/{int(x)}/{int(y)}.png?tk={KEY}" in asked
    assert f"/labels/16/{int(x)}/{int(y)}.png?tk={KEY}" in asked
    assert len(asked) <= 12  # at most 3 × 2 tiles a layer for 512 × 256

    # Composed once: later pages and other workers read the file.
    configured.requests.clear()
    fresh(app)
    assert map_src(client.get(f"/platforms/{platform.id}").text) == src
    assert configured.requests == []


def test_an_outcome_shows_its_platforms_place_never_the_residents(
        app: Flask, client: FlaskClient, make: Callable[..., Any], configured: TileServer) -> None:
    platform = make("platform", address="江岸区百步亭花园路 1 号", latitude=WUHAN[0],
                    longitude=WUHAN[1])
    reference = outcome(app, platform.id)
    page = client.get(f"/issues/{reference}").text
    platform_page = client.get(f"/platforms/{platform.id}").text
    assert map_src(page) and map_src(page) == map_src(platform_page)
    assert "江岸区百步亭花园路 1 号" in page
    assert "幸福路 18 号" not in page and "张居民" not in page and "13900001234" not in page


def test_a_platform_without_coordinates_has_no_map(
        client: FlaskClient, make: Callable[..., Any], configured: TileServer) -> None:
    platform = make("platform", address="江岸区某路 2 号")
    page = client.get(f"/platforms/{platform.id}").text
    assert map_src(page) is None and "江岸区某路 2 号" in page
    assert configured.requests == []


@pytest.mark.parametrize("mode", ["error", "huge", "html", "redirect", "slow"])
def test_a_failing_provider_hides_the_map_quickly_and_is_not_asked_again_at_once(
        app: Flask, client: FlaskClient, make: Callable[..., Any], configured: TileServer,
        mode: str) -> None:
    configured.mode = mode
    platform = make("platform", address="江岸区百步亭花园路 1 号", latitude=WUHAN[0],
                    longitude=WUHAN[1])
    started = time.monotonic()
    answer = client.get(f"/platforms/{platform.id}")
    assert time.monotonic() - started < 1.4  # MAP_FETCH_TIMEOUT 0.8 s, not the tile's 1.5 s
    assert answer.status_code == 200
    assert map_src(answer.text) is None and "江岸区百步亭花园路 1 号" in answer.text
    assert "tiles.elsewhere.invalid" not in answer.text
    time.sleep(0.3)  # tiles already on their way when the map was given up may still arrive
    asked = len(configured.requests)
    assert asked >= 1
    fresh(app)
    configured.mode = "ok"
    assert map_src(client.get(f"/platforms/{platform.id}").text) is None
    assert len(configured.requests) == asked  # within MAP_RETRY_SECONDS: not asked again


def test_new_maps_stop_when_the_hours_budget_is_spent(
        app: Flask, client: FlaskClient, make: Callable[..., Any], configured: TileServer,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, "MAP_BUILDS_PER_HOUR", 1)
    first = make("platform", latitude=WUHAN[0], longitude=WUHAN[1])
    second = make("platform", latitude=WUHAN[0] + 0.01, longitude=WUHAN[1])
    assert map_src(client.get(f"/platforms/{first.id}").text)
    asked = len(configured.requests)
    assert map_src(client.get(f"/platforms/{second.id}").text) is None
    assert len(configured.requests) == asked


def test_only_composed_map_names_are_served(
        client: FlaskClient, configured: TileServer) -> None:
    assert client.get("/maps/" + "0" * 32 + ".png").status_code == 404
    assert client.get("/maps/..%2Fconsult_hub.db.png").status_code == 404
    assert client.get("/maps/not-a-name.png").status_code == 404


@pytest.mark.database_independent
def test_tile_arithmetic() -> None:
    assert maps.tile_position(0.0, 0.0, 1) == pytest.approx((1.0, 1.0))
    x, y = maps.tile_position(*WUHAN, 16)
    # 114.3055° E, 30.5928° N: tile 53576 × 26913 at zoom 16 (Web Mercator, as 天地图's "w").
    assert (int(x), int(y)) == (53576, 26913)
    area = maps.window(*WUHAN, 16)
    assert len(area.columns) <= 3 and len(area.rows) <= 2
    template = ("https://t{s}.tianditu.gov.cn/vec_w/wmts?"
                "TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk={key}")
    assert maps.tile_url(template, 16, 53576, 26913, key="K", subdomains=list("01234567")) == (
        f"https://t{(53576 + 26913) % 8}.tianditu.gov.cn/vec_w/wmts?"
        "TILEMATRIX=16&TILEROW=26913&TILECOL=53576&tk=K")
    # x wraps around the antimeridian.
    assert maps.tile_url("https://x/{z}/{x}/{y}", 2, 5, 1, key="", subdomains=[]) == (
        "https://x/2/1/1")


@pytest.mark.database_independent
@pytest.mark.parametrize(("settings", "message"), [
    ({"MAP_TILE_URL": "file:///etc/passwd?{z}{x}{y}"}, "http(s)"),
    ({"MAP_TILE_URL": "https://t.example/{z}/{x}.png"}, "{y}"),
    ({"MAP_TILE_URL": "https://t{s}.example/{z}/{x}/{y}.png"}, "MAP_TILE_SUBDOMAINS"),
    ({"MAP_TILE_URL": "https://t.example/{z}/{x}/{y}.png?tk={key}"}, "MAP_TILE_KEY"),
])
def test_a_tile_url_that_cannot_work_stops_the_start(
        monkeypatch: pytest.MonkeyPatch, settings: dict[str, str], message: str) -> None:
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=re.escape(message)):
        Config()


def _near(found: tuple[int, ...], wanted: tuple[int, ...], slack: int = 24) -> bool:
    return all(abs(a - b) <= slack for a, b in zip(found, wanted, strict=False))

