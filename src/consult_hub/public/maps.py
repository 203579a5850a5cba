"""Static maps of where a platform is, composed on the server from the configured tiles.

A map is one PNG on this site's own address: the server asks the configured provider
(``MAP_TILE_URL``, e.g. 天地图 with its key) for the few tiles around the place, pastes them
together, marks the place and keeps the image in ``MAP_FOLDER``. A resident's browser thus
never talks to a third party (no script, no tile request, no Referer carrying the page they
read), the key stays on the server, and the Content-Security-Policy stays ``img-src 'self'``.
Why this and not tiles in the browser: docs/design.md, "Maps".

Nothing here blocks a page for long or fails it: no tile URL, no coordinates, a provider
slower than ``MAP_FETCH_TIMEOUT`` in all, an answer that is not a small image, or the hour's
budget of new maps spent — the page shows no map (its address is always written out) and a
failed map is not asked for again within ``MAP_RETRY_SECONDS``.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import math
import os
import re
import threading
import time
import urllib.request
from collections import deque
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import abort, current_app, send_from_directory
from PIL import Image, ImageDraw

log = logging.getLogger(__name__)

TILE = 256  # Web Mercator tiles (XYZ, and WMTS matrix sets like 天地图's "w")
WIDTH, HEIGHT = 512, 256  # the composed image: at most 3 × 2 tiles a layer; CSS fits it
MAX_TILE_BYTES = 1_000_000  # a 256-px tile is 5–60 kB; anything this big is not one
MAX_TILE_EDGE = 512  # "retina" tiles are scaled down to 256
MAX_LATITUDE = 85.05112878  # Web Mercator's edge
# Bump when the drawing changes (marker, size): every map is then composed anew.
DRAWING_VERSION = 1
FILENAME = re.compile(r"[0-9a-f]{32}\.png")
MAX_AGE = 30 * 24 * 3600  # a name is a hash of everything that made the image


class MapUnavailable(Exception):
    """The provider did not give us a usable tile in time."""


@dataclass(frozen=True)
class StaticMap:
    """A composed map, for the template: its file name on /maps/ and its size."""

    name: str
    width: int
    height: int
    attribution: str


def tile_position(latitude: float, longitude: float, zoom: int) -> tuple[float, float]:
    """The place in tile units at ``zoom`` (Web Mercator, EPSG:3857), fractions kept."""
    latitude = max(-MAX_LATITUDE, min(MAX_LATITUDE, latitude))
    n = 2 ** zoom
    x = (longitude + 180.0) / 360.0 * n
    y = (1.0 - math.asinh(math.tan(math.radians(latitude))) / math.pi) / 2.0 * n
    return x, y


@dataclass(frozen=True)
class Window:
    """The image's top-left corner in world pixels, and the tiles it covers."""

    left: int
    top: int
    columns: range
    rows: range


