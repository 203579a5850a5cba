"""Event photos: only real JPEG/PNG/WebP, stripped of EXIF, stored privately, shown to the
right people."""

from __future__ import annotations

import os
from datetime import timedelta
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from PIL import Image

from consult_hub.core.db import utcnow
from consult_hub.extensions import db
from consult_hub.models import EventPhoto, EventStatus
from tests.support.access_events import png_bytes
from tests.support.auth import csrf_token, signed_in
from tests.support.events import coordinator_of
from tests.support.pages import field_errors
from tests.support.records import audit_rows, count

GPS_IFD = 0x8825
ORIENTATION = 0x0112


def jpeg_with_gps(size: tuple[int, int] = (40, 30)) -> bytes:
    """A phone photo: camera make, GPS position and 'rotate 90°' orientation in its EXIF."""
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    exif[ORIENTATION] = 6
    exif[GPS_IFD] = {1: "N", 2: (30.0, 35.0, 12.0), 3: "E", 4: (114.0, 17.0, 45.0)}
    buffer = BytesIO()
    Image.new("RGB", size, (200, 40, 40)).save(buffer, "JPEG", exif=exif)
    return buffer.getvalue()


def stored_files(app) -> set[str]:
    folder = Path(app.config["UPLOAD_FOLDER"]) / "event-photos"
    return {p.name for p in folder.iterdir()} if folder.exists() else set()


@pytest.fixture()
def held(app, make):
    platform = make("platform")
    start = utcnow() - timedelta(days=1)
    event = make("event", platform_id=platform.id, status=EventStatus.HELD, minutes="纪要",
                 starts_at=start, ends_at=start + timedelta(hours=2))
    return {"platform": platform, "event": event, "user": coordinator_of(make, platform.id)}


def upload(client, event_id: int, data: bytes, name: str, caption: str = "",
           content_type: str = "image/jpeg"):
    """Send a file from the event page's upload form, as a browser would."""
    return client.post(f"/manage/events/{event_id}/photos",
                       data={"csrf_token": csrf_token(client, f"/manage/events/{event_id}"),
                             "caption": caption, "photo": (BytesIO(data), name, content_type)},
                       content_type="multipart/form-data")


def test_an_uploaded_photo_loses_its_exif_but_stays_upright(app, held):
    client = signed_in(app, held["user"].username)
    before = stored_files(app)
    answer = upload(client, held["event"].id, jpeg_with_gps(), "IMG_张三家门口.jpg",
                    "居民议事会现场")
    assert answer.status_code == 303
    with app.app_context():
        photo = db.session.scalars(sa.select(EventPhoto)).one()
        db.session.expunge(photo)
    [name] = stored_files(app) - before
    assert name == photo.stored_name and name.endswith(".jpg") and "张三" not in name
    assert len(name) == 32 + len(".jpg")
    with Image.open(Path(app.config["UPLOAD_FOLDER"]) / "event-photos" / name) as saved:
        exif = saved.getexif()
        assert GPS_IFD not in exif and 0x010F not in exif and ORIENTATION not in exif
        assert saved.size == (30, 40)  # the rotation was applied to the pixels
    assert (photo.content_type, photo.width, photo.height) == ("image/jpeg", 30, 40)
    assert photo.original_name == "IMG_张三家门口.jpg" and photo.caption == "居民议事会现场"
    stored = Path(app.config["UPLOAD_FOLDER"]) / "event-photos" / name
    assert b"PhoneMaker" not in stored.read_bytes()
    [row] = audit_rows(app, "event_photo_add")
    assert row.entity_id == photo.id and row.changes["caption"] == [None, "居民议事会现场"]
    page = client.get(f"/manage/events/{held['event'].id}").text
    assert f"/manage/events/photos/{photo.id}" in page and "居民议事会现场" in page
    assert "IMG_张三家门口" not in page  # the original file name stays private


@pytest.mark.parametrize(("data", "name", "content_type"), [
    (b"<html><script>alert(1)</script></html>", "photo.jpg", "image/jpeg"),
    (b"GIF89a" + b"\x00" * 40, "photo.png", "image/png"),
    (jpeg_with_gps()[:200], "cut.jpg", "image/jpeg"),
], ids=["html-named-jpg", "gif-named-png", "truncated-jpeg"])
def test_anything_but_a_real_jpeg_png_or_webp_is_refused(app, held, data, name, content_type):
    client = signed_in(app, held["user"].username)
    before = stored_files(app)
    answer = upload(client, held["event"].id, data, name, content_type=content_type)
    assert answer.status_code == 422
    assert "只能上传 JPEG、PNG 或 WebP" in field_errors(answer.text, "photo")
    assert count(app, EventPhoto) == 0 and stored_files(app) == before


