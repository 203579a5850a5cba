"""Uploaded photos (an event's, a resident's problem's): check what an upload really is, strip
its metadata, scale it down, store it privately under a random name.

Whether a stored photo may be shown to whom is the owning feature's rule (events/views.py,
issues/photos.py); this module only reads, cleans and writes files.
"""

from __future__ import annotations

import secrets
import warnings
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import IO

from flask import current_app
from PIL import Image, ImageOps, UnidentifiedImageError

from consult_hub.core.errors import ValidationFailed
from consult_hub.core.i18n import lazy_gettext as _l

# Pillow format → (content type, file extension, format stored). Anything else is refused.
# MPO: phones' HDR and portrait photos, a JPEG with more pictures after it; stored as JPEG.
FORMATS = {"JPEG": ("image/jpeg", ".jpg", "JPEG"), "MPO": ("image/jpeg", ".jpg", "JPEG"),
           "PNG": ("image/png", ".png", "PNG"), "WEBP": ("image/webp", ".webp", "WEBP")}
# Defaults of MAX_PHOTO_PIXELS (a 50-megapixel phone photo; more is a decompression bomb)
# and PHOTO_MAX_EDGE (the long edge stored; config.py).
MAX_PIXELS = 50_000_000
MAX_EDGE = 2560
# Every photo (an event's, a problem's) lives in UPLOAD_FOLDER/event-photos under a random
# name: backups archive and restore that one folder (core/backup.py PHOTOS_FOLDER), so a photo
# stored anywhere else would be lost on restore. The name predates problem photos.
SUBFOLDER = "event-photos"


@dataclass
class CleanImage:
    """A re-encoded image without metadata, ready to be written."""

    data: bytes
    content_type: str
    extension: str
    width: int
    height: int


def read_limited(stream: IO[bytes], limit: int) -> bytes:
    """Read at most ``limit`` bytes; refuse the upload when there is more."""
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise ValidationFailed({"photo": _l("照片不能超过 %(size)s，请缩小后再上传",
                                            size=_readable(limit))})
    if not data:
        raise ValidationFailed({"photo": _l("请选择一张照片")})
    return data


def _readable(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{round(size / 1024 / 1024, 1):g} MB"
    return f"{round(size / 1024):g} KB"


def clean_image(data: bytes) -> CleanImage:
    """Decode ``data`` as JPEG, PNG or WebP (by content, not name) and re-save it without EXIF.

    Re-encoding drops EXIF (camera, time, GPS position), XMP and text chunks; the
    orientation is applied to the pixels first so the photo still stands upright. Phones'
    HDR and portrait JPEGs are MPO (a JPEG followed by a second picture, e.g. the gain map):
    the first picture is kept, as a plain JPEG. A photo longer than PHOTO_MAX_EDGE is
    scaled down: a 48-megapixel phone photo (8,000 × 6,000) took about 3 s of CPU to
    re-encode whole; JPEG's ``draft`` decodes it at 1/2 or 1/4 scale to begin with. The
    size in the header is checked against MAX_PHOTO_PIXELS before any pixel is decoded.
    """
    refused = ValidationFailed({"photo": _l("只能上传 JPEG、PNG 或 WebP 格式的照片")})
    max_pixels = int(current_app.config.get("MAX_PHOTO_PIXELS", MAX_PIXELS))
    max_edge = int(current_app.config.get("PHOTO_MAX_EDGE", MAX_EDGE))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(BytesIO(data)) as probe:  # reads the header only
                if probe.format not in FORMATS:
                    raise refused
                if probe.width * probe.height > max_pixels:
                    raise ValidationFailed({"photo": _l("照片像素过大，请缩小后再上传")})
                probe.verify()
            # verify() leaves the image unusable: open it again to decode the pixels.
            with Image.open(BytesIO(data)) as image:
                fmt = FORMATS[image.format][2]
                if image.format in ("JPEG", "MPO"):
                    # Decode at 1/2, 1/4 or 1/8 scale, never below the size stored.
                    scale = max_edge / max(image.size)
                    if scale < 1:
                        image.draft(image.mode, (int(image.width * scale),
                                                 int(image.height * scale)))
                image.load()
                upright = ImageOps.exif_transpose(image)  # a plain copy, even of an MPO
    except ValidationFailed:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning,
            OSError, SyntaxError, ValueError, EOFError):
        raise refused from None
    icc_profile = upright.info.get("icc_profile")
    upright.info = {}  # nothing of the original's metadata is written back
    if max(upright.size) > max_edge:
        upright.thumbnail((max_edge, max_edge), Image.Resampling.LANCZOS, reducing_gap=3.0)
    options: dict[str, object] = {"icc_profile": icc_profile} if icc_profile else {}
    if fmt == "JPEG":
        if upright.mode not in ("RGB", "L", "CMYK"):
            upright = upright.convert("RGB")
        options.update(quality=90, optimize=True)
    elif fmt == "WEBP":
        options.update(quality=90)
    out = BytesIO()
    upright.save(out, fmt, **options)
    content_type, extension, _ = FORMATS[fmt]
    return CleanImage(out.getvalue(), content_type, extension, upright.width, upright.height)


def folder() -> Path:
    path = Path(current_app.config["UPLOAD_FOLDER"]) / SUBFOLDER
    path.mkdir(parents=True, exist_ok=True)
    return path


def path_of(stored_name: str) -> Path:
    return folder() / stored_name


def store(image: CleanImage) -> str:
    """Write the file under a new random name and return that name."""
    name = secrets.token_hex(16) + image.extension
    with open(path_of(name), "xb") as handle:
        handle.write(image.data)
    return name


def remove(stored_name: str) -> None:
    """Delete a stored file; one that is already gone is fine."""
    path_of(stored_name).unlink(missing_ok=True)
