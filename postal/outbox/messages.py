"""Messages to citizens through a transactional outbox: the operation that changes a dossier
queues the message its change calls for (notify, notify_change) as a row in the same
transaction, so a message exists exactly when its change was committed. The worker
(worker.py) sends the rows later, outside any request, through a sender (senders.py).
"""

from __future__ import annotations

from sqlalchemy import inspect
from sqlalchemy.orm import Session, scoped_session

from postal.core.text import money
from postal.core.time import local
from postal.models import Dossier, Notification, ReturnMethod, State
from postal.outbox.events import announce

_QUEUED = "postal.outbox.queued"
# the news that sends the citizen a message; every other change is announced to the linked
# systems only (events.EVENTS)
KINDS = ("result_ready", "out_for_delivery", "delivered", "delivery_failed")


def notify(session: Session, dossier: Dossier, kind: str, **details) -> Notification | None:
    """Add the outbox row announcing `kind`, once per dossier and kind in a transaction: a
    second call adds its details to the row already queued (a scan queues the message, the
    door page then adds the reason). None when the citizen left no phone number, or when the
    news is for the linked systems only. Either way the linked systems hear of it
    (events.announce: webhooks, the national portal, VNPost)."""
    announce(session, dossier, kind, **details)
    if kind == "delivered":
        announce(session, dossier, "returned")  # delivered home is a return too
    if kind not in KINDS:
        return None
    queued = _queued(session)
    row = queued.get((dossier.id, kind))
    if row is not None:
        state = inspect(row)
        if state.pending or state.persistent:  # not undone by a rolled-back savepoint
            if details:
                row.data = {**(row.data or {}), **details}
            return row
    row = message_for(dossier, kind, **details)
    if row is not None:
        session.add(row)
        queued[(dossier.id, kind)] = row
    return row


def notify_change(session: Session, dossier: Dossier, old: State | None, *,
                  attempts_changed: bool = False, event: str | None = None,
                  **details) -> Notification | None:
    """The message a move of `dossier` from `old` to its present state calls for, if any;
    `event` names a decision that keeps the state (an extension) for the linked systems."""
    kind = change_kind(old, dossier.state, returned_via=dossier.returned_via,
                       attempts_changed=attempts_changed)
    if kind is None and event is not None:
        kind = event
    return notify(session, dossier, kind, **details) if kind is not None else None


def _queued(session: Session) -> dict:
    """The rows this transaction has queued so far, by (dossier id, kind): kept beside the
    outermost transaction they belong to, so a new transaction starts with none."""
    if isinstance(session, scoped_session):
        session = session()
    transaction = session.get_transaction()
    held = session.info.get(_QUEUED)
    if held is None or held[0] is not transaction:
        held = (transaction, {})
        session.info[_QUEUED] = held
    return held[1]


def change_kind(old: State | None, new: State, *, returned_via, attempts_changed: bool
                ) -> str | None:
    """The news a move of a dossier from `old` to `new` makes, if any: a message to the
    citizen (KINDS) or an event for the linked systems only."""
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
    if new == State.RETURNED:
        return "returned"  # collected at the counter
    if new == State.PROCESSING and old == State.ACCEPTED:
        return "transferred"  # the folder reached the agency
    if new == State.WAITING_SUPPLEMENT:
        return "supplement_requested"
    return None


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
        cod = f" Vui lòng chuẩn bị {money(d['cod'])} tiền thu hộ." if d.get("cod") else ""
        return subject, f"Bưu tá đang giao kết quả hồ sơ {code} đến nhà ông/bà hôm nay.{cod}"
    if row.kind == "delivered":
        subject = f"Đã giao kết quả hồ sơ {code}"
        when = ""
        if d.get("returned_at"):
            when = " lúc " + local(d["returned_at"], "%H:%M %d/%m/%Y")
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