def test_a_real_gif_is_refused(app, held):
    buffer = BytesIO()
    Image.new("RGB", (4, 4)).save(buffer, "GIF")
    client = signed_in(app, held["user"].username)
    answer = upload(client, held["event"].id, buffer.getvalue(), "a.gif", content_type="image/gif")
    assert answer.status_code == 422 and count(app, EventPhoto) == 0


def test_png_and_webp_are_accepted(app, held):
    client = signed_in(app, held["user"].username)
    webp = BytesIO()
    Image.new("RGB", (10, 10), (0, 200, 0)).save(webp, "WEBP")
    assert upload(client, held["event"].id, png_bytes(), "a.png").status_code == 303
    assert upload(client, held["event"].id, webp.getvalue(), "b.bin",
                  content_type="application/octet-stream").status_code == 303
    with app.app_context():
        types = sorted(db.session.scalars(sa.select(EventPhoto.content_type)))
    assert types == ["image/png", "image/webp"]


def test_a_photo_over_the_size_limit_is_refused(app, held, monkeypatch):
    # Kept under the test client's 500 KB spill-to-disk threshold.
    monkeypatch.setitem(app.config, "MAX_PHOTO_BYTES", 100 * 1024)
    big = BytesIO()
    Image.frombytes("RGB", (200, 200), os.urandom(200 * 200 * 3)).save(big, "PNG")
    assert 100 * 1024 < len(big.getvalue()) < 500 * 1024
    client = signed_in(app, held["user"].username)
    answer = upload(client, held["event"].id, big.getvalue(), "big.png", content_type="image/png")
    assert answer.status_code == 422
    assert "照片不能超过 100 KB" in field_errors(answer.text, "photo")
    assert count(app, EventPhoto) == 0


def test_photos_wait_until_the_event_is_held(app, make):
    platform = make("platform")
    event = make("event", platform_id=platform.id)
    client = signed_in(app, coordinator_of(make, platform.id).username)
    assert "活动举行后可以上传照片" in client.get(f"/manage/events/{event.id}").text
    answer = upload(client, event.id, png_bytes(), "a.png", content_type="image/png")
    assert answer.status_code == 409 and count(app, EventPhoto) == 0


def _photo_of(app, event_id: int) -> Any:
    """A stored photo file and its row, as an upload leaves them."""
    from consult_hub.events import photos

    with app.test_request_context():
        image = photos.clean_image(png_bytes())
        name = photos.store(image)
        photo = EventPhoto(event_id=event_id, stored_name=name, original_name="x.png",
                           caption="会场", content_type=image.content_type,
                           size=len(image.data), width=image.width, height=image.height)
        db.session.add(photo)
        db.session.commit()
        db.session.refresh(photo)
        db.session.expunge(photo)
        return photo


def test_a_held_events_photo_is_public_with_safe_headers(app, client, held):
    photo = _photo_of(app, held["event"].id)
    with client.get(f"/manage/events/photos/{photo.id}") as answer:
        assert answer.status_code == 200
        assert answer.headers["Content-Type"] == "image/png"
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
        assert answer.headers["Content-Disposition"] == "inline"
        assert answer.data.startswith(b"\x89PNG")


def test_a_planned_events_photo_is_for_its_staff_only(app, client, make):
    platform = make("platform")
    event = make("event", platform_id=platform.id)
    photo = _photo_of(app, event.id)
    path = f"/manage/events/photos/{photo.id}"
    assert client.get(path).status_code == 404
    outsider = signed_in(app, coordinator_of(make, make("platform").id).username)
    assert outsider.get(path).status_code == 404
    insider = signed_in(app, coordinator_of(make, platform.id).username)
    with insider.get(path) as answer:
        assert answer.status_code == 200 and "no-store" in answer.headers["Cache-Control"]


