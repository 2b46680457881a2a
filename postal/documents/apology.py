"""Phiếu xin lỗi và hẹn lại ngày trả kết quả: the late agency's apology and new appointment."""

from __future__ import annotations

from datetime import date, datetime

from postal.documents import forms
from postal.documents.forms import Field
from postal.documents.pdf import local_time

TITLE = "PHIẾU XIN LỖI VÀ HẸN LẠI NGÀY TRẢ KẾT QUẢ"


def _when(value: date | datetime) -> str:
    """A moment in local time, or a bare calendar date."""
    if isinstance(value, datetime):
        return local_time(value)
    return value.strftime("ngày %d/%m/%Y")


def render_apology_letter(dossier, *, new_date: date | datetime, reason: str,
                          issued_at: datetime | None = None) -> bytes:
    """Signed by the deciding agency; without `issued_at` the date is left to fill by hand."""
    issuer = dossier.agency or dossier.unit
    applicant = dossier.applicant
    label, code, _ = forms.reference(dossier)
    received = local_time(dossier.received_at) or "—"
    due = local_time(dossier.due_at) or "—"
    fields = [
        Field(label, code, bold=True),
        Field("Người nộp", applicant.full_name, bold=True),
        Field("Địa chỉ", applicant.address),
        Field("Thủ tục", dossier.procedure.name if dossier.procedure else ""),
        Field("", ""),
        Field("", f"Lúc {received}, {dossier.unit.name if dossier.unit else ''} đã tiếp nhận "
              f"hồ sơ của ông/bà, hẹn trả kết quả lúc {due}. Tuy nhiên đến nay "
              f"{issuer.name if issuer else ''} chưa trả kết quả giải quyết hồ sơ đúng hẹn."),
        Field("", ""),
        Field("Lý do", reason or "—"),
        Field("", ""),
        Field("", "Sự chậm trễ này đã gây phiền hà cho ông/bà. Chúng tôi thành thật xin lỗi "
              "ông/bà và hẹn trả kết quả lúc:"),
        Field("", _when(new_date), bold=True),
        Field("", ""),
        Field("", "Xin trân trọng cảm ơn sự hợp tác của ông/bà."),
    ]
    return forms.render_letter(
        dossier, title=TITLE, fields=fields, when=issued_at, issuer=issuer,
        signatures=[None, ("THỦ TRƯỞNG CƠ QUAN, ĐƠN VỊ", "")],
    )
