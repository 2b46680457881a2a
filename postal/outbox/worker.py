"""Sending the outbox: claim due rows, send each, and retry failures with backoff.

A sender failure leaves the row pending with a later next_attempt_at (exponential backoff); a
worker that dies mid-send leaves it pending too, claimed only for LEASE, so nothing is ever lost
(a message may, rarely, go out twice: at-least-once, the only promise a crash allows).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from postal.models import Notification, NotificationStatus
from postal.outbox import links as linked
from postal.outbox.messages import compose
from postal.outbox.senders import Sender

logger = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)  # how long a claimed row waits before another worker may retry it
BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_MAX = timedelta(hours=6)  # never given up: a message waits at most this between tries


def backoff(attempts: int) -> timedelta:
    """Wait before try number attempts + 1: 30 s, 1 min, 2 min, … at most 6 h."""
    return min(BACKOFF_BASE * 2 ** max(attempts - 1, 0), BACKOFF_MAX)


def claim(session: Session, now: datetime, *, batch: int = 50,
          lease: timedelta = LEASE) -> list[int]:
    """Take up to `batch` due rows for this worker and commit: each counts a try, and another
    worker leaves it alone until the lease ends (then it is due again, should we die)."""
    query = (select(Notification.id)
             .where(Notification.status == NotificationStatus.PENDING,
                    Notification.next_attempt_at <= now)
             .order_by(Notification.next_attempt_at, Notification.id).limit(batch))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    ids = list(session.scalars(query))
    if ids:
        session.execute(update(Notification).where(Notification.id.in_(ids)).values(
            next_attempt_at=now + lease, attempts=Notification.attempts + 1))
    session.commit()
    return ids


def send_due(session: Session, sender: Sender, *, clock: Callable[[], datetime],
             batch: int = 50, lease: timedelta = LEASE,
             rating_url: Callable[[int], str | None] | None = None,
             links: linked.Links | None = None) -> tuple[int, int]:
    """Send what is due, committing after each message; returns (sent, failed). With
    `links` (or a sender built by senders.build_sender, which carries them) the link events
    go first: webhooks, the national portal and VNPost (outbox/links.py)."""
    sent = failed = 0
    links = links if links is not None else getattr(sender, "links", None)
    if links is not None:
        sent, failed = linked.send_due(session, links, clock=clock, batch=batch)
    for row_id in claim(session, clock(), batch=batch, lease=lease):
        row = session.get(Notification, row_id)
        url = rating_url(row.dossier_id) if rating_url and row.kind == "delivered" else None
        subject, body = compose(row, url)
        try:
            if getattr(sender, "accepts_ref", False):
                receipt = sender.send(row.recipient, subject, body, ref=str(row.id))
            else:
                receipt = sender.send(row.recipient, subject, body)
        except Exception as exc:  # any failure of the channel: try again later
            row.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            row.next_attempt_at = clock() + backoff(row.attempts)
            failed += 1
            logger.warning("notification %s failed (try %s): %s", row.id, row.attempts,
                           row.last_error)
        else:
            row.status, row.sent_at, row.body, row.last_error = (
                NotificationStatus.SENT, clock(), body, None)
            if isinstance(receipt, dict):  # a gateway's answer: its id, status, segments
                row.provider_ref = receipt.get("ref")
                row.delivery_status = receipt.get("status")
                row.segments = receipt.get("segments")
                row.body = receipt.get("text") or body
            sent += 1
        session.commit()
    return sent, failed
