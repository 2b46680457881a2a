"""At the door: out for delivery, delivered with proof, or a failed attempt with its reason.

Custody (the result item's legs, the dossier's state, the return figures) is recorded by the
same scan the phone would send (postal.custody.record_scan), so a delivery made here and
one scanned elsewhere leave the same trail; this module adds what only the door knows: who took
the result, the photo or signature, the GPS fix, the cash collected, the reason for a failure.
Each function writes inside a savepoint: when it refuses, nothing it began is left behind.

A phone that recorded the door offline sends the same proof later, perhaps twice (a lost
answer, two tabs): `record_once` stores it once under the phone's id and answers the stored
attempt to every later send.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from postal.core import audit
from postal.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from postal.core.text import clean
from postal.core.time import EARLIEST, as_utc
from postal.custody.door import REASONS, RELATIONS, recipient_problem
from postal.delivery import evidence
from postal.delivery.positions import learn_address, usable_fix
from postal.dossiers.applicants import normalise_id_number
from postal.dossiers.lifecycle import State
from postal.models import (
    OPEN_RUN_STATES,
    DeliveryAttempt,
    DeliveryRun,
    Dossier,
    Event,
    ItemKind,
    Outcome,
    ReturnMethod,
    Role,
    RunStatus,
    RunStop,
    StopStatus,
    User,
)
from postal.outbox.messages import notify

PHOTO_MAX_BYTES = 2 * 1024 * 1024  # the default of the PHOTO_MAX_BYTES setting
MAX_ATTEMPTS = 2  # the default of DELIVERY_MAX_ATTEMPTS
MAX_COD = 100_000_000
CLOCK_SKEW = timedelta(minutes=5)  # a phone's clock a little ahead is still the present
_REFUSALS = {"wrong_role": Forbidden, "wrong_unit": NotFound, "not_ready": Conflict,
             "already_delivered": Conflict, "out_of_order": Conflict,
             "counter_return": Conflict}
# who may take a result whose procedure demands an ID check at the door: the applicant, or a
# person holding the applicant's power of attorney (as at the counter)
ID_CHECK_RELATIONS = ("self", "authorised")


@dataclass
class Proof:
    """What the courier records at the door; `signature` is PNG bytes or a canvas data URL."""

    recipient_name: str
    relation: str
    photo: bytes | None = None
    signature: bytes | str | None = None
    lat: float | None = None
    lon: float | None = None
    accuracy_m: float | None = None
    at: datetime | None = None
    cod_collected: int | None = None
    note: str | None = None
    id_number: str | None = None  # the ID card shown, where the procedure demands the check


def result_item(dossier: Dossier):
    """The dossier's result item, or Conflict when the agency has not decided yet."""
    for item in dossier.items:
        if item.kind == ItemKind.RESULT:
            return item
    raise Conflict(f"hồ sơ {dossier.code} chưa có kết quả", code="not_ready")


def custody_scan(session: Session, user: User, dossier: Dossier, kind: str, at: datetime,
                 now: datetime, *, scan_id: str | None = None, **fields) -> Event:
    """Record `kind` for the dossier's result as a scan (under `scan_id`, the phone's id of
    the proof, when it has one); a refused scan raises its domain error."""
    from postal.custody import Scan, record_scan

    item = result_item(dossier)
    scan = Scan(id=scan_id or str(uuid.uuid4()), barcode=item.number, event=kind, at=at,
                item_kind="result", **fields)
    result = record_scan(session, user, scan, now)
    if result.status != "accepted":
        error = _REFUSALS.get(result.error, ValidationFailed)
        raise error(result.message or "không ghi được", code=result.error)
    return result.events[0]


def _moment(at: datetime | None, now: datetime) -> datetime:
    at = at or now
    if at.tzinfo is None:
        raise ValidationFailed("thời điểm phải có múi giờ", field="at")
    if as_utc(at) < EARLIEST:
        raise ValidationFailed("thời điểm không hợp lệ: kiểm tra đồng hồ máy", field="at")
    if as_utc(at) > now + CLOCK_SKEW:
        raise ValidationFailed("thời điểm ở tương lai: kiểm tra đồng hồ máy", field="at")
    return at


