"""Event photo files: the shared photo pipeline (core/images.py) under the names events use."""

from __future__ import annotations

from consult_hub.core.images import (  # noqa: F401  (re-exported for events and their tests)
    FORMATS,
    MAX_EDGE,
    MAX_PIXELS,
    SUBFOLDER,
    CleanImage,
    clean_image,
    folder,
    path_of,
    read_limited,
    remove,
    store,
)
