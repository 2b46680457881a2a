"""Intake outcomes other than acceptance: the supplement slip and the refusal slip."""

from __future__ import annotations

from postal.documents import forms
from postal.documents.forms import Field

SUPPLEMENT_TITLE = "PHIẾU YÊU CẦU BỔ SUNG, HOÀN THIỆN HỒ SƠ"
REFUSAL_TITLE = "PHIẾU TỪ CHỐI TIẾP NHẬN GIẢI QUYẾT HỒ SƠ"


def _applicant_fields(dossier) -> list[Field]:
    applicant, procedure = dossier.applicant, dossier.procedure
    label, value, _ = forms.reference(dossier)
    return [
        Field(label, value, bold=True),
        Field("Người nộp", applicant.full_name, bold=True),
        Field("Địa chỉ", applicant.address),
        Field("Điện thoại", applicant.phone or "—"),
        Field("Thủ tục", f"{procedure.name} (mã {procedure.code})" if procedure else ""),
    ]


def _clerk(dossier) -> str:
    clerk = dossier.clerk
    return (clerk.full_name or clerk.username) if clerk is not None else ""


def render_supplement_slip(dossier, public_url: str | None = None, *, page: str = "A4") -> bytes:
    """Phiếu yêu cầu bổ sung, hoàn thiện hồ sơ: what is missing and why."""
    missing = forms.numbered(dossier.missing_documents)
    unit = dossier.unit.name if dossier.unit else "Bộ phận Một cửa"
    fields = _applicant_fields(dossier) + [
        Field("Cần bổ sung", "\n".join(missing) or "—", bold=True),
        Field("Lý do", dossier.reason or "—"),
        Field("", ""),
        Field("", "Trong quá trình hoàn thiện hồ sơ, nếu có vướng mắc, ông/bà liên hệ "
              f"{unit} để được hướng dẫn. Mong ông/bà thông cảm."),
    ]
    return forms.render_letter(
        dossier, title=SUPPLEMENT_TITLE, fields=fields, public_url=public_url, page=page,
        when=dossier.paused_at or dossier.created_at,
        signatures=[("NGƯỜI NỘP HỒ SƠ", dossier.applicant.full_name),
                    ("NGƯỜI HƯỚNG DẪN", _clerk(dossier))],
    )


def render_refusal_slip(dossier, *, page: str = "A4") -> bytes:
    """Phiếu từ chối tiếp nhận giải quyết hồ sơ, with the reason."""
    fields = _applicant_fields(dossier) + [
        Field("Lý do từ chối", dossier.reason or "—", bold=True),
        Field("", ""),
        Field("", "Xin thông báo để ông/bà được biết và thực hiện."),
    ]
    return forms.render_letter(
        dossier, title=REFUSAL_TITLE, fields=fields, page=page,
        when=dossier.closed_at or dossier.created_at,
        signatures=[("NGƯỜI NỘP HỒ SƠ", dossier.applicant.full_name),
                    ("NGƯỜI TIẾP NHẬN HỒ SƠ", _clerk(dossier))],
    )
