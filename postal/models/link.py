"""Links to other systems: webhook subscribers, the events the operations announce, and one
delivery of an event to one receiver (a subscriber, the national portal, VNPost), sent by
`postal notify-worker` from the same transactional outbox as the citizens' messages."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, Boolean, Enum, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from postal.models.base import Base, UTCDateTime, utcnow


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"  # to send (again) at next_attempt_at
    SENT = "sent"  # the receiver answered 2xx
    DEAD = "dead"  # every try failed: waits in the dead-letter list for a manual replay


class WebhookSubscriber(Base):
    __tablename__ = "webhook_subscriber"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(500))
    secret: Mapped[str] = mapped_column(String(200))
    events: Mapped[list] = mapped_column(JSON, default=list)  # event names it wants
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<WebhookSubscriber {self.id} {self.url}>"


class LinkEvent(Base):
    """Something happened to a dossier, written by the operation in its own transaction; the
    worker fans it out into one LinkDelivery per receiver that wants it."""

    __tablename__ = "link_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(36), unique=True)  # uuid: the event's public id
    event: Mapped[str] = mapped_column(String(40))  # dossier.accepted, ...
    dossier_id: Mapped[int | None] = mapped_column(ForeignKey("dossier.id"), index=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    payload: Mapped[dict] = mapped_column(JSON, default=dict)  # the dossier as it was then
    fanned_out: Mapped[bool] = mapped_column(Boolean, default=False, index=True)

    def __repr__(self) -> str:
        return f"<LinkEvent {self.id} {self.event}>"


class LinkDelivery(Base):
    """One event to one receiver: retried with backoff, then dead-lettered; `key` is the
    idempotency key the receiver sees on every try (X-Postal-Delivery)."""

    __tablename__ = "link_delivery"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(80), unique=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("link_event.id"), index=True)
    target: Mapped[str] = mapped_column(String(20))  # webhook, portal, vnpost
    subscriber_id: Mapped[int | None] = mapped_column(
        ForeignKey("webhook_subscriber.id", ondelete="SET NULL"), index=True)
    status: Mapped[DeliveryStatus] = mapped_column(
        Enum(DeliveryStatus, native_enum=False, length=10,
             values_callable=lambda e: [m.value for m in e]),
        default=DeliveryStatus.PENDING)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    response: Mapped[str | None] = mapped_column(Text)  # what the receiver answered (trimmed)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    event: Mapped[LinkEvent] = relationship()
    subscriber: Mapped[WebhookSubscriber | None] = relationship()

    __table_args__ = (Index("ix_link_delivery_due", "status", "next_attempt_at"),)

    def __repr__(self) -> str:
        return f"<LinkDelivery {self.id} {self.target} {self.status.value}>"