def test_deleting_a_photo_removes_the_row_and_the_file(app, make, held):
    photo = _photo_of(app, held["event"].id)
    assert photo.stored_name in stored_files(app)
    outsider = signed_in(app, coordinator_of(make, make("platform").id).username)
    refused = outsider.post(f"/manage/events/photos/{photo.id}/delete",
                            data={"csrf_token": csrf_token(outsider, "/")})
    assert refused.status_code == 403 and count(app, EventPhoto) == 1
    client = signed_in(app, held["user"].username)
    path = f"/manage/events/photos/{photo.id}/delete"
    assert path in client.get(f"/manage/events/{held['event'].id}").text
    confirm = client.get(path)  # a tap asks first: nothing is deleted yet
    assert confirm.status_code == 200 and "删除这张照片？" in confirm.text
    assert count(app, EventPhoto) == 1
    answer = client.post(path, data={"csrf_token": csrf_token(client, path)})
    assert answer.status_code == 303
    assert answer.headers["Location"] == f"/manage/events/{held['event'].id}#photos"
    assert count(app, EventPhoto) == 0 and photo.stored_name not in stored_files(app)
    assert client.get(f"/manage/events/photos/{photo.id}").status_code == 404
    [row] = audit_rows(app, "event_photo_delete")
    assert row.changes["caption"] == ["会场", None]


# -- phones' photos: HDR (MPO), large, bombs (issue 12, item 13) --------------------------------


def stored_image(app, name: str) -> Image.Image:
    with Image.open(Path(app.config["UPLOAD_FOLDER"]) / "event-photos" / name) as saved:
        saved.load()
        return saved


def test_a_phones_hdr_photo_mpo_is_stored_as_a_plain_jpeg_without_exif(app, held):
    """Pillow reads HDR/portrait JPEGs as MPO; they used to be refused as "not a JPEG"."""
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    exif[GPS_IFD] = {1: "N", 2: (30.0, 35.0, 12.0)}
    buffer = BytesIO()
    Image.new("RGB", (48, 32), (30, 90, 200)).save(
        buffer, "MPO", save_all=True, exif=exif,
        append_images=[Image.new("L", (24, 16), 128)])  # the gain map
    with Image.open(BytesIO(buffer.getvalue())) as probe:
        assert probe.format == "MPO" and probe.n_frames == 2
    client = signed_in(app, held["user"].username)
    before = stored_files(app)
    answer = upload(client, held["event"].id, buffer.getvalue(), "IMG_0001.JPG")
    assert answer.status_code == 303
    [name] = stored_files(app) - before
    assert name.endswith(".jpg")
    saved = stored_image(app, name)
    assert saved.format == "JPEG" and saved.size == (48, 32)
    assert GPS_IFD not in saved.getexif() and 0x010F not in saved.getexif()
    with app.app_context():
        photo = db.session.scalars(sa.select(EventPhoto)).one()
        assert (photo.content_type, photo.width, photo.height) == ("image/jpeg", 48, 32)


def test_a_large_photo_is_scaled_down_to_the_long_edge_and_stays_upright(app, held):
    """A 3,200 × 2,400 photo shot upright (EXIF 'rotate 90°') is kept as 1,920 × 2,560."""
    assert app.config["PHOTO_MAX_EDGE"] == 2560
    exif = Image.Exif()
    exif[ORIENTATION] = 6
    exif[GPS_IFD] = {1: "N", 2: (30.0, 35.0, 12.0)}
    buffer = BytesIO()
    Image.new("RGB", (3200, 2400), (200, 40, 40)).save(buffer, "JPEG", exif=exif)
    assert len(buffer.getvalue()) < 500 * 1024  # under the test client's spill-to-disk size
    client = signed_in(app, held["user"].username)
    before = stored_files(app)
    assert upload(client, held["event"].id, buffer.getvalue(), "big.jpg").status_code == 303
    [name] = stored_files(app) - before
    saved = stored_image(app, name)
    assert saved.size == (1920, 2560)
    assert GPS_IFD not in saved.getexif() and ORIENTATION not in saved.getexif()
    with app.app_context():
        photo = db.session.scalars(sa.select(EventPhoto)).one()
        assert (photo.width, photo.height) == (1920, 2560)


def test_a_photo_past_the_pixel_limit_is_refused_before_it_is_decoded(
        app, held, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_PHOTO_PIXELS", 1000)
    client = signed_in(app, held["user"].username)
    answer = upload(client, held["event"].id, jpeg_with_gps((40, 30)), "a.jpg")  # 1,200 pixels
    assert answer.status_code == 422
    assert "照片像素过大" in field_errors(answer.text, "photo")
    assert count(app, EventPhoto) == 0
    assert upload(client, held["event"].id, jpeg_with_gps((40, 25)), "b.jpg").status_code == 303
