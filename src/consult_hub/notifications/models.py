from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from consult_hub.core.db import Base, LabelledEnum, UTCDateTime, enum_column, utcnow
from consult_hub.core.i18n import lazy_gettext as _l


class EmailStatus(LabelledEnum):
    NONE = "none", _l("不发邮件")
    PENDING = "pending", _l("待发送")
    SENDING = "sending", _l("发送中")
    SENT = "sent", _l("已发送")
    FAILED = "failed", _l("发送失败")


class Notification(Base):
    """One reminder: a row in the recipient's inbox and, where SMTP is set up, an email.

    ``dedupe_key`` names the fact being reminded of (e.g.
    ``event_upcoming:{event_id}:{starts_at}:{hours}``); with the recipient it is
    unique, so a sweep that runs twice cannot deliver the same reminder twice.
    """

    __tablename__ = "notifications"
    __table_args__ = (
        sa.UniqueConstraint("dedupe_key", "user_id"),
        sa.Index("ix_notifications_user_id_read_at", "user_id", "read_at"),
        sa.Index("ix_notifications_email_status_next_attempt_at", "email_status",
                 "email_next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    dedupe_key: Mapped[str] = mapped_column(sa.String(200))
    kind: Mapped[str] = mapped_column(sa.String(32))
    subject: Mapped[str] = mapped_column(sa.String(200))
    body: Mapped[str] = mapped_column(sa.Text)
    link: Mapped[str | None] = mapped_column(sa.String(300))
    # The facts a digest lists (its platforms, their last events), rendered by the inbox in the
    # reader's language with a link each; ``body`` is the same as text, for the email.
    data: Mapped[dict | None] = mapped_column(sa.JSON(none_as_null=True))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    email_status: Mapped[EmailStatus] = mapped_column(
        enum_column(EmailStatus, "email_status"), default=EmailStatus.NONE
    )
    email_attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    email_next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    email_claimed_by: Mapped[str | None] = mapped_column(sa.String(64))
    email_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    email_last_error: Mapped[str | None] = mapped_column(sa.Text)

    user = relationship("User")


class TextStatus(LabelledEnum):
    PENDING = "pending", _l("待发送")
    SENDING = "sending", _l("发送中")
    SENT = "sent", _l("已发送")
    FAILED = "failed", _l("发送失败")


class TextMessage(Base):
    """One text message (短信) to a resident about one public step of their problem.

    Queued by the scheduler's sweep (notifications/sms.py), one per public timeline entry:
    ``update_id`` is unique, so a sweep that runs twice cannot text the same step twice. The
    phone number is not copied here: it is read from the problem when sending, so the retention
    sweep's erasure also stops any message still queued.
    """

    __tablename__ = "text_messages"
    __table_args__ = (
        sa.Index("ix_text_messages_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    issue_id: Mapped[int] = mapped_column(sa.ForeignKey("issues.id", ondelete="CASCADE"),
                                          index=True)
    update_id: Mapped[int] = mapped_column(
        sa.ForeignKey("issue_updates.id", ondelete="CASCADE"), unique=True)
    body: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[TextStatus] = mapped_column(enum_column(TextStatus, "text_status"),
                                               default=TextStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    claimed_by: Mapped[str | None] = mapped_column(sa.String(64))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
