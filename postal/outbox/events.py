"""Events for other systems (webhooks, the national portal, VNPost): the operation that changes
a dossier announces the change with `announce`, which adds a LinkEvent row to the same
transaction; the worker (links.py) fans it out to the receivers that want it and sends it.
"""

from __future__ import annotations

import uuid

from sqlalchemy import inspect, select
from sqlalchemy.orm import Session, scoped_session

from postal.models import Dossier, LinkEvent, WebhookSubscriber, utcnow

_ANNOUNCED = "postal.outbox.announced"
_WANTED = "postal.outbox.wanted"
# The links the settings switch on (create_app calls `switch_on`): with none of them and no
# subscriber for an event, nothing is queued for it (a phone syncing 500 scans writes no
# events that nobody will ever read).
_SWITCHED_ON = {"portal": False, "vnpost": False}


def switch_on(*, portal: bool, vnpost: bool) -> None:
    _SWITCHED_ON.update(portal=portal, vnpost=vnpost)


def _wanted(session: Session, name: str) -> bool:
    """Whether some receiver may want the event `name`: the portal (every event), VNPost (a
    result ready), or an active subscriber that asked for it (read once a transaction)."""
    if _SWITCHED_ON["portal"] or (_SWITCHED_ON["vnpost"] and name == "dossier.result_ready"):
        return True
    if isinstance(session, scoped_session):
        session = session()
    transaction = session.get_transaction()
    held = session.info.get(_WANTED)
    if held is None or held[0] is not transaction:
        names = set()
        for events in session.scalars(select(WebhookSubscriber.events)
                                      .where(WebhookSubscriber.active.is_(True))):
            names.update(events or ())
        held = (transaction, names)
        session.info[_WANTED] = held
    return name in held[1]

# the public event names (shared/interfaces.md); the short name is what the operations say
EVENTS = {
    "accepted": "dossier.accepted",
    "transferred": "dossier.transferred",
    "result_ready": "dossier.result_ready",
    "supplement_requested": "dossier.supplement_requested",
    "extended": "dossier.extended",
    "out_for_delivery": "dossier.out_for_delivery",
    "delivered": "dossier.delivered",
    "delivery_failed": "dossier.delivery_failed",
    "returned": "dossier.returned",
    "rated": "dossier.rated",
}
EVENT_NAMES = tuple(EVENTS.values())


def _value(v):
    return getattr(v, "value", v)


def _when(v):
    return v.isoformat() if v is not None else None


def dossier_view(dossier: Dossier) -> dict:
    """What an event says of its dossier: status and dates, no personal data."""
    procedure, unit, agency = dossier.procedure, dossier.unit, dossier.agency
    return {
        "code": dossier.code, "status": _value(dossier.state),
        "unit_code": unit.code if unit is not None else None,
        "agency_code": agency.code if agency is not None else None,
        "procedure_code": procedure.code if procedure is not None else None,
        "channel": _value(dossier.channel), "return_method": _value(dossier.return_method),
        "received_at": _when(dossier.received_at), "due_at": _when(dossier.due_at),
        "appointment_at": _when(dossier.appointment_at),
        "resolved_at": _when(dossier.resolved_at), "returned_at": _when(dossier.returned_at),
        "returned_via": _value(dossier.returned_via),
        "delivery_attempts": dossier.delivery_attempts or 0, "rating": dossier.rating,
    }


def announce(session: Session, dossier: Dossier, event: str, **details) -> LinkEvent | None:
    """Queue the event `event` (a short name of EVENTS) for `dossier`, once per dossier and
    event in a transaction: a second call adds its details to the row already queued."""
    name = EVENTS.get(event)
    if name is None or dossier.code is None or not _wanted(session, name):
        return None
    if dossier.id is None:
        session.flush()
    held = _announced(session)
    row = held.get((dossier.id, name))
    if row is not None:
        state = inspect(row)
        if state.pending or state.persistent:  # not undone by a rolled-back savepoint
            row.payload = {**row.payload, "dossier": dossier_view(dossier),
                           "details": {**row.payload.get("details", {}), **details}}
            return row
    key, now = str(uuid.uuid4()), utcnow()
    row = LinkEvent(key=key, event=name, dossier_id=dossier.id, occurred_at=now,
                    fanned_out=False,
                    payload={"id": key, "event": name, "occurred_at": now.isoformat(),
                             "dossier": dossier_view(dossier), "details": details})
    session.add(row)
    held[(dossier.id, name)] = row
    return row


def _announced(session: Session) -> dict:
    """The events this transaction has queued so far, kept beside the outermost transaction."""
    if isinstance(session, scoped_session):
        session = session()
    transaction = session.get_transaction()
    held = session.info.get(_ANNOUNCED)
    if held is None or held[0] is not transaction:
        held = (transaction, {})
        session.info[_ANNOUNCED] = held
    return held[1]
