"""National portal sync (Cổng Dịch vụ công quốc gia, DVCQG): a dossier mapped to the portal's
sync record and pushed to PORTAL_SYNC_URL after each change. The status mapping is data
(PORTAL_STATUSES); dates are yyyyMMddHHmmss in local time (Asia/Ho_Chi_Minh)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from postal.core.time import TZ
from postal.models import Dossier, Event, ReturnMethod, State
from postal.outbox.wire import LinkFailure, post_json

# our state -> TrangThaiHoSo (the portal's codes: 2 được tiếp nhận, 3 không được tiếp nhận,
# 4 đang xử lý, 5 yêu cầu bổ sung, 7 công dân rút hồ sơ, 8 dừng xử lý, 9 đã xử lý xong,
# 10 đã trả kết quả); PORTAL_STATUSES overrides any of them
STATUSES: dict[str, str] = {
    State.INCOMPLETE.value: "5", State.REJECTED.value: "3", State.ACCEPTED.value: "2",
    State.PROCESSING.value: "4", State.WAITING_SUPPLEMENT.value: "5",
    State.RESULT_READY.value: "9", State.AWAITING_RETURN.value: "9",
    State.OUT_FOR_DELIVERY.value: "9", State.RETURNED.value: "10",
    State.WITHDRAWN.value: "7", State.REFUSED.value: "8",
}
FIELDS = ("MaHoSo", "MaTTHC", "TenTTHC", "MaLinhVuc", "ChuHoSo", "LoaiDoiTuong", "TrichYeuHoSo",
          "NgayTiepNhan", "NgayHenTra", "TrangThaiHoSo", "NgayTra", "HinhThuc", "DonViXuLy",
          "DanhSachLePhi", "DanhSachHoSoBoSung")
CITIZEN = "1"  # LoaiDoiTuong: 1 công dân (a person files at the counter)


def stamp(moment: datetime | None) -> str:
    """yyyyMMddHHmmss in local time; '' for a moment not yet reached."""
    return moment.astimezone(TZ).strftime("%Y%m%d%H%M%S") if moment is not None else ""


def _fees(dossier: Dossier) -> list[dict]:
    fees = []
    if dossier.fee:
        fees.append({"TenPhiLePhi": "Phí, lệ phí giải quyết thủ tục hành chính",
                     "MaPhiLePhi": "LEPHI", "HinhThucThu": "1", "Gia": dossier.fee,
                     "LoaiPhiLePhi": "1"})
    if dossier.postal_fee:
        fees.append({"TenPhiLePhi": "Cước dịch vụ bưu chính công ích", "MaPhiLePhi": "CUOCBC",
                     "HinhThucThu": "1", "Gia": dossier.postal_fee, "LoaiPhiLePhi": "2"})
    return fees


def _supplements(session: Session, dossier: Dossier) -> list[dict]:
    """Each supplement asked (and, once it came, received) from the dossier's event log."""
    events = session.scalars(select(Event).where(
        Event.dossier_id == dossier.id,
        Event.kind.in_(("supplement_requested", "supplement_received")))
        .order_by(Event.at, Event.id))
    asked: list[dict] = []
    for event in events:
        data = event.data or {}
        if event.kind == "supplement_requested":
            asked.append({"HoSoBoSungId": str(event.id), "NgayYeuCauBoSung": stamp(event.at),
                          "NoiDungBoSung": data.get("reason") or "",
                          "DanhSachGiayToBoSung": list(data.get("documents") or []),
                          "NgayTiepNhanBoSung": ""})
        elif asked and not asked[-1]["NgayTiepNhanBoSung"]:
            asked[-1]["NgayTiepNhanBoSung"] = stamp(event.at)
    return asked


def record(session: Session, dossier: Dossier, statuses: dict[str, str] | None = None) -> dict:
    """The portal's sync record of `dossier` as it is now."""
    statuses = {**STATUSES, **(statuses or {})}
    procedure, applicant, agency = dossier.procedure, dossier.applicant, dossier.agency
    name = applicant.full_name if applicant is not None else ""
    return {
        "MaHoSo": dossier.code,
        "MaTTHC": procedure.code,
        "TenTTHC": procedure.name,
        "MaLinhVuc": procedure.field or "",
        "ChuHoSo": name,
        "LoaiDoiTuong": CITIZEN,
        "TrichYeuHoSo": f"{procedure.name} — {name}"[:500],
        "NgayTiepNhan": stamp(dossier.received_at),
        "NgayHenTra": stamp(dossier.appointment_at or dossier.due_at),
        "TrangThaiHoSo": statuses.get(dossier.state.value, ""),
        "NgayTra": stamp(dossier.returned_at),
        "HinhThuc": "1" if dossier.return_method == ReturnMethod.HOME else "0",
        "DonViXuLy": agency.name if agency is not None else "",
        "DanhSachLePhi": _fees(dossier),
        "DanhSachHoSoBoSung": _supplements(session, dossier),
    }


class PortalClient:
    """Pushes sync records to PORTAL_SYNC_URL with the bearer PORTAL_SYNC_TOKEN."""

    def __init__(self, url: str, token: str = "", statuses: dict | None = None,
                 timeout: float = 10.0):
        self.url, self.token, self.timeout = url, token, timeout
        self.statuses = dict(statuses or {})

    def push(self, session: Session, dossier: Dossier, key: str) -> str:
        payload = {"data": [record(session, dossier, self.statuses)]}
        headers = {"X-Postal-Delivery": key}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        answer = post_json(self.url, payload, headers=headers, timeout=self.timeout)
        body = answer.json()
        # the portal answers {"error_code": 0, ...}; anything else is not taken
        if not isinstance(body, dict) or str(body.get("error_code", "")) != "0":
            raise LinkFailure(f"portal refused: {answer.text[:300]}")
        return answer.text[:500]
