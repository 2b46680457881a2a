"""Returning a result at the counter: find the dossier, check who collects it, hand it over."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, joinedload

from postal.core import audit
from postal.core.access import scope_dossiers
from postal.core.codes import classify_barcode
from postal.core.errors import Conflict, ValidationFailed
from postal.core.text import clean, fold
from postal.delivery.proof import custody_scan, open_stop
from postal.dossiers.applicants import normalise_id_number
from postal.dossiers.lifecycle import State
from postal.models import Applicant, Dossier, Event, Item, StopStatus, User

RETURNABLE = (State.RESULT_READY, State.AWAITING_RETURN)
SEARCH_LIMIT = 50


def search_returns(session: Session, user: User, q: str | None, *,
                   limit: int = SEARCH_LIMIT) -> list[Dossier]:
    """Dossiers matching a scanned code (dossier or item), an ID or phone number, or part of
    the citizen's name (accent-insensitive); those ready to return first, newest first."""
    text = clean(q)
    if not text:
        return []
    query = select(Dossier).join(Applicant, Dossier.applicant_id == Applicant.id)
    kind = classify_barcode(text.upper()) or classify_barcode(text)
    digits = re.sub(r"[\s.]", "", text)
    if kind == "s10":
        query = query.join(Item, Item.dossier_id == Dossier.id).where(Item.number == text.upper())
    elif kind == "dossier":
        query = query.where(Dossier.code == text)
    elif digits.isdigit() and len(digits) >= 9:
        query = query.where(or_(Applicant.id_number == digits, Applicant.phone == digits))
    else:
        words = fold(text).split()
        if len("".join(words)) < 2:
            return []
        for word in words:  # each word starts a word of the name or address
            query = query.where(or_(Applicant.search_key.startswith(word, autoescape=True),
                                    Applicant.search_key.contains(" " + word, autoescape=True)))
    query = scope_dossiers(query.where(Dossier.code.is_not(None)), user)
    found = session.scalars(query.options(joinedload(Dossier.applicant))
                            .order_by(Dossier.resolved_at.desc().nulls_last(), Dossier.id.desc())
                            .limit(limit * 4)).unique().all()
    found.sort(key=lambda d: d.state not in RETURNABLE)  # stable: keeps newest first
    return found[:limit]


def _masked(id_number: str) -> str:
    return "•" * (len(id_number) - 4) + id_number[-4:]


def return_at_counter(session: Session, user: User, dossier: Dossier, collected_by: str,
                      id_number: str, now: datetime, *, authorised: bool = False) -> Event:
    """Hand the result over at the counter once the collector's ID is checked: the applicant's
    own ID, or another person's with a power of attorney (`authorised`)."""
    if dossier.state == State.OUT_FOR_DELIVERY:
        raise Conflict(f"kết quả hồ sơ {dossier.code} đang được bưu tá giao tại nhà",
                       code="out_for_delivery")
    if dossier.state not in RETURNABLE:
        raise Conflict(f"hồ sơ {dossier.code} đang ở trạng thái {dossier.state.value}: "
                       "không có kết quả để trả", code="not_ready")
    name = clean(collected_by)
    if not name or len(name) > 200:
        raise ValidationFailed("nhập họ tên người nhận kết quả", field="collected_by")
    number = normalise_id_number(id_number, today=now.date())
    own = dossier.applicant.id_number
    if own and number != own and not authorised:
        raise ValidationFailed("số CCCD không khớp với người nộp hồ sơ: nếu nhận thay, cần giấy "
                               "uỷ quyền", field="id_number")
    with session.begin_nested():
        stop = open_stop(session, dossier)
        if stop is not None and stop.status == StopStatus.PENDING:
            stop.run.stops.remove(stop)  # planned for delivery, collected first: off the run
        event = custody_scan(session, user, dossier, "collected", now, now, recipient=name,
                             data={"id_checked": True, "id_number": _masked(number),
                                   "authorised": bool(authorised and number != own)})
        audit.record(session, user, "returned_at_counter", "dossier", dossier.code,
                     collected_by=name, authorised=bool(authorised and number != own))
        session.flush()
    return event