def _fix(lat, lon, accuracy) -> tuple[float | None, float | None, float | None]:
    """The GPS fix as floats, None when the phone had none; ValidationFailed when malformed."""
    if lat in (None, "") and lon in (None, ""):
        return None, None, None
    try:
        lat, lon = float(lat), float(lon)
        accuracy = None if accuracy in (None, "") else abs(float(accuracy))
    except (TypeError, ValueError):
        raise ValidationFailed("toạ độ GPS không hợp lệ", field="lat") from None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise ValidationFailed("toạ độ GPS ngoài phạm vi", field="lat")
    if not usable_fix(lat, lon):
        return None, None, None
    return lat, lon, accuracy


def open_stop(session: Session, dossier: Dossier) -> RunStop | None:
    """The dossier's stop on a run not yet finished, if it is on one."""
    return session.scalar(select(RunStop).join(DeliveryRun).where(
        RunStop.dossier_id == dossier.id, DeliveryRun.status.in_(OPEN_RUN_STATES),
        RunStop.status.in_((StopStatus.PENDING, StopStatus.OUT))))


def _courier_stop(session: Session, user: User, dossier: Dossier) -> RunStop | None:
    """The stop this courier is serving; another courier's run is not theirs to record."""
    if dossier.return_method != ReturnMethod.HOME:
        raise Conflict(f"hồ sơ {dossier.code} trả kết quả tại quầy, không giao tại nhà",
                       code="counter_return")
    stop = open_stop(session, dossier)
    if stop is not None and stop.run.courier_id != user.id and user.role != Role.ADMIN:
        raise Forbidden(f"hồ sơ {dossier.code} thuộc chuyến của bưu tá khác")
    return stop


def _close_stop(stop: RunStop | None, status: StopStatus, at: datetime) -> None:
    if stop is None:
        return
    stop.status, stop.done_at = status, at
    run = stop.run
    if all(s.status in (StopStatus.DELIVERED, StopStatus.FAILED) for s in run.stops):
        run.status, run.finished_at = RunStatus.DONE, at


def mark_out_for_delivery(session: Session, user: User, dossier: Dossier, run: DeliveryRun | None,
                          now: datetime) -> Event:
    """The courier takes the result from the centre for this run."""
    if dossier.return_method != ReturnMethod.HOME:
        raise Conflict(f"hồ sơ {dossier.code} trả kết quả tại quầy, không giao tại nhà",
                       code="counter_return")
    if run is not None and run.courier_id != user.id and user.role != Role.ADMIN:
        raise Forbidden("chỉ bưu tá của chuyến mới nhận kết quả đi giao")
    with session.begin_nested():
        event = custody_scan(session, user, dossier, "out_for_delivery", now, now,
                             data={"run": run.id} if run is not None else {})
        notify(session, dossier, "out_for_delivery")
        for stop in (run.stops if run is not None else ()):
            if stop.dossier_id == dossier.id and stop.status == StopStatus.PENDING:
                stop.status = StopStatus.OUT
        session.flush()
    return event


def _cod(value, expected: int) -> int:
    if value in (None, ""):
        return expected
    try:
        amount = int(value)
    except (TypeError, ValueError):
        raise ValidationFailed("số tiền thu hộ phải là số nguyên (đồng)",
                               field="cod_collected") from None
    if not 0 <= amount <= MAX_COD:
        raise ValidationFailed("số tiền thu hộ không hợp lệ", field="cod_collected")
    return amount


def _masked(id_number: str) -> str:
    return "•" * (len(id_number) - 4) + id_number[-4:]


