from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from consult_hub.core.db import Base, UTCDateTime, utcnow


class ApiKey(Base):
    """A key an integrating system sends as ``api_key`` with its Open311 submissions.

    Not a person's token (``auth.models.ApiToken``): a key belongs to a system, is issued and
    revoked by city staff, and lifts the residents' submission limit to its own. Only the
    key's SHA-256 is stored; the key itself is shown once, when it is issued.
    """

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(64))
    # The system that uses it and who runs it, e.g. "武汉市 12345 市民服务热线（市政务服务中心）".
    system: Mapped[str] = mapped_column(sa.String(200))
    prefix: Mapped[str] = mapped_column(sa.String(16))  # shown in lists to tell keys apart
    key_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    # Flask-Limiter syntax ("600 per hour", ";" for several), counted per key.
    rate_limit: Mapped[str] = mapped_column(sa.String(64))
    issued_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    issued_by = relationship("User")

    @property
    def is_live(self) -> bool:
        return self.revoked_at is None

    def __repr__(self) -> str:
        return f"<ApiKey {self.prefix} {self.name}>"
