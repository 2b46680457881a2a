"""Messages to citizens through an outbox: a row written in the same transaction as the state
change it announces, sent later, outside any request, by `postal notify-worker`.

The rows follow the dossier's state: a flush that moves a dossier through the ORM to
RESULT_READY, OUT_FOR_DELIVERY, RETURNED at home, or back from a failed attempt adds the message
(the agency's decision, ...); code that writes the state in bulk, bypassing the ORM's change
tracking (custody scans), calls notify() itself, as the door page's functions do. A sender
failure leaves the row pending with a later next_attempt_at (exponential backoff); a worker that
dies mid-send leaves it pending too, claimed only for LEASE, so nothing is ever lost (a message
may, rarely, go out twice: at-least-once, the only promise a crash allows).
"""

from __future__ import annotations

import importlib
import logging
import smtplib
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any, Protocol

from sqlalchemy import event, inspect, select, update
from sqlalchemy.orm import Session

from postal.domain.calendar import TZ
from postal.domain.lifecycle import State
from postal.models import Dossier, Notification, NotificationStatus, ReturnMethod

logger = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)  # how long a claimed row waits before another worker may retry it
BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_MAX = timedelta(hours=6)  # never given up: a message waits at most this between tries
_ENQUEUED = "postal.notify.enqueued"
KINDS = ("result_ready", "out_for_delivery", "delivered", "delivery_failed")


def notify(session: Session, dossier: Dossier, kind: str, **details) -> Notification | None:
    """Add the outbox row announcing `kind`, once per dossier and kind in a transaction: a
    second call adds its details to the row already queued (a scan queues the message, the
    door page then adds the reason). None when the citizen left no phone number."""
    enqueued = session.info.setdefault(_ENQUEUED, {})
    queued = enqueued.get((dossier.id, kind))
    if queued is not None:
        if details:
            queued.data = {**(queued.data or {}), **details}
        return queued
    row = message_for(dossier, kind, **details)
    if row is not None:
        session.add(row)
        enqueued[(dossier.id, kind)] = row
    return row


def change_kind(old: State | None, new: State, *, returned_via, attempts_changed: bool
                ) -> str | None:
    """The message a move of a dossier from `old` to `new` calls for, if any."""
    if new == State.AWAITING_RETURN and attempts_changed:
        return "delivery_failed"  # a failed attempt, also without an out-for-delivery scan
    if new == old:
        return None
    if new == State.RESULT_READY:
        return "result_ready"
    if new == State.OUT_FOR_DELIVERY:
        return "out_for_delivery"
    if new == State.RETURNED and returned_via == ReturnMethod.HOME:
        return "delivered"
    if new == State.AWAITING_RETURN and old == State.OUT_FOR_DELIVERY:
        return "delivery_failed"
    return None


def _kind(dossier: Dossier) -> str | None:
    """The message a dossier's pending change through the ORM calls for, if any."""
    history = inspect(dossier).attrs.state.history
    if not history.added:
        return None
    old = history.deleted[0] if history.deleted else None
    return change_kind(old, history.added[0], returned_via=dossier.returned_via,
                       attempts_changed=bool(inspect(dossier).attrs.delivery_attempts
                                             .history.added))


def message_for(dossier: Dossier, kind: str, **details) -> Notification | None:
    """The outbox row announcing `kind`, or None when the citizen left no phone number."""
    applicant = dossier.applicant
    phone = (applicant.phone or "").strip() if applicant is not None else ""
    if not phone:
        return None
    unit = dossier.unit
    data = {
        "code": dossier.code, "name": applicant.full_name,
        "return_method": getattr(dossier.return_method, "value", dossier.return_method),
        "unit": unit.name if unit is not None else "",
        "unit_address": (unit.address or "") if unit is not None else "",
        "cod": dossier.cod_amount or 0, "recipient": dossier.collected_by,
        "returned_at": dossier.returned_at.isoformat() if dossier.returned_at else None,
        **details,
    }
    return Notification(dossier_id=dossier.id, kind=kind, recipient=phone, data=data)


@event.listens_for(Session, "before_flush")
def _outbox(session: Session, _context, _instances) -> None:
    """Messages for the dossiers whose state this flush changes through the ORM (a decision at
    the agency, ...); changes written in bulk (custody scans) call notify() themselves."""
    for obj in list(session.dirty):
        if isinstance(obj, Dossier) and obj.id is not None:
            kind = _kind(obj)
            if kind is not None:
                notify(session, obj, kind)


@event.listens_for(Session, "after_soft_rollback")
def _forget(session: Session, *_args) -> None:
    # after any rollback, even a savepoint's, a message may be written again: a duplicate is
    # better than a message lost
    session.info.pop(_ENQUEUED, None)


@event.listens_for(Session, "after_transaction_end")
def _forget_at_the_end(session: Session, transaction) -> None:
    # not at a savepoint's release (after_commit fires there too): the rows queued inside it
    # are still this transaction's, and a later notify() must find them
    if transaction.parent is None:
        session.info.pop(_ENQUEUED, None)


# -- the words ---------------------------------------------------------------------------------

def _money(amount: int) -> str:
    return f"{amount:,}".replace(",", ".") + " đ"


