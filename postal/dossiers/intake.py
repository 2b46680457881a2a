"""Intake at the counter (domain.md, step 1): accept a dossier, ask for supplements, or refuse it.

Everything is checked before anything is written, so a refused input leaves no row behind.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterable
from datetime import date, datetime, time

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from postal.core import audit
from postal.core.codes import format_dossier_code
from postal.core.errors import Conflict, ValidationFailed
from postal.core.sequences import next_dossier_code, next_item_number
from postal.core.text import checked_reason, clean, fold
from postal.core.time import TZ
from postal.deadlines.calendar import WorkCalendar, due_at
from postal.dossiers.applicants import ApplicantInput, check_applicant, ward_by_code
from postal.dossiers.lifecycle import Action, State, next_state
from postal.models import (
    Applicant,
    Channel,
    Dossier,
    Event,
    Item,
    ItemKind,
    OrgUnit,
    Procedure,
    ReturnMethod,
    User,
    utcnow,
)
from postal.outbox.events import announce

# Idempotency keys live on the intake Event's client_id (unique), prefixed so they can never
# clash with the scan UUIDs stored in the same column.
KEY_PREFIX = "intake:"
_KEY = re.compile(r"[A-Za-z0-9_-]{8,56}")
MAX_FEE = 100_000_000


def procedure_for(session: Session, code: str | None) -> Procedure:
    """The active procedure with this code, or ValidationFailed on procedure_code."""
    code = clean(code)
    if not code:
        raise ValidationFailed("chọn thủ tục", field="procedure_code")
    procedure = session.scalar(select(Procedure).where(Procedure.code == code))
    if procedure is None:
        raise ValidationFailed(f"không có thủ tục mã {code!r}", field="procedure_code")
    _check_procedure(procedure)
    return procedure


def _check_procedure(procedure: Procedure | None) -> None:
    if procedure is None:
        raise ValidationFailed("chọn thủ tục", field="procedure_code")
    if not procedure.active:
        raise ValidationFailed(f"thủ tục {procedure.code} không còn áp dụng",
                               field="procedure_code")


def _enum(cls, value, field: str, default):
    if value in (None, ""):
        return default
    try:
        return cls(value)
    except ValueError:
        allowed = ", ".join(m.value for m in cls)
        raise ValidationFailed(f"{field} phải là một trong: {allowed}", field=field) from None


def check_documents(procedure: Procedure, documents: Iterable[str] | None
                    ) -> tuple[list[dict], list[str]]:
    """(checklist entries received, names of required ones missing), in checklist order.

    `documents` names entries by id or by name (accents and case ignored)."""
    checklist = procedure.documents or []
    by_id = {str(d["id"]): d for d in checklist}
    by_name = {fold(d["name"]): d for d in checklist}
    wanted = set()
    for entry in documents or []:
        text = clean(str(entry))
        doc = by_id.get(text) or by_name.get(fold(text))
        if doc is None:
            raise ValidationFailed(f"giấy tờ không có trong danh mục của thủ tục: {text!r}",
                                   field="documents")
        wanted.add(str(doc["id"]))
    received = [dict(d) for d in checklist if str(d["id"]) in wanted]
    missing = [d["name"] for d in checklist if d.get("required") and str(d["id"]) not in wanted]
    return received, missing


def _amount(fees: dict, key: str, default: int) -> int:
    value = fees.get(key, default)
    if value in (None, ""):
        return default
    try:
        amount = int(value)
    except (TypeError, ValueError):
        raise ValidationFailed("số tiền phải là số nguyên (đồng)", field=f"fees.{key}") from None
    if not 0 <= amount <= MAX_FEE or (isinstance(value, float) and value != amount):
        raise ValidationFailed("số tiền không hợp lệ", field=f"fees.{key}")
    return amount


def check_key(key: str | None) -> str | None:
    """An idempotency key (the page's UUID) or None; ValidationFailed if malformed."""
    key = clean(key)
    if not key:
        return None
    if not _KEY.fullmatch(key):
        raise ValidationFailed("Idempotency-Key: 8–56 letters, digits, - or _",
                               field="idempotency_key")
    return key


def replay(session: Session, key: str | None, unit: OrgUnit) -> Dossier | None:
    """The dossier an earlier intake at `unit` with this idempotency key produced, if any."""
    if not key:
        return None
    dossier_id = session.scalar(select(Event.dossier_id).where(Event.client_id == KEY_PREFIX + key))
    earlier = session.get(Dossier, dossier_id) if dossier_id else None
    if earlier is not None and earlier.unit_id != unit.id:  # never show another unit's dossier
        raise Conflict("Idempotency-Key already used", field="idempotency_key")
    return earlier


def _once(session: Session, key: str | None, unit: OrgUnit,
          write: Callable[[], Dossier]) -> Dossier:
    """Run `write` unless the key was seen; a concurrent twin (PostgreSQL) loses to the first."""
    earlier = replay(session, key, unit)
    if earlier is not None:
        return earlier
    if key is None:
        return write()
    try:
        with session.begin_nested():
            return write()
    except IntegrityError:
        earlier = replay(session, key, unit)
        if earlier is None:
            raise
        return earlier


def due_for(calendar: WorkCalendar, procedure: Procedure, unit: OrgUnit, accepted_at: datetime,
            default_cutoff: time | None = None) -> datetime:
    """The due moment of a procedure accepted at `accepted_at` (domain.md, Time)."""
    if procedure.processing_hours:
        return due_at(calendar, accepted_at, hours=procedure.processing_hours)
    if procedure.same_day or not procedure.processing_days:
        cutoff = procedure.cutoff or unit.same_day_cutoff or default_cutoff
        return due_at(calendar, accepted_at, days=0, cutoff=cutoff)
    return due_at(calendar, accepted_at, days=procedure.processing_days)


def _new_applicant(person: ApplicantInput) -> Applicant:
    ward = person.ward.name if person.ward else ""
    return Applicant(
        full_name=person.full_name, id_number=person.id_number, phone=person.phone,
        street=person.street or None, ward=person.ward,
        search_key=fold(f"{person.full_name} {person.street} {ward}")[:600],
    )


def _event(session: Session, dossier: Dossier, kind: str, *, user: User, unit: OrgUnit,
           at: datetime, key: str | None, item: Item | None = None, **data) -> Event:
    event = Event(kind=kind, dossier_id=dossier.id, item=item, at=at, recorded_at=at, user=user,
                  unit=unit, client_id=KEY_PREFIX + key if key else None, data=data)
    session.add(event)
    return event


def _dossier_prefix(unit: OrgUnit, day: date) -> str:
    try:
        format_dossier_code(unit.dossier_prefix, day, 1)
    except ValueError:
        raise Conflict(
            f"mã định danh {unit.dossier_prefix!r} của đơn vị không dùng được trong mã hồ sơ "
            "(chỉ chữ, số và dấu chấm): quản trị viên cần sửa mã định danh", field="unit",
        ) from None
    return unit.dossier_prefix


def accept(
    session: Session, *, clerk: User, unit: OrgUnit, procedure: Procedure, applicant: dict,
    channel: str = "counter", return_method: str = "counter", delivery: dict | None = None,
    documents: Iterable[str] = (), fees: dict | None = None, now: datetime | None = None,
    calendar: WorkCalendar, default_cutoff: time | None = None,
    idempotency_key: str | None = None,
) -> Dossier:
    """Accept a complete dossier: code, due date, fees, return method, folder item, receipt."""
    now = now or utcnow()
    day = now.astimezone(TZ).date()
    _check_procedure(procedure)
    key = check_key(idempotency_key)
    channel = _enum(Channel, channel, "channel", Channel.COUNTER)
    method = _enum(ReturnMethod, return_method, "return_method", ReturnMethod.COUNTER)
    person = check_applicant(session, applicant, strict=True, today=day)
    received, missing = check_documents(procedure, documents)
    if missing:
        raise ValidationFailed(f"thiếu giấy tờ bắt buộc: {'; '.join(missing)}", field="documents")
    street, ward = None, None
    if method == ReturnMethod.HOME:
        if not procedure.home_return:
            raise ValidationFailed(f"thủ tục {procedure.code} không trả kết quả tại nhà",
                                   field="return_method")
        delivery = delivery if isinstance(delivery, dict) else {}
        if delivery.get("ward_code") or delivery.get("street"):
            ward = ward_by_code(session, delivery.get("ward_code"),
                                field="delivery_address.ward_code")
            street = clean(delivery.get("street"))[:300]
        else:  # deliver to the applicant's own address
            street, ward = person.street, person.ward
        if not street:
            raise ValidationFailed("nhập địa chỉ nhận kết quả (số nhà, thôn, đường)",
                                   field="delivery_address.street")
    fees = fees if isinstance(fees, dict) else {}
    fee = _amount(fees, "fee", procedure.fee or 0)
    postal_fee = _amount(fees, "postal_fee", 0)
    cod_amount = _amount(fees, "cod_amount", 0)
    if method == ReturnMethod.COUNTER and (postal_fee or cod_amount):
        raise ValidationFailed("cước bưu chính chỉ thu khi trả kết quả tại nhà",
                               field="fees.postal_fee")
    prefix = _dossier_prefix(unit, day)
    state = next_state(State.NEW, Action.ACCEPT)
    due = due_for(calendar, procedure, unit, now, default_cutoff)

    def write() -> Dossier:
        code = next_dossier_code(session, unit, prefix, day)  # skips codes an import brought
        dossier = Dossier(
            code=code, token=secrets.token_urlsafe(16), unit=unit, agency_id=procedure.agency_id,
            procedure=procedure, applicant=_new_applicant(person), clerk=clerk, state=state,
            channel=channel, return_method=method, delivery_street=street, delivery_ward=ward,
            documents=received, missing_documents=[], fee=fee, postal_fee=postal_fee,
            cod_amount=cod_amount, created_at=now, received_at=now, due_at=due,
        )
        item = Item(number=next_item_number(session), dossier=dossier, kind=ItemKind.FOLDER,
                    created_at=now, holder_unit=unit, held_since=now)
        session.add_all([dossier, item])
        session.flush()
        _event(session, dossier, "accepted", user=clerk, unit=unit, at=now, key=key, item=item,
               code=code, due_at=due.isoformat(), return_method=method.value, channel=channel.value)
        session.flush()
        announce(session, dossier, "accepted")
        audit.record(session, clerk, "dossier_accept", "dossier", code,
                     procedure=procedure.code, item=item.number)
        return dossier

    return _once(session, key, unit, write)


def _not_accepted(
    session: Session, *, action: Action, kind: str, clerk: User, unit: OrgUnit,
    procedure: Procedure, applicant: dict, channel, documents, now, key, missing: list[str],
    reason: str | None,
) -> Dossier:
    now = now or utcnow()
    person = check_applicant(session, applicant, strict=False)
    channel = _enum(Channel, channel, "channel", Channel.COUNTER)
    received, _ = check_documents(procedure, documents)
    state = next_state(State.NEW, action)

    def write() -> Dossier:
        dossier = Dossier(
            code=None, token=secrets.token_urlsafe(16), unit=unit, agency_id=procedure.agency_id,
            procedure=procedure, applicant=_new_applicant(person), clerk=clerk, state=state,
            channel=channel, return_method=ReturnMethod.COUNTER, documents=received,
            missing_documents=missing, reason=reason or None, fee=0, created_at=now,
        )
        session.add(dossier)
        session.flush()
        _event(session, dossier, kind, user=clerk, unit=unit, at=now, key=key,
               missing=missing, reason=reason or None)
        session.flush()
        audit.record(session, clerk, f"dossier_{kind}", "dossier", dossier.id,
                     procedure=procedure.code, applicant=person.full_name)
        return dossier

    return _once(session, key, unit, write)


def ask_supplement(
    session: Session, *, clerk: User, unit: OrgUnit, procedure: Procedure, applicant: dict,
    channel: str = "counter", documents: Iterable[str] = (), extra_missing: Iterable[str] = (),
    reason: str | None = None, now: datetime | None = None, idempotency_key: str | None = None,
) -> Dossier:
    """Hand back an incomplete dossier with a slip listing what to add (no code, not accepted)."""
    _check_procedure(procedure)
    key = check_key(idempotency_key)
    reason = checked_reason(reason, required=False)
    _, missing = check_documents(procedure, documents)
    missing += [m for m in (clean(x) for x in extra_missing) if m and m not in missing]
    if not missing:
        raise ValidationFailed("hồ sơ đã đủ giấy tờ bắt buộc: hãy tiếp nhận, hoặc ghi rõ giấy "
                               "tờ cần bổ sung", field="documents")
    return _not_accepted(session, action=Action.ASK_SUPPLEMENT_AT_INTAKE, kind="incomplete",
                         clerk=clerk, unit=unit, procedure=procedure, applicant=applicant,
                         channel=channel, documents=documents, now=now, key=key,
                         missing=missing, reason=reason)


def refuse(
    session: Session, *, clerk: User, unit: OrgUnit, procedure: Procedure, applicant: dict,
    reason: str | None, channel: str = "counter", documents: Iterable[str] = (),
    now: datetime | None = None, idempotency_key: str | None = None,
) -> Dossier:
    """Refuse the dossier at intake, with the reason printed on the refusal slip."""
    _check_procedure(procedure)
    key = check_key(idempotency_key)
    reason = checked_reason(reason, required=True)
    return _not_accepted(session, action=Action.REFUSE_AT_INTAKE, kind="rejected", clerk=clerk,
                         unit=unit, procedure=procedure, applicant=applicant, channel=channel,
                         documents=documents, now=now, key=key, missing=[], reason=reason)
