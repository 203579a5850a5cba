"""Photos a resident sends with a problem: cleaned as event photos are (core/images.py),
private until the problem is published, and then public unless staff withheld them.

Why public by default once published: a resident sends a photo to show the problem, and
the public page is where neighbours and departments see it; staff look at every photo while
reviewing (a face, a number plate, a door number) and withhold the ones that must not be
shown, one click each on the problem's page. Nothing is ever served publicly before
publication (``may_show``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import IO, Any

from flask import current_app

from consult_hub.audit.operations import diff, record
from consult_hub.core import images
from consult_hub.core.db import utcnow
from consult_hub.core.errors import ValidationFailed
from consult_hub.core.i18n import lazy_gettext as _l
from consult_hub.extensions import db
from consult_hub.issues.models import Issue, IssuePhoto

FIELD = "photos"


def clean_uploads(uploads: Iterable[tuple[IO[bytes], str | None]]) -> list[images.CleanImage]:
    """Read, check and clean each upload (empty file inputs skipped); nothing is stored yet.

    Raises ValidationFailed on ``photos`` naming which photo is refused and why."""
    limit = int(current_app.config["SUBMISSION_MAX_PHOTOS"])
    chosen = [(stream, name) for stream, name in uploads if stream is not None and name]
    if len(chosen) > limit:
        raise ValidationFailed({FIELD: _l("最多上传 %(n)s 张照片", n=limit)})
    cleaned = []
    for number, (stream, _name) in enumerate(chosen, start=1):
        try:
            data = images.read_limited(stream, current_app.config["MAX_PHOTO_BYTES"])
            cleaned.append(images.clean_image(data))
        except ValidationFailed as refused:
            message = next(iter(refused.errors.values()))
            raise ValidationFailed({FIELD: _l("第 %(n)s 张照片：%(message)s", n=number,
                                              message=message)}) from None
    return cleaned


def attach(issue: Issue, cleaned: list[images.CleanImage], *,
           now: datetime | None = None) -> list[str]:
    """Store cleaned photos with ``issue``; returns the stored file names, for the caller to
    remove should the transaction fail (the files are written before the rows)."""
    stored: list[str] = []
    now = now or utcnow()
    try:
        for image in cleaned:
            name = images.store(image)
            stored.append(name)
            issue.photos.append(IssuePhoto(
                stored_name=name, content_type=image.content_type, size=len(image.data),
                width=image.width, height=image.height, created_at=now))
        db.session.flush()
    except Exception:
        for name in stored:
            images.remove(name)
        raise
    return stored


def set_public(photo: IssuePhoto, is_public: bool, *, actor_id: int | None) -> None:
    """Show or withhold one photo on the problem's public page (staff, at or after review)."""
    if photo.is_public == is_public:
        return
    record("issue_photo_public", photo.issue,
           diff({"photo": photo.id, "is_public": photo.is_public},
                {"photo": photo.id, "is_public": is_public}), actor_id=actor_id)
    photo.is_public = is_public
    db.session.flush()


def may_show(photo: IssuePhoto, *, is_staff: bool) -> bool:
    """Whether a request may have the photo: staff who may view the problem always, the
    public only once the problem is published and the photo not withheld."""
    return is_staff or photo.shown_publicly


def public_photos(issue: Any) -> list[IssuePhoto]:
    return [photo for photo in issue.photos if photo.shown_publicly]
