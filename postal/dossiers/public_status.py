"""What a citizen may learn of a dossier without logging in: stage and dates, nothing personal.

Found by the receipt's QR token, or by the dossier code plus the last four digits of the
applicant's phone. Every failed lookup raises the same NotFound, whatever did not match, so the
answer never tells a guesser that a code exists.
"""

from __future__ import annotations

import hmac
import re
from datetime import date, datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, joinedload

from postal.core.errors import NotFound, ValidationFailed
from postal.core.text import clean
from postal.core.time import TZ
from postal.dossiers.lifecycle import State
from postal.models import DeliveryRun, Dossier, Event, Item, ReturnMethod, RunStatus, RunStop


def _(text: str) -> str:
    """Marks text for the translation catalogue; it is translated where it is shown."""
    return text


# Human words for each stage, as the citizen should read them (State -> text).
STAGE_WORDS: dict[State, str] = {
    State.NEW: _("Đang tiếp nhận"),
    State.INCOMPLETE: _("Hồ sơ chưa đầy đủ: cần bổ sung giấy tờ rồi nộp lại"),
    State.REJECTED: _("Hồ sơ không được tiếp nhận"),
    State.ACCEPTED: _("Đã tiếp nhận, đang chuyển đến cơ quan giải quyết"),
    State.PROCESSING: _("Cơ quan chuyên môn đang giải quyết"),
    State.WAITING_SUPPLEMENT: _("Cần bổ sung giấy tờ: thời hạn giải quyết tạm dừng"),
    State.RESULT_READY: _("Đã có kết quả, đang chuyển về nơi trả"),
    State.AWAITING_RETURN: _("Kết quả đã về, chờ trả"),
    State.OUT_FOR_DELIVERY: _("Bưu tá đang phát kết quả đến địa chỉ đã đăng ký"),
    State.RETURNED: _("Đã trả kết quả"),
    State.WITHDRAWN: _("Hồ sơ đã được rút"),
    State.REFUSED: _("Dừng giải quyết hồ sơ"),
}
# How far along the usual path a stage is (for the page's progress steps); 0 = off the path.
STEP_OF: dict[State, int] = {
    State.ACCEPTED: 1, State.PROCESSING: 2, State.WAITING_SUPPLEMENT: 2, State.RESULT_READY: 3,
    State.AWAITING_RETURN: 3, State.OUT_FOR_DELIVERY: 4, State.RETURNED: 5,
}
_TOKEN = re.compile(r"[A-Za-z0-9_-]{8,64}")
_CODE = re.compile(r"[A-Za-z0-9.\-]{3,60}")
NOT_FOUND = _("Không tìm thấy hồ sơ: kiểm tra lại mã hồ sơ và 4 số cuối điện thoại.")


def _no_match() -> NotFound:
    return NotFound(NOT_FOUND)


def parse_query(*, token=None, code=None, phone_last4=None) -> dict:
    """Checked lookup keys: either a token, or a code with four phone digits (422 otherwise)."""
    token, code = clean(token), clean(code)
    digits = clean(phone_last4)
    if token:
        if not _TOKEN.fullmatch(token):
            raise ValidationFailed(_("mã QR không hợp lệ"), field="token")
        return {"token": token}
    if not code:
        raise ValidationFailed(_("nhập mã hồ sơ (hoặc quét mã QR trên giấy hẹn)"), field="code")
    if not _CODE.fullmatch(code):
        raise ValidationFailed(_("mã hồ sơ không hợp lệ"), field="code")
    if not re.fullmatch(r"\d{4}", digits):
        raise ValidationFailed(_("nhập đúng 4 số cuối của số điện thoại"), field="phone_last4")
    return {"code": code, "phone_last4": digits}


def find_dossier(session: Session, *, token=None, code=None, phone_last4=None) -> Dossier:
    """The dossier the keys open, or the one generic NotFound."""
    keys = parse_query(token=token, code=code, phone_last4=phone_last4)
    stmt = select(Dossier).options(joinedload(Dossier.applicant), joinedload(Dossier.unit))
    if "token" in keys:
        dossier = session.scalar(stmt.where(Dossier.token == keys["token"]))
        if dossier is None:
            raise _no_match()
        return dossier
    # codes are printed upper-case; accept what a phone keyboard typed in lower case
    wanted = {keys["code"], keys["code"].upper()}
    dossier = session.scalar(stmt.where(Dossier.code.in_(wanted)))
    phone = re.sub(r"\D", "", (dossier.applicant.phone or "") if dossier else "")
    # compared in constant time, and compared even when there is no dossier
    matches = hmac.compare_digest((phone[-4:] if len(phone) >= 4 else "----").encode(),
                                  keys["phone_last4"].encode())
    if dossier is None or not matches:
        raise _no_match()
    return dossier


def _local_date(moment: datetime | None) -> date | None:
    return moment.astimezone(TZ).date() if moment is not None else None


def delivery_day(session: Session, dossier: Dossier) -> date | None:
    """The local day of home delivery: the day of the latest delivery run holding the dossier
    (planned or under way); without one, the day of its latest out_for_delivery scan."""
    day = session.scalar(
        select(DeliveryRun.day).join(RunStop, RunStop.run_id == DeliveryRun.id)
        .where(RunStop.dossier_id == dossier.id, DeliveryRun.status != RunStatus.CANCELLED)
        .order_by(DeliveryRun.day.desc(), DeliveryRun.id.desc()).limit(1)
    )
    if day is not None:
        return day
    item_ids = select(Item.id).where(Item.dossier_id == dossier.id).scalar_subquery()
    moment = session.scalar(
        select(Event.at)
        .where(Event.kind == "out_for_delivery",
               or_(Event.dossier_id == dossier.id, Event.item_id.in_(item_ids)))
        .order_by(Event.at.desc()).limit(1)
    )
    return _local_date(moment)


def status_of(session: Session, dossier: Dossier) -> dict:
    """The public view of a dossier: stage, dates and return method; no name, address or phone."""
    home = dossier.return_method == ReturnMethod.HOME
    # the delivery day is shown once the result left for the door (or was delivered)
    shown_delivery = home and dossier.state in (State.RESULT_READY, State.AWAITING_RETURN,
                                                State.OUT_FOR_DELIVERY, State.RETURNED)
    return {
        "code": dossier.code,
        "stage": dossier.state.value,
        "stage_text": STAGE_WORDS[dossier.state],
        "step": STEP_OF.get(dossier.state, 0),
        "received_on": _local_date(dossier.received_at),
        "due_at": dossier.due_at,
        "appointment_at": dossier.appointment_at,
        "return_method": dossier.return_method.value,
        "return_place": dossier.unit.name if not home else None,
        "delivery_day": delivery_day(session, dossier) if shown_delivery else None,
        "delivery_attempts": dossier.delivery_attempts if home else 0,
        "returned_on": _local_date(dossier.returned_at),
    }


def lookup(session: Session, *, token=None, code=None, phone_last4=None) -> dict:
    """find_dossier then status_of: what the page and GET /api/v1/public/status both show."""
    return status_of(session, find_dossier(session, token=token, code=code,
                                           phone_last4=phone_last4))
