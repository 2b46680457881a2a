"""The agency's decisions on a dossier (domain.md, step 3): result ready, supplements asked and
received, extension with an apology, stop; and the citizen's withdrawal."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from postal.core import audit
from postal.core.access import sees_unit
from postal.core.errors import Conflict, Forbidden, ValidationFailed
from postal.core.sequences import next_item_number
from postal.core.text import checked_reason, clean
from postal.core.time import TZ
from postal.deadlines.calendar import WorkCalendar, shift_for_pause, timeliness
from postal.dossiers.lifecycle import Action, next_state
from postal.models import (
    Dossier,
    Event,
    Item,
    ItemKind,
    LineStatus,
    ManifestLine,
    Role,
    Timeliness,
    User,
)
from postal.outbox.messages import notify_change

# Who may take each decision on a dossier (admins pass every role check): the one table the
# pages and the API both read.
WHO_DECIDES = {
    "result": (Role.AGENCY, Role.CLERK),
    "supplement": (Role.AGENCY,),
    "supplement-received": (Role.AGENCY, Role.CLERK),
    "extend": (Role.AGENCY,),
    "stop": (Role.AGENCY,),
    "withdraw": (Role.AGENCY, Role.CLERK),
}

# the decisions only the deciding unit takes (receiving a supplement and a withdrawal are the
# counter's too)
DECIDER_ONLY = ("result", "supplement", "extend", "stop")


def may_take(user: User, dossier: Dossier, action: str) -> bool:
    """Whether `user` may take `action` on this dossier: their role (WHO_DECIDES) and, for
    the deciding unit's own decisions, their unit. What the pages offer and the rules check."""
    if user.role != Role.ADMIN and user.role not in WHO_DECIDES[action]:
        return False
    return action not in DECIDER_ONLY or sees_unit(user, dossier.agency)


# The result travels as a registered item too: "RK" = R(egistered) K(ết quả).
RESULT_SERVICE = "RK"
# the latest appointment an extension may set, counted from today
MAX_EXTENSION = timedelta(days=366)


def check_decider(user: User, dossier: Dossier) -> None:
    """Only the deciding unit (the dossier's agency, or a unit above it) decides: a counter
    clerk records no result for another agency's dossier."""
    if not sees_unit(user, dossier.agency):
        name = dossier.agency.name if dossier.agency is not None else "cơ quan giải quyết"
        raise Forbidden(f"chỉ {name} mới ghi quyết định cho hồ sơ {dossier.code}",
                        code="not_the_deciding_unit")


def folder_problem(session: Session, dossier: Dossier) -> str | None:
    """Why a result cannot be recorded yet for want of the paper folder, or None: the folder
    must have reached the deciding unit and not be reported missing on a manifest, unless the
    agency's policy (results_without_folder) says it decides without it. A dossier with no
    folder (filed online) has nothing to wait for."""
    folder = next((i for i in dossier.items if i.kind == ItemKind.FOLDER), None)
    agency = dossier.agency
    if folder is None or agency is None or agency.results_without_folder:
        return None
    missing = session.scalar(select(ManifestLine.id).where(
        ManifestLine.item_id == folder.id, ManifestLine.status == LineStatus.MISSING))
    if missing is not None:
        return (f"túi hồ sơ {folder.number} được ghi là thiếu trên bảng kê: nhận túi hồ sơ "
                "(quét mã) trước khi ghi kết quả")
    if folder.holder_unit is None or not agency.contains(folder.holder_unit):
        return (f"túi hồ sơ {folder.number} chưa đến {agency.name}: nhận túi hồ sơ (quét mã) "
                "trước khi ghi kết quả")
    return None


def _move(session: Session, user: User, dossier: Dossier, action: Action, kind: str,
          now: datetime, *, item: Item | None = None, note: str | None = None, **data) -> Event:
    """Apply `action` through the state machine and log it as an event and an audit entry."""
    before = dossier.state
    dossier.state = next_state(before, action)
    event = Event(kind=kind, dossier_id=dossier.id, item=item, at=now, recorded_at=now,
                  user_id=user.id, unit_id=user.unit_id, note=note or None,
                  data={"from": before.value, "to": dossier.state.value, **data})
    session.add(event)
    notify_change(session, dossier, before, event=kind)
    session.flush()
    audit.record(session, user, f"dossier_{kind}", "dossier", dossier.code, **data)
    return event


def mark_result_ready(session: Session, user: User, dossier: Dossier, *, now: datetime,
                      note: str | None = None) -> Item:
    """The decision is made: the result becomes an item (S10) held where it was decided."""
    check_decider(user, dossier)
    next_state(dossier.state, Action.RESULT_READY)  # refuse before numbering anything
    if problem := folder_problem(session, dossier):
        raise Conflict(problem, code="folder_not_received")
    dossier.resolved_at = now
    dossier.timeliness = (Timeliness(timeliness(now, dossier.due_at))
                          if dossier.due_at is not None else None)
    item = Item(number=next_item_number(session, RESULT_SERVICE), dossier=dossier,
                kind=ItemKind.RESULT, created_at=now, holder_unit_id=user.unit_id, held_since=now)
    session.add(item)
    _move(session, user, dossier, Action.RESULT_READY, "result_ready", now, item=item,
          note=clean(note)[:500], result=item.number,
          timeliness=dossier.timeliness.value if dossier.timeliness else None)
    return item


