"""The outbox: messages to citizens, written with the state change they announce and sent
later by `postal notify-worker` (transactional outbox: none is lost, none is sent half-made)."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, Enum, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from postal.models.base import Base, UTCDateTime, utcnow


class NotificationStatus(enum.StrEnum):
    PENDING = "pending"  # to send (again) at next_attempt_at
    SENT = "sent"


class Notification(Base):
    __tablename__ = "notification"

    id: Mapped[int] = mapped_column(primary_key=True)
    dossier_id: Mapped[int | None] = mapped_column(ForeignKey("dossier.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30))  # result_ready, out_for_delivery, ...
    channel: Mapped[str] = mapped_column(String(10), default="sms")
    recipient: Mapped[str] = mapped_column(String(200))  # the citizen's phone
    data: Mapped[dict] = mapped_column(JSON, default=dict)  # what the message says
    body: Mapped[str | None] = mapped_column(Text)  # the text as sent
    status: Mapped[NotificationStatus] = mapped_column(
        Enum(NotificationStatus, native_enum=False, length=10,
             values_callable=lambda e: [m.value for m in e]),
        default=NotificationStatus.PENDING)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # what an SMS gateway said of it: its own message id, the delivery status (from its
    # answer, then from its delivery receipts), and the SMS segments the text took
    provider_ref: Mapped[str | None] = mapped_column(String(100), index=True)
    delivery_status: Mapped[str | None] = mapped_column(String(30))
    segments: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (Index("ix_notification_due", "status", "next_attempt_at"),)

    def __repr__(self) -> str:
        return f"<Notification {self.id} {self.kind} {self.status.value}>"