def check_id(dossier: Dossier, relation: str, id_number: str | None, now: datetime
             ) -> str | None:
    """The ID number checked at the door (masked, for the record), None when the dossier's
    procedure does not ask for the check; ValidationFailed when the check fails."""
    procedure = dossier.procedure
    if procedure is None or not procedure.delivery_id_check:
        return None
    if relation not in ID_CHECK_RELATIONS:
        raise ValidationFailed("thủ tục này chỉ giao cho chính người nộp hoặc người được uỷ "
                               "quyền, sau khi kiểm tra CCCD", field="relation")
    if not clean(id_number):
        raise ValidationFailed("thủ tục này cần kiểm tra CCCD của người nhận", field="id_number")
    try:
        number = normalise_id_number(id_number, today=now.date())
    except ValidationFailed as exc:
        raise ValidationFailed(exc.message, field="id_number") from None
    own = dossier.applicant.id_number if dossier.applicant else None
    if relation == "self" and own and number != own:
        raise ValidationFailed("số CCCD không khớp với người nộp hồ sơ: nếu nhận thay, cần giấy "
                               "uỷ quyền", field="id_number")
    return _masked(number)


def record_delivery(session: Session, user: User, dossier: Dossier, proof: Proof, now: datetime,
                    *, max_photo_bytes: int = PHOTO_MAX_BYTES, client_id: str | None = None,
                    clock_skew_s: int | None = None) -> DeliveryAttempt:
    """Delivered at the door: recipient, relation, an ID check where the procedure asks for
    one, a photo or a signature, GPS and time. `client_id` and `clock_skew_s`: the phone's id
    of the proof and its clock's offset, when it comes from a phone's queue."""
    stop = _courier_stop(session, user, dossier)
    if dossier.state not in (State.OUT_FOR_DELIVERY, State.AWAITING_RETURN, State.RESULT_READY):
        raise Conflict(f"hồ sơ {dossier.code} đang ở trạng thái {dossier.state.value}: "
                       "không thể ghi đã giao", code="not_ready")
    name = clean(proof.recipient_name)
    if problem := recipient_problem(name):  # the rule every hand-over is judged by
        raise ValidationFailed(problem, field="recipient_name")
    if proof.relation not in RELATIONS:
        raise ValidationFailed("chọn quan hệ của người nhận với người nộp", field="relation")
    id_checked = check_id(dossier, proof.relation, proof.id_number, now)
    photo_type = (evidence.check_photo(proof.photo, max_photo_bytes)
                  if proof.photo is not None else None)
    signature = evidence.decode_signature(proof.signature, max_photo_bytes)
    if photo_type is None and signature is None:
        raise ValidationFailed("cần ảnh chụp hoặc chữ ký của người nhận", field="signature")
    at = _moment(proof.at, now)
    lat, lon, accuracy = _fix(proof.lat, proof.lon, proof.accuracy_m)
    cod = _cod(proof.cod_collected, dossier.cod_amount or 0)
    note = clean(proof.note)[:1000] or None
    with session.begin_nested():
        attempt = DeliveryAttempt(
            dossier_id=dossier.id, run_id=stop.run_id if stop else None, courier_id=user.id,
            outcome=Outcome.DELIVERED, at=at, recorded_at=now, lat=lat, lon=lon,
            accuracy_m=accuracy, recipient_name=name, recipient_relation=proof.relation,
            note=note, cod_expected=dossier.cod_amount or 0, cod_collected=cod,
            photo=proof.photo if photo_type else None, photo_type=photo_type,
            signature=signature, client_id=client_id, clock_skew_s=clock_skew_s)
        session.add(attempt)
        session.flush()
        details = {"attempt": attempt.id, "relation": proof.relation, "cod_collected": cod}
        if id_checked:
            details.update(id_checked=True, id_number=id_checked)
        custody_scan(session, user, dossier, "delivered", at, now, scan_id=client_id,
                     recipient=name, lat=lat, lon=lon, note=note, data=details)
        notify(session, dossier, "delivered")
        _close_stop(stop, StopStatus.DELIVERED, at)
        if lat is not None:
            learn_address(session, dossier, lat, lon)
        audit.record(session, user, "delivery_recorded", "dossier", dossier.code,
                     attempt=attempt.id, relation=proof.relation, cod_collected=cod,
                     evidence="photo" if photo_type else "signature")
        session.flush()
    return attempt