def request_supplement(session: Session, user: User, dossier: Dossier, *, reason: str,
                       documents=(), now: datetime) -> Dossier:
    """Ask for more documents: the deadline clock stops until they arrive."""
    check_decider(user, dossier)
    reason = checked_reason(reason)
    docs = [d for d in (clean(x)[:300] for x in documents or ()) if d]
    next_state(dossier.state, Action.REQUEST_SUPPLEMENT)
    dossier.paused_at, dossier.resumed_at = now, None
    dossier.reason, dossier.missing_documents = reason, docs
    _move(session, user, dossier, Action.REQUEST_SUPPLEMENT, "supplement_requested", now,
          reason=reason, documents=docs)
    return dossier


def receive_supplement(session: Session, user: User, dossier: Dossier, *, now: datetime,
                       calendar: WorkCalendar, note: str | None = None) -> Dossier:
    """The documents arrived: the clock restarts and the due moment moves by the pause
    (calendar.shift_for_pause; the time already used still counts)."""
    next_state(dossier.state, Action.SUPPLEMENT_RECEIVED)
    old_due, old_appointment = dossier.due_at, dossier.appointment_at
    paused_at = dossier.paused_at or now
    if old_due is not None:
        dossier.due_at = shift_for_pause(calendar, old_due, paused_at, now)
    if old_appointment is not None:
        dossier.appointment_at = shift_for_pause(calendar, old_appointment, paused_at, now)
    dossier.resumed_at, dossier.missing_documents = now, []
    _move(session, user, dossier, Action.SUPPLEMENT_RECEIVED, "supplement_received", now,
          note=clean(note)[:500], paused_at=paused_at.isoformat(),
          old_due_at=old_due.isoformat() if old_due else None,
          new_due_at=dossier.due_at.isoformat() if dossier.due_at else None)
    return dossier


def _as_date(value: date | str | None) -> date:
    if isinstance(value, datetime):
        return value.astimezone(TZ).date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(clean(value))
    except ValueError:
        raise ValidationFailed("ngày hẹn mới không hợp lệ (YYYY-MM-DD)", field="new_date") from None


def extend(session: Session, user: User, dossier: Dossier, *, new_date: date | str, reason: str,
           now: datetime, calendar: WorkCalendar) -> Dossier:
    """A new appointment, with a letter of apology; the dossier still counts as late."""
    check_decider(user, dossier)
    reason = checked_reason(reason)
    day = _as_date(new_date)
    if day > (now + MAX_EXTENSION).astimezone(TZ).date():
        raise ValidationFailed("ngày hẹn mới quá xa: tối đa một năm kể từ hôm nay",
                               field="new_date")
    next_state(dossier.state, Action.EXTEND)
    new = datetime.combine(day, calendar.hours.close, tzinfo=TZ)
    current = dossier.appointment_at or dossier.due_at
    if current is not None and new <= current:
        raise ValidationFailed("ngày hẹn mới phải sau ngày hẹn hiện tại", field="new_date")
    if new <= now:
        raise ValidationFailed("ngày hẹn mới đã qua", field="new_date")
    if not calendar.is_working_day(day):
        raise ValidationFailed(f"ngày {day:%d/%m/%Y} không phải ngày làm việc", field="new_date")
    dossier.appointment_at = new
    _move(session, user, dossier, Action.EXTEND, "extended", now, reason=reason,
          old_appointment_at=current.isoformat() if current else None,
          new_appointment_at=new.isoformat())
    return dossier


def stop(session: Session, user: User, dossier: Dossier, *, reason: str, now: datetime
         ) -> Dossier:
    """Processing stops (Thông báo dừng giải quyết hồ sơ)."""
    check_decider(user, dossier)
    reason = checked_reason(reason)
    next_state(dossier.state, Action.STOP)
    dossier.closed_at, dossier.reason = now, reason
    _move(session, user, dossier, Action.STOP, "stopped", now, reason=reason)
    return dossier


def withdraw(session: Session, user: User, dossier: Dossier, *, reason: str | None,
             now: datetime) -> Dossier:
    """The citizen withdraws the dossier."""
    reason = checked_reason(reason, required=False) or "công dân rút hồ sơ"
    next_state(dossier.state, Action.WITHDRAW)
    dossier.closed_at, dossier.reason = now, reason
    _move(session, user, dossier, Action.WITHDRAW, "withdrawn", now, reason=reason)
    return dossier


def last_extension(session: Session, dossier: Dossier) -> Event | None:
    """The latest extension, whose reason and date the apology letter repeats."""
    return session.scalar(select(Event).where(Event.dossier_id == dossier.id,
                                              Event.kind == "extended")
                          .order_by(Event.at.desc(), Event.id.desc()).limit(1))
