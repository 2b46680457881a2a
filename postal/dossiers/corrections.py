"""Corrections of a dossier's recorded moments or timeliness class: new history, never a rewrite.

A correction changes the dossier's column (the report in metrics.py counts from the columns, so
the corrected figure follows at once, and closed months show it as an adjustment, closing.py)
AND appends an Event of kind "correction" keeping the old and the new value, with the reason
and the author, plus an audit entry "dossier_correction". The old value is never lost.

Correctable columns (CORRECTABLE): `received_at`, `due_at`, `resolved_at`, `returned_at`,
`closed_at` (aware datetimes) and `timeliness` ("early" | "on_time" | "late"). Only a value that
was recorded can be corrected (a correction does not resolve or return a dossier: that is the
lifecycle's job). Correcting `resolved_at` or `due_at` of a resolved dossier re-derives its
`timeliness` (calendar.timeliness), recorded in the same event.

The event, for readers of the history (reports, the control sheet, the audit page):
    Event.kind = "correction", Event.at = Event.recorded_at = when it was recorded,
    Event.user_id = the author, Event.unit_id = the author's unit, Event.note = the reason,
    Event.data = {
        "field": "resolved_at",                      # the column asked for
        "reason": "…",
        "changes": {                                 # every column changed, the asked one first
            "resolved_at": {"old": "2025-03-05T10:00:01+00:00",
                            "new": "2025-03-05T09:55:00+00:00"},
            "timeliness": {"old": "late", "new": "on_time"},
        },
    }
Times in `changes` are ISO 8601 in UTC (None when the column was empty); classes are strings.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from postal.core import audit
from postal.core.access import sees_unit
from postal.core.errors import Conflict, Forbidden, ValidationFailed
from postal.core.text import checked_reason, clean
from postal.core.time import local, parse_moment
from postal.deadlines.calendar import timeliness as classify
from postal.models import Dossier, Event, Role, Timeliness, User

KIND = "correction"
MOMENTS = ("received_at", "due_at", "resolved_at", "returned_at", "closed_at")
CORRECTABLE = (*MOMENTS, "timeliness")
# these cannot lie in the future: they record what already happened
PAST_ONLY = ("received_at", "resolved_at", "returned_at", "closed_at")
# recorded moments that must come in this order when both are set
ORDER = (("received_at", "resolved_at"), ("resolved_at", "returned_at"),
         ("received_at", "returned_at"), ("received_at", "closed_at"))
# a corrected moment lies in this window: before it is a typo, not history
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST_AHEAD = timedelta(days=3 * 366)  # due moments may lie ahead, not further than this
ALLOWED_ROLES = (Role.MANAGER, Role.ADMIN)
# the columns' names on paper (the pages translate their own)
FIELD_NAMES = {"received_at": "Thời điểm tiếp nhận", "due_at": "Hạn trả kết quả",
               "resolved_at": "Thời điểm có kết quả", "returned_at": "Thời điểm trả kết quả",
               "closed_at": "Thời điểm kết thúc", "timeliness": "Phân loại đúng hạn"}
CLASS_NAMES = {"early": "trước hạn", "on_time": "đúng hạn", "late": "quá hạn"}


def _plain(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    return getattr(value, "value", value)


def shown(field: str, value: str | None) -> str:
    """A value of `changes` as people read it: local time, or the class in words."""
    if value is None:
        return "—"
    if field == "timeliness":
        return CLASS_NAMES.get(value, value)
    return local(value, "%H:%M %d/%m/%Y")


def describe(changes: dict) -> str:
    """'Thời điểm có kết quả: 17:01 05/03/2025 → 16:30 05/03/2025; …' for papers."""
    return "; ".join(f"{FIELD_NAMES.get(name, name)}: {shown(name, c.get('old'))} → "
                     f"{shown(name, c.get('new'))}" for name, c in changes.items())


def _value(field: str, raw, now: datetime):
    if field == "timeliness":
        try:
            return Timeliness(clean(getattr(raw, "value", raw)))
        except ValueError:
            raise ValidationFailed("phân loại phải là early, on_time hoặc late",
                                   field="new_value") from None
    try:
        moment = parse_moment(raw)
    except (TypeError, ValueError):
        moment = None
    if moment is None:
        raise ValidationFailed("thời điểm không hợp lệ (ISO 8601, ví dụ 2025-03-05T09:30+07:00)",
                               field="new_value")
    if field in PAST_ONLY and moment > now:
        raise ValidationFailed("thời điểm này chưa xảy ra", field="new_value")
    if not EARLIEST <= moment <= now + LATEST_AHEAD:
        raise ValidationFailed("thời điểm nằm ngoài khoảng hợp lý (từ năm 2000 đến ba năm tới)",
                               field="new_value")
    return moment


def record_correction(session: Session, user: User, dossier: Dossier, field: str, new_value,
                      reason: str, now: datetime) -> Event:
    """Correct one recorded column of `dossier`; returns the "correction" event (see above)."""
    if user.role not in ALLOWED_ROLES:
        raise Forbidden("chỉ quản lý được điều chỉnh số liệu hồ sơ")
    if not sees_unit(user, dossier.unit):
        raise Forbidden("hồ sơ không thuộc đơn vị của bạn")
    if field not in CORRECTABLE:
        raise ValidationFailed(f"không điều chỉnh được trường {field!r}; chỉ: "
                               f"{', '.join(CORRECTABLE)}", field="field")
    reason = checked_reason(reason)
    value = _value(field, new_value, now)
    # the values read below are the ones recorded as "old": nobody may change them meanwhile
    # (PostgreSQL: a row lock; SQLite: a writing request already holds the database's lock)
    session.refresh(dossier, with_for_update=True)
    old = getattr(dossier, field)
    if old is None:
        raise Conflict(f"hồ sơ chưa có {field} để điều chỉnh")
    if field == "timeliness" and dossier.resolved_at is None:
        raise Conflict("hồ sơ chưa có kết quả nên chưa được phân loại")
    if value == old:
        raise ValidationFailed("giá trị mới trùng giá trị đang ghi", field="new_value")

    changes = {field: {"old": _plain(old), "new": _plain(value)}}
    after = {f: getattr(dossier, f) for f in MOMENTS} | {field: value}
    for first, second in ORDER:
        if after[first] is not None and after[second] is not None and after[second] < after[first]:
            raise ValidationFailed(f"{second} không thể trước {first}", field="new_value")
    derived = None
    if field in ("resolved_at", "due_at") and after["resolved_at"] and after["due_at"]:
        derived = Timeliness(classify(after["resolved_at"], after["due_at"]))
        if derived != dossier.timeliness:
            changes["timeliness"] = {"old": _plain(dossier.timeliness), "new": derived.value}

    setattr(dossier, field, value)
    if "timeliness" in changes and field != "timeliness":
        dossier.timeliness = derived
    event = Event(kind=KIND, dossier_id=dossier.id, at=now, recorded_at=now, user_id=user.id,
                  unit_id=user.unit_id, note=reason,
                  data={"field": field, "reason": reason, "changes": changes})
    session.add(event)
    session.flush()
    audit.record(session, user, "dossier_correction", "dossier", dossier.code or dossier.id,
                 field=field, reason=reason, changes=changes, event_id=event.id)
    return event


def corrections_of(session: Session, dossier: Dossier) -> list[Event]:
    """The dossier's corrections, oldest first."""
    return list(session.scalars(select(Event).where(Event.dossier_id == dossier.id,
                                                    Event.kind == KIND)
                                .options(joinedload(Event.user))
                                .order_by(Event.at, Event.id)))
