"""Sending the link events: each LinkEvent an operation wrote is fanned out to its receivers
(the webhook subscribers that want it, the national portal, VNPost) as LinkDelivery rows, which
the worker sends at least once: a failure waits with exponential backoff, and after
max_attempts the delivery goes to the dead-letter list, where an admin replays it."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from postal.models import (
    DeliveryStatus,
    Dossier,
    LinkDelivery,
    LinkEvent,
    ReturnMethod,
    WebhookSubscriber,
)
from postal.outbox import webhooks
from postal.outbox.portal import PortalClient
from postal.outbox.vnpost import VNPostClient

logger = logging.getLogger(__name__)

BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_MAX = timedelta(hours=6)
# VNPost is asked for an order when the result of a home-return dossier is ready
VNPOST_EVENTS = ("dossier.result_ready",)


@dataclass
class Links:
    """The systems the worker sends to: webhooks always (subscribers are data), the portal
    and VNPost when their URL is set."""

    portal: PortalClient | None = None
    vnpost: VNPostClient | None = None
    timeout: float = 10.0
    max_attempts: int = 10
    lease: timedelta = timedelta(minutes=5)


def build_links(config: Mapping[str, Any]) -> Links:
    """The links the settings switch on (an empty URL leaves a link off)."""
    timeout = float(config.get("LINK_TIMEOUT", 10) or 10)
    portal = vnpost = None
    if config.get("PORTAL_SYNC_URL"):
        portal = PortalClient(config["PORTAL_SYNC_URL"], config.get("PORTAL_SYNC_TOKEN", ""),
                              config.get("PORTAL_STATUSES") or {}, timeout)
    if config.get("VNPOST_URL"):
        vnpost = VNPostClient(config["VNPOST_URL"], config.get("VNPOST_CUSTOMER_CODE", ""),
                              config.get("VNPOST_TOKEN", ""), timeout)
    return Links(portal, vnpost, timeout, int(config.get("LINK_MAX_ATTEMPTS", 10) or 10),
                 timedelta(seconds=int(config.get("LINK_LEASE", 300) or 300)))


def backoff(attempts: int) -> timedelta:
    """Wait before try number attempts + 1: 30 s, 1 min, 2 min, … at most 6 h."""
    return min(BACKOFF_BASE * 2 ** max(attempts - 1, 0), BACKOFF_MAX)


def _pg(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def fan_out(session: Session, links: Links, *, now: datetime, batch: int = 200) -> int:
    """One LinkDelivery per receiver of each new event, then commit; returns the events."""
    query = (select(LinkEvent).where(LinkEvent.fanned_out.is_(False))
             .order_by(LinkEvent.id).limit(batch))
    if _pg(session):
        query = query.with_for_update(skip_locked=True)
    events = list(session.scalars(query))
    if events:
        wanted = webhooks.subscribers(session)
        keys = set(session.scalars(select(LinkDelivery.key).where(
            LinkDelivery.event_id.in_([e.id for e in events]))))
        for event in events:
            for target, subscriber, suffix in _receivers(event, wanted, links):
                key = f"{event.key}.{suffix}"
                if key not in keys:
                    session.add(LinkDelivery(
                        key=key, event_id=event.id, target=target, subscriber=subscriber,
                        status=DeliveryStatus.PENDING, next_attempt_at=now, attempts=0))
            event.fanned_out = True
    session.commit()
    return len(events)


def _receivers(event: LinkEvent, wanted: list[WebhookSubscriber], links: Links):
    if links.portal is not None:
        yield "portal", None, "portal"
    dossier = event.payload.get("dossier") or {}
    if (links.vnpost is not None and event.event in VNPOST_EVENTS
            and dossier.get("return_method") == ReturnMethod.HOME.value):
        yield "vnpost", None, "vnpost"
    for subscriber in wanted:
        if event.event in (subscriber.events or ()):
            yield "webhook", subscriber, f"w{subscriber.id}"


def claim(session: Session, now: datetime, *, batch: int, lease: timedelta) -> list[int]:
    """Take up to `batch` due deliveries for this worker (a try each) and commit."""
    query = (select(LinkDelivery.id)
             .where(LinkDelivery.status == DeliveryStatus.PENDING,
                    LinkDelivery.next_attempt_at <= now)
             .order_by(LinkDelivery.next_attempt_at, LinkDelivery.id).limit(batch))
    if _pg(session):
        query = query.with_for_update(skip_locked=True)
    ids = list(session.scalars(query))
    if ids:
        session.execute(update(LinkDelivery).where(LinkDelivery.id.in_(ids)).values(
            next_attempt_at=now + lease, attempts=LinkDelivery.attempts + 1))
    session.commit()
    return ids


def _send(session: Session, delivery: LinkDelivery, links: Links, now: datetime) -> str:
    if delivery.target == "webhook":
        if delivery.subscriber is None or not delivery.subscriber.active:
            raise Gone("the subscriber was removed")
        return webhooks.deliver(delivery, now=now, timeout=links.timeout)
    dossier = session.get(Dossier, delivery.event.dossier_id)
    if dossier is None:
        raise Gone("the dossier is gone")
    if delivery.target == "portal":
        if links.portal is None:
            raise Gone("PORTAL_SYNC_URL is no longer set")
        return links.portal.push(session, dossier, delivery.key)
    if delivery.target == "vnpost":
        if links.vnpost is None:
            raise Gone("VNPOST_URL is no longer set")
        return links.vnpost.create_order(dossier, delivery.key)
    raise Gone(f"unknown target {delivery.target!r}")


class Gone(Exception):
    """Nobody left to send to: dead-lettered at once."""


def send_due(session: Session, links: Links, *, clock: Callable[[], datetime],
             batch: int = 50) -> tuple[int, int]:
    """Fan out new events, then send the due deliveries, committing after each."""
    fan_out(session, links, now=clock())
    sent = failed = 0
    for delivery_id in claim(session, clock(), batch=batch, lease=links.lease):
        delivery = session.get(LinkDelivery, delivery_id)
        try:
            response = _send(session, delivery, links, clock())
        except Exception as exc:  # any failure of the other side: retry or dead-letter
            session.rollback()  # nothing half-read stays in the session
            delivery = session.get(LinkDelivery, delivery_id)
            delivery.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            if isinstance(exc, Gone) or delivery.attempts >= links.max_attempts:
                delivery.status = DeliveryStatus.DEAD
            else:
                delivery.next_attempt_at = clock() + backoff(delivery.attempts)
            failed += 1
            logger.warning("%s delivery %s failed (try %s): %s", delivery.target, delivery.id,
                           delivery.attempts, delivery.last_error)
        else:
            delivery.status, delivery.sent_at = DeliveryStatus.SENT, clock()
            delivery.response, delivery.last_error = (response or "")[:2000], None
            sent += 1
        session.commit()
    return sent, failed


def dead_letters(session: Session, *, limit: int = 200) -> list[LinkDelivery]:
    return list(session.scalars(
        select(LinkDelivery).where(LinkDelivery.status == DeliveryStatus.DEAD)
        .order_by(LinkDelivery.id.desc()).limit(limit)))


def replay(session: Session, delivery_id: int, *, now: datetime) -> LinkDelivery:
    """Send a dead-lettered delivery again (same idempotency key), with a fresh set of tries."""
    from postal.core.errors import Conflict, NotFound

    delivery = session.get(LinkDelivery, delivery_id) if 0 < delivery_id < 2**31 else None
    if delivery is None:
        raise NotFound("không có lần gửi này")
    if delivery.status != DeliveryStatus.DEAD:
        raise Conflict("chỉ gửi lại được lần gửi đã thất bại hẳn", code="not_dead")
    delivery.status, delivery.attempts, delivery.next_attempt_at = (
        DeliveryStatus.PENDING, 0, now)
    session.flush()
    return delivery