def compose(row: Notification, rating_url: str | None = None) -> tuple[str, str]:
    """Subject and text of a message (short: it usually goes out as an SMS)."""
    d = row.data or {}
    code, unit = d.get("code"), d.get("unit") or "Trung tâm Phục vụ hành chính công"
    where = f"{unit}" + (f", {d['unit_address']}" if d.get("unit_address") else "")
    if row.kind == "result_ready":
        subject = f"Hồ sơ {code} đã có kết quả"
        tail = ("Kết quả sẽ được bưu điện giao tận nhà." if d.get("return_method") == "home"
                else f"Mời ông/bà mang giấy tờ tùy thân đến nhận tại {where}.")
        return subject, f"{subject}. {tail}"
    if row.kind == "out_for_delivery":
        subject = f"Kết quả hồ sơ {code} đang được giao"
        cod = f" Vui lòng chuẩn bị {_money(d['cod'])} tiền thu hộ." if d.get("cod") else ""
        return subject, f"Bưu tá đang giao kết quả hồ sơ {code} đến nhà ông/bà hôm nay.{cod}"
    if row.kind == "delivered":
        subject = f"Đã giao kết quả hồ sơ {code}"
        when = ""
        if d.get("returned_at"):
            when = " lúc " + datetime.fromisoformat(d["returned_at"]).astimezone(TZ).strftime(
                "%H:%M %d/%m/%Y")
        text = f"Kết quả hồ sơ {code} đã giao cho {d.get('recipient') or 'người nhận'}{when}."
        if rating_url:
            text += f" Mời ông/bà đánh giá dịch vụ: {rating_url}"
        return subject, text
    if row.kind == "delivery_failed":
        subject = f"Chưa giao được kết quả hồ sơ {code}"
        reason = f" ({d['reason_text']})" if d.get("reason_text") else ""
        tail = (f" Mời ông/bà đến nhận tại {where}." if d.get("back_to_counter")
                else " Bưu tá sẽ giao lại trong lần sau.")
        return subject, f"Bưu tá chưa giao được kết quả hồ sơ {code}{reason}.{tail}"
    return f"Hồ sơ {code}", f"Hồ sơ {code}: {row.kind}"


# -- senders -----------------------------------------------------------------------------------

class Sender(Protocol):
    """Anything that delivers one message or raises."""

    def send(self, to: str, subject: str, body: str) -> None: ...


class LogSender:
    """The default: each message goes to the Python log (for a pilot without a gateway)."""

    def send(self, to: str, subject: str, body: str) -> None:
        logger.info("notify %s: %s", to, body)


class SmtpSender:
    """E-mail through an SMTP server; `to_template` maps the recipient (a phone number) to an
    address, e.g. "{recipient}@sms.example.vn" for an e-mail-to-SMS gateway."""

    def __init__(self, host: str, port: int = 25, from_addr: str = "postal@localhost",
                 to_template: str = "{recipient}@localhost", timeout: float = 10.0,
                 starttls: bool = False, username: str = "", password: str = ""):
        if not host:
            raise ValueError("NOTIFY_SENDER='smtp' needs SMTP_HOST")
        self.host, self.port, self.from_addr = host, int(port), from_addr
        self.to_template, self.timeout, self.starttls = to_template, timeout, starttls
        self.username, self.password = username, password

    def send(self, to: str, subject: str, body: str) -> None:
        message = EmailMessage()
        message["From"] = self.from_addr
        message["To"] = self.to_template.format(recipient=to)
        message["Subject"] = subject
        message.set_content(body)
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            if self.starttls:
                smtp.starttls()
            if self.username:
                smtp.login(self.username, self.password)
            smtp.send_message(message)


def build_sender(config: Mapping[str, Any]) -> Sender:
    """NOTIFY_SENDER: "log", "smtp", or "package.module:factory" (called with the config)."""
    kind = str(config.get("NOTIFY_SENDER") or "log")
    if kind == "log":
        return LogSender()
    if kind == "smtp":
        return SmtpSender(config.get("SMTP_HOST", ""), config.get("SMTP_PORT", 25),
                          config.get("SMTP_FROM", "postal@localhost"),
                          config.get("SMTP_TO", "{recipient}@localhost"),
                          float(config.get("SMTP_TIMEOUT", 10)),
                          bool(config.get("SMTP_STARTTLS", False)),
                          config.get("SMTP_USERNAME", ""), config.get("SMTP_PASSWORD", ""))
    module, _, attr = kind.partition(":")
    if not attr:
        raise ValueError(f"NOTIFY_SENDER must be 'log', 'smtp' or 'module:factory', not {kind!r}")
    return getattr(importlib.import_module(module), attr)(config)


# -- sending -----------------------------------------------------------------------------------

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
             rating_url: Callable[[int], str | None] | None = None) -> tuple[int, int]:
    """Send what is due, committing after each message; returns (sent, failed)."""
    sent = failed = 0
    for row_id in claim(session, clock(), batch=batch, lease=lease):
        row = session.get(Notification, row_id)
        url = rating_url(row.dossier_id) if rating_url and row.kind == "delivered" else None
        subject, body = compose(row, url)
        try:
            sender.send(row.recipient, subject, body)
        except Exception as exc:  # any failure of the channel: try again later
            row.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            row.next_attempt_at = clock() + backoff(row.attempts)
            failed += 1
            logger.warning("notification %s failed (try %s): %s", row.id, row.attempts,
                           row.last_error)
        else:
            row.status, row.sent_at, row.body, row.last_error = (
                NotificationStatus.SENT, clock(), body, None)
            sent += 1
        session.commit()
    return sent, failed