def record_failed_attempt(session: Session, user: User, dossier: Dossier, reason: str,
                          now: datetime, max_attempts: int = MAX_ATTEMPTS, *,
                          note: str | None = None, lat=None, lon=None, accuracy_m=None,
                          at: datetime | None = None, client_id: str | None = None,
                          clock_skew_s: int | None = None) -> DeliveryAttempt:
    """Not delivered, for one of REASONS; after `max_attempts` tries the result goes back to
    the counter (return at the counter from then on) and the message tells the citizen so."""
    stop = _courier_stop(session, user, dossier)
    if dossier.state not in (State.OUT_FOR_DELIVERY, State.AWAITING_RETURN, State.RESULT_READY):
        raise Conflict(f"hồ sơ {dossier.code} đang ở trạng thái {dossier.state.value}: "
                       "không thể ghi giao không thành công", code="not_ready")
    if reason not in REASONS:
        raise ValidationFailed("chọn lý do giao không thành công", field="reason")
    note = clean(note)[:1000] or None
    if reason == "other" and not note:
        raise ValidationFailed("ghi rõ lý do khác", field="note")
    at = _moment(at, now)
    lat, lon, accuracy = _fix(lat, lon, accuracy_m)
    back_to_counter = (dossier.delivery_attempts or 0) + 1 >= max(1, max_attempts)
    with session.begin_nested():
        attempt = DeliveryAttempt(
            dossier_id=dossier.id, run_id=stop.run_id if stop else None, courier_id=user.id,
            outcome=Outcome.FAILED, at=at, recorded_at=now, lat=lat, lon=lon,
            accuracy_m=accuracy, reason=reason, note=note, cod_expected=dossier.cod_amount or 0,
            client_id=client_id, clock_skew_s=clock_skew_s)
        session.add(attempt)
        session.flush()
        custody_scan(session, user, dossier, "delivery_failed", at, now, scan_id=client_id,
                     lat=lat, lon=lon, note=note, data={"attempt": attempt.id, "reason": reason})
        notify(session, dossier, "delivery_failed", reason=reason, reason_text=REASONS[reason],
               back_to_counter=back_to_counter)
        _close_stop(stop, StopStatus.FAILED, at)
        if back_to_counter:
            dossier.return_method = ReturnMethod.COUNTER
            session.add(Event(kind="returned_to_counter", dossier_id=dossier.id, at=at,
                              recorded_at=now, user_id=user.id, unit_id=user.unit_id,
                              data={"attempts": dossier.delivery_attempts,
                                    "max_attempts": max_attempts}))
        audit.record(session, user, "delivery_failed", "dossier", dossier.code,
                     attempt=attempt.id, reason=reason, back_to_counter=back_to_counter)
        session.flush()
    return attempt


def attempt_by_client_id(session: Session, client_id: str) -> DeliveryAttempt | None:
    return session.scalar(select(DeliveryAttempt).where(DeliveryAttempt.client_id == client_id))


def record_once(session: Session, user: User, client_id: str,
                record: Callable[[], DeliveryAttempt]) -> tuple[str, DeliveryAttempt]:
    """("accepted", the attempt `record` stores) the first time the phone's id arrives;
    ("duplicate", the stored attempt) on every later send, also when two sends race (the
    unique id lets one of them in; the other finds what it stored)."""
    found = attempt_by_client_id(session, client_id)
    if found is None:
        try:
            with session.begin_nested():
                return "accepted", record()
        except IntegrityError:
            found = attempt_by_client_id(session, client_id)
            if found is None:  # the id clashes with something else the phone sent
                raise Conflict("mã bằng chứng này đã được dùng", code="id_taken") from None
    if found.courier_id != user.id:
        raise Conflict("mã bằng chứng này đã được dùng cho lần giao khác", code="id_taken")
    return "duplicate", found