def window(latitude: float, longitude: float, zoom: int, width: int = WIDTH,
           height: int = HEIGHT) -> Window:
    x, y = tile_position(latitude, longitude, zoom)
    left = round(x * TILE) - width // 2
    top = round(y * TILE) - height // 2
    return Window(left, top, range(left // TILE, (left + width - 1) // TILE + 1),
                  range(top // TILE, (top + height - 1) // TILE + 1))


def tile_url(template: str, zoom: int, x: int, y: int, *, key: str,
             subdomains: list[str]) -> str:
    """One tile's address; x wraps around the antimeridian."""
    x %= 2 ** zoom
    url = (template.replace("{z}", str(zoom)).replace("{x}", str(x)).replace("{y}", str(y))
           .replace("{key}", key))
    if subdomains:
        url = url.replace("{s}", subdomains[(x + y) % len(subdomains)])
    return url


def configured() -> bool:
    return bool(current_app.config.get("MAP_TILE_URL"))


def map_for(latitude: float | None, longitude: float | None) -> StaticMap | None:
    """The map of a place, composed now if need be; None when there is none to show."""
    config = current_app.config
    templates = str(config.get("MAP_TILE_URL") or "").split()
    if not templates or latitude is None or longitude is None:
        return None
    zoom = int(config["MAP_ZOOM"])
    name = _name(templates, zoom, latitude, longitude)
    shown = StaticMap(name, WIDTH, HEIGHT, str(config.get("MAP_ATTRIBUTION") or ""))
    folder = Path(config["MAP_FOLDER"])
    path = folder / f"{name}.png"
    if path.exists():
        return shown
    failed = folder / f"{name}.failed"
    try:
        if time.time() - failed.stat().st_mtime < float(config["MAP_RETRY_SECONDS"]):
            return None
    except FileNotFoundError:
        pass
    if not _budget().take(int(config["MAP_BUILDS_PER_HOUR"])):
        return None
    try:
        png = compose(templates, zoom, latitude, longitude, key=config["MAP_TILE_KEY"],
                      subdomains=list(config["MAP_TILE_SUBDOMAINS"]),
                      timeout=float(config["MAP_FETCH_TIMEOUT"]))
        folder.mkdir(parents=True, exist_ok=True)
        partial = folder / f".{name}.{os.getpid()}.{threading.get_ident()}.tmp"
        partial.write_bytes(png)
        os.replace(partial, path)  # another worker composing the same map writes the same
    except (MapUnavailable, OSError) as error:
        log.warning("map %s (%.5f, %.5f) not shown: %s", name, latitude, longitude, error)
        try:
            folder.mkdir(parents=True, exist_ok=True)
            failed.touch()
        except OSError:
            pass
        return None
    return shown


def send(filename: str) -> Any:
    """A composed map, from this site; names are hashes, so browsers keep them a month."""
    if not FILENAME.fullmatch(filename) or not configured():
        abort(404)
    return send_from_directory(current_app.config["MAP_FOLDER"], filename,
                               mimetype="image/png", max_age=MAX_AGE)


def _name(templates: list[str], zoom: int, latitude: float, longitude: float) -> str:
    # The key is not part of it: a new key draws the same map.
    made_of = [DRAWING_VERSION, templates, zoom, round(latitude, 6), round(longitude, 6),
               WIDTH, HEIGHT]
    return hashlib.sha256(json.dumps(made_of).encode()).hexdigest()[:32]


def compose(templates: list[str], zoom: int, latitude: float, longitude: float, *, key: str,
            subdomains: list[str], timeout: float) -> bytes:
    """The PNG of the place: each layer's tiles pasted in order, the place marked."""
    area = window(latitude, longitude, zoom)
    wanted = [(layer, x, y) for layer in range(len(templates))
              for y in area.rows for x in area.columns]
    deadline = time.monotonic() + timeout
    pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="map-tiles")
    try:
        futures = {}
        for layer, x, y in wanted:
            url = tile_url(templates[layer], zoom, x, y, key=key, subdomains=subdomains)
            futures[pool.submit(fetch_tile, url, deadline, secret=key)] = (layer, x, y)
        done, pending = wait(futures, timeout=max(0.0, deadline - time.monotonic()),
                             return_when=FIRST_EXCEPTION)
        for future in done:
            if future.exception() is not None:
                raise MapUnavailable(str(future.exception()))
        if pending:
            raise MapUnavailable(f"{len(pending)} of {len(futures)} tiles not in time")
        tiles = {futures[f]: f.result() for f in done}
    finally:
        # Not waiting: a provider dripping bytes must not hold the page past the deadline.
        pool.shutdown(wait=False, cancel_futures=True)
    canvas = Image.new("RGBA", (len(area.columns) * TILE, len(area.rows) * TILE),
                       (238, 238, 238, 255))
    for (_layer, x, y), tile in sorted(tiles.items()):
        canvas.alpha_composite(tile, ((x - area.columns.start) * TILE,
                                      (y - area.rows.start) * TILE))
    left = area.left - area.columns.start * TILE
    top = area.top - area.rows.start * TILE
    image = canvas.crop((left, top, left + WIDTH, top + HEIGHT))
    _mark(image, WIDTH // 2, HEIGHT // 2)
    out = io.BytesIO()
    # A palette keeps a map of flat colours small (about a third of full colour).
    image.convert("RGB").quantize(colors=256).save(out, "PNG", optimize=True)
    return out.getvalue()


def _mark(image: Image.Image, x: int, y: int) -> None:
    """A red dot ringed in white: visible on any base map, in black-and-white print too."""
    draw = ImageDraw.Draw(image)
    draw.ellipse((x - 12, y - 12, x + 12, y + 12), fill=(255, 255, 255, 255))
    draw.ellipse((x - 9, y - 9, x + 9, y + 9), fill=(196, 30, 30, 255))
    draw.ellipse((x - 3, y - 3, x + 3, y + 3), fill=(255, 255, 255, 255))


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A tile answered elsewhere is not the configured provider's tile."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirect())


def fetch_tile(url: str, deadline: float, *, secret: str = "") -> Image.Image:
    """One tile as RGBA 256 × 256, or MapUnavailable (whose text never holds ``secret``,
    the key: it goes to the log). Runs in a worker thread: no application context."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise MapUnavailable("out of time")
    request = urllib.request.Request(url, headers={
        "User-Agent": "ConsultHub static map",
        "Accept": "image/png,image/jpeg,image/webp,image/*;q=0.8",
    })
    try:
        with _opener.open(request, timeout=remaining) as answer:
            if answer.status != 200:
                raise MapUnavailable(f"HTTP {answer.status}")
            kind = answer.headers.get_content_type()
            if not kind.startswith("image/"):
                raise MapUnavailable(f"not an image ({kind})")
            data = answer.read(MAX_TILE_BYTES + 1)
    except MapUnavailable:
        raise
    except (OSError, ValueError) as error:  # URLError, HTTPError, timeouts, bad answers
        text = str(error)
        raise MapUnavailable(text.replace(secret, "…") if secret else text) from None
    if len(data) > MAX_TILE_BYTES:
        raise MapUnavailable("tile larger than allowed")
    try:
        tile = Image.open(io.BytesIO(data))
        if max(tile.size) > MAX_TILE_EDGE:  # read from the header, before decoding
            raise MapUnavailable(f"tile of {tile.size}")
        tile = tile.convert("RGBA")
    except (OSError, ValueError, Image.DecompressionBombError) as error:
        raise MapUnavailable(f"unreadable tile: {error}") from None
    if tile.size != (TILE, TILE):
        tile = tile.resize((TILE, TILE), Image.Resampling.LANCZOS)
    return tile


class _Budget:
    """New maps composed in the last hour, per process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._times: deque[float] = deque()

    def take(self, per_hour: int) -> bool:
        now = time.monotonic()
        with self._lock:
            while self._times and now - self._times[0] > 3600:
                self._times.popleft()
            if len(self._times) >= per_hour:
                return False
            self._times.append(now)
            return True


def _budget() -> _Budget:
    return current_app.extensions.setdefault("maps.budget", _Budget())
