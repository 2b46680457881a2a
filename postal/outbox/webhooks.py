"""Outbound webhooks: the subscribers an admin registers, and how one delivery is signed.

The body is the event's JSON, signed with HMAC-SHA256 over "<t>.<raw body>" (t: unix seconds),
sent as `X-Postal-Signature: t=<t>,v1=<hex>`; `X-Postal-Delivery` is the same on every retry of
one event to one subscriber, so a subscriber drops what it has already seen.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from postal.core.errors import NotFound, ValidationFailed
from postal.models import LinkDelivery, WebhookSubscriber
from postal.outbox.events import EVENT_NAMES
from postal.outbox.wire import call

TOLERANCE = 300  # seconds a subscriber should accept between t and its own clock


def sign(secret: str, t: int, body: bytes) -> str:
    """The X-Postal-Signature header for `body` sent at unix time `t`."""
    digest = hmac.new(secret.encode("utf-8"), f"{t}.".encode() + body, hashlib.sha256)
    return f"t={t},v1={digest.hexdigest()}"


def verify(secret: str, header: str, body: bytes, *, now: float,
           tolerance: int = TOLERANCE) -> bool:
    """What a subscriber does with X-Postal-Signature: the HMAC matches and t is recent."""
    try:
        parts = dict(p.split("=", 1) for p in header.split(","))
        t = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(now - t) > tolerance:
        return False
    expected = sign(secret, t, body).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))


def body_of(delivery: LinkDelivery) -> bytes:
    """The raw JSON a subscriber receives: {id, event, occurred_at, dossier, details}."""
    return json.dumps(delivery.event.payload, ensure_ascii=False,
                      separators=(",", ":")).encode("utf-8")


def deliver(delivery: LinkDelivery, *, now: datetime, timeout: float) -> str:
    """POST the event to its subscriber; raises LinkFailure unless it answers 2xx."""
    subscriber = delivery.subscriber
    body = body_of(delivery)
    headers = {
        "X-Postal-Event": delivery.event.event,
        "X-Postal-Delivery": delivery.key,
        "X-Postal-Signature": sign(subscriber.secret, int(now.timestamp()), body),
        "User-Agent": "postal-webhooks/1",
    }
    answer = call("POST", subscriber.url, body=body, timeout=timeout,
                  headers={"Content-Type": "application/json; charset=utf-8", **headers})
    return f"HTTP {answer.status}"


# --- subscribers (the admin's API and pages) ---

def _checked(url: str, secret: str, events) -> tuple[str, str, list[str]]:
    url, secret = (url or "").strip(), (secret or "").strip()
    if not url.startswith(("http://", "https://")) or len(url) > 500 or " " in url:
        raise ValidationFailed("địa chỉ nhận phải là một URL http(s)", field="url")
    if len(secret) < 16 or len(secret) > 200:
        raise ValidationFailed("khoá bí mật phải dài 16–200 ký tự", field="secret")
    events = [e.strip() for e in (events or []) if isinstance(e, str) and e.strip()]
    unknown = [e for e in events if e not in EVENT_NAMES]
    if unknown or not events:
        raise ValidationFailed(
            "sự kiện không hợp lệ: " + ", ".join(unknown) if unknown
            else "chọn ít nhất một sự kiện", field="events")
    return url, secret, sorted(set(events), key=EVENT_NAMES.index)


def subscribe(session: Session, *, url: str, secret: str, events) -> WebhookSubscriber:
    url, secret, events = _checked(url, secret, events)
    subscriber = WebhookSubscriber(url=url, secret=secret, events=events, active=True)
    session.add(subscriber)
    session.flush()
    return subscriber


def subscribers(session: Session) -> list[WebhookSubscriber]:
    return list(session.scalars(select(WebhookSubscriber).where(WebhookSubscriber.active)
                                .order_by(WebhookSubscriber.id)))


def unsubscribe(session: Session, subscriber_id: int) -> WebhookSubscriber:
    """Stop sending to a subscriber; its past deliveries stay (for the record)."""
    subscriber = (session.get(WebhookSubscriber, subscriber_id)
                  if 0 < subscriber_id < 2**31 else None)
    if subscriber is None or not subscriber.active:
        raise NotFound("không có địa chỉ nhận này")
    subscriber.active = False
    session.flush()
    return subscriber
