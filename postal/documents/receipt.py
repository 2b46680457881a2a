"""Intake papers: the receipt and appointment slip (two copies), and the folder sticker.

The forms follow the one-stop models (Giấy tiếp nhận hồ sơ và hẹn trả kết quả, Phiếu yêu cầu
bổ sung, hoàn thiện hồ sơ, Phiếu từ chối tiếp nhận giải quyết hồ sơ): the supplement and refusal
slips live in slips.py and are re-exported here.
"""

from __future__ import annotations

import io

from reportlab.lib.pagesizes import A4, A5

from postal.documents import forms
from postal.documents.forms import Field
from postal.documents.pdf import (
    draw_code128,
    draw_fitted,
    draw_qr,
    draw_text,
    finish,
    local_time,
    mm,
    money,
    new_canvas,
)
from postal.documents.slips import render_refusal_slip, render_supplement_slip

__all__ = ["render_folder_sticker", "render_receipt", "render_refusal_slip",
           "render_supplement_slip"]

TITLE = "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ"
COPIES = ("Liên 1: giao người nộp hồ sơ", "Liên 2: lưu hồ sơ")

MARGIN_X = {"A4": 12 * mm, "A5": 10 * mm}
MARGIN_Y = {"A4": 7 * mm, "A5": 9 * mm}
HEADER_SIZE = 7.5
TITLE_SIZE = 11
BODY_SIZES = (9.5, 9, 8.5, 8, 7.5, 7)
ANNEX_TITLE = "DANH MỤC THÀNH PHẦN HỒ SƠ ĐÃ NHẬN"
ANNEX_SIZE = 10
QR_SIZE = 25 * mm
QR_COLUMN = 29 * mm  # QR code plus its gutter
# half an A4 sheet is short: fields run beside the QR code; an A5 page is narrow: below it
FIELDS_BESIDE_QR = {"A4": True, "A5": False}
BARCODE_W = 78 * mm
BARCODE_H = 12 * mm
SIGN_SIZE = 8
SIGN_SPACE = 11 * mm
CUT_MARK = "✂"

STICKER_PAGES = {"A6": (105 * mm, 148 * mm), "62mm": (62 * mm, 100 * mm)}
STICKER_MARGIN = 4 * mm
STICKER_BARCODE_SHARE = 0.3  # of the sticker's height


def _receipt_fields(dossier, documents: list[dict], hidden: int) -> list[Field]:
    """What the receipt says, in the order of the official model."""
    applicant = dossier.applicant
    label, value, _ = forms.reference(dossier)
    docs = forms.numbered(documents)
    if hidden:
        docs.append(f"… và {hidden} giấy tờ khác (xem danh mục kèm theo)")
    if str(dossier.return_method) == "home":
        returned = f"Trả tại nhà qua bưu chính công ích: {dossier.delivery_address or '—'}"
    else:
        returned = f"Tại Bộ phận Một cửa — {dossier.unit.name if dossier.unit else ''}"
    fee, postal_fee = dossier.fee or 0, dossier.postal_fee or 0
    fees = f"{money(fee)}; cước bưu chính: {money(postal_fee)}; tổng: {money(fee + postal_fee)}"
    procedure = dossier.procedure
    return [
        Field(label, value, bold=True),
        Field("Người nộp", applicant.full_name, bold=True),
        Field("Số định danh", applicant.id_number or "—"),
        Field("Điện thoại", applicant.phone or "—"),
        Field("Địa chỉ", applicant.address),
        Field("Thủ tục", f"{procedure.name} (mã {procedure.code})" if procedure else ""),
        Field("Cơ quan giải quyết", forms.agency_name(dossier)),
        Field("Hồ sơ gồm", "\n".join(docs) or "—"),
        Field("Phí, lệ phí", fees),
        Field("Nhận hồ sơ lúc", local_time(dossier.received_at or dossier.created_at)),
        Field("Hẹn trả kết quả", local_time(dossier.due_at) or "—", bold=True),
        Field("Nhận kết quả", returned),
        Field("Số hiệu bưu gửi", forms.folder_number(dossier) or "—"),
    ]


def _fit(dossier, width: float, height: float) -> tuple[list[Field], float, bool]:
    """(fields, size, cut): the largest size that fits; a long checklist is cut to what fits
    and then printed in full on an annex page."""
    documents = list(dossier.documents or [])
    for shown in range(len(documents), -1, -1):
        fields = _receipt_fields(dossier, documents[:shown], len(documents) - shown)
        size = forms.best_size(fields, width, height, BODY_SIZES)
        if size is not None:
            return fields, size, shown < len(documents)
    return fields, BODY_SIZES[-1], True


def _draw_copy(canvas, dossier, public_url: str, box, copy_label: str, page: str,
               fit: dict) -> bool:
    """One copy of the receipt inside box = (x, y, width, height); True if the checklist
    was cut short."""
    x0, y0, w0, h0 = box
    x, w = x0 + MARGIN_X[page], w0 - 2 * MARGIN_X[page]
    top, bottom = y0 + h0 - MARGIN_Y[page], y0 + MARGIN_Y[page]
    y = forms.draw_heading(canvas, x, top, w, dossier.unit, HEADER_SIZE)
    y = forms.draw_title(canvas, x, y, w, TITLE, TITLE_SIZE, copy_label)
    body_w = w - QR_COLUMN
    _, code, has_barcode = forms.reference(dossier)
    if has_barcode:
        draw_code128(canvas, code, x, y - BARCODE_H - 1 * mm, min(BARCODE_W, body_w), BARCODE_H)
        y -= BARCODE_H + 1 * mm
    qr_top = y + (BARCODE_H if has_barcode else 0)
    draw_qr(canvas, public_url, x + w - QR_SIZE, qr_top - QR_SIZE, QR_SIZE)
    draw_fitted(canvas, x + w - QR_COLUMN + 2 * mm, qr_top - QR_SIZE - 2.5 * mm,
                "Quét mã để tra cứu hồ sơ", QR_COLUMN - 2 * mm, 6.5, align="centre")
    if not FIELDS_BESIDE_QR[page]:
        body_w = w
        y = min(y, qr_top - QR_SIZE - 4 * mm)
    sign_h = SIGN_SPACE + 2.3 * SIGN_SIZE * forms.LEADING
    key = (round(body_w, 2), round(y - bottom - sign_h, 2))  # both copies: fit once
    if key not in fit:
        fit[key] = _fit(dossier, *key)
    fields, size, cut = fit[key]
    y = forms.draw_fields(canvas, x, y, body_w, fields, size)
    clerk = dossier.clerk
    forms.draw_signatures(
        canvas, x, bottom + sign_h, w,
        [("NGƯỜI NỘP HỒ SƠ", dossier.applicant.full_name),
         ("NGƯỜI TIẾP NHẬN HỒ SƠ", (clerk.full_name or clerk.username) if clerk else "")],
        SIGN_SIZE, SIGN_SPACE,
    )
    return cut


def _draw_annex(canvas, dossier, page: str) -> None:
    """Every document received, on pages of their own, when the receipt could not hold them."""
    width, height = A4 if page == "A4" else A5
    x, w = MARGIN_X[page] + 5 * mm, width - 2 * MARGIN_X[page] - 10 * mm
    top, bottom = height - 15 * mm, 15 * mm
    label, value, _ = forms.reference(dossier)
    y = forms.draw_title(canvas, x, top, w, ANNEX_TITLE, TITLE_SIZE,
                         f"Kèm theo Giấy tiếp nhận hồ sơ — {label}: {value}")
    fields = [Field("", line) for line in forms.numbered(dossier.documents)]

    def new_page() -> float:
        canvas.showPage()
        return top

    forms.draw_fields(canvas, x, y - 3 * mm, w, fields, ANNEX_SIZE, bottom=bottom,
                      new_page=new_page)
    canvas.showPage()


def render_receipt(dossier, *, page: str = "A4", public_url: str) -> bytes:
    """Receipt and appointment slip, two copies: halves of one A4 sheet, or two A5 pages."""
    if page not in MARGIN_X:
        raise ValueError(f"receipt page must be one of {sorted(MARGIN_X)}, got {page!r}")
    buffer = io.BytesIO()
    label = forms.reference(dossier)[1]
    canvas = new_canvas(buffer, page, title=f"Giấy tiếp nhận hồ sơ {label}")
    cut, fit = False, {}
    if page == "A4":
        width, height = A4
        for i, copy_label in enumerate(COPIES):
            cut |= _draw_copy(canvas, dossier, public_url,
                              (0, height / 2 * (1 - i), width, height / 2), copy_label, page, fit)
        canvas.saveState()
        canvas.setDash(3, 3)
        canvas.setLineWidth(0.4)
        canvas.line(8 * mm, height / 2, width - 8 * mm, height / 2)
        canvas.restoreState()
        draw_text(canvas, 4 * mm, height / 2 - 1.2 * mm, CUT_MARK, 9)
        canvas.showPage()
    else:
        width, height = A5
        for copy_label in COPIES:
            cut |= _draw_copy(canvas, dossier, public_url, (0, 0, width, height), copy_label,
                              page, fit)
            canvas.showPage()
    if cut:
        _draw_annex(canvas, dossier, page)
    return finish(canvas, buffer)


def render_folder_sticker(item, *, page: str = "A6") -> bytes:
    """Sticker for the dossier's folder: the S10 number as Code128, the dossier code beneath."""
    if page not in STICKER_PAGES:
        raise ValueError(f"sticker page must be one of {sorted(STICKER_PAGES)}, got {page!r}")
    width, height = STICKER_PAGES[page]
    dossier = item.dossier
    buffer = io.BytesIO()
    canvas = new_canvas(buffer, (width, height), title=f"Nhãn túi hồ sơ {item.number}")
    x, w = STICKER_MARGIN, width - 2 * STICKER_MARGIN
    scale = w / (97 * mm)  # sizes below are set for the A6 sticker
    title, body = 11 * scale, 12 * scale
    y = height - STICKER_MARGIN - title
    draw_fitted(canvas, x, y, dossier.unit.name if dossier.unit else "", w, title,
                bold=True, align="centre")
    y -= title * 1.5
    draw_fitted(canvas, x, y, "TÚI HỒ SƠ THỦ TỤC HÀNH CHÍNH", w, title * 0.85, align="centre")
    bar_h = height * STICKER_BARCODE_SHARE
    y -= bar_h + 4 * mm * scale
    draw_code128(canvas, item.number, x, y, w, bar_h, text_size=body)
    label, value, _ = forms.reference(dossier)
    lines = [(f"{label}: {value}", True), (forms.applicant_and_ward(dossier.applicant), True),
             (dossier.procedure.name if dossier.procedure else "", False),
             (f"Hẹn trả: {local_time(dossier.due_at, '%H:%M %d/%m/%Y') or '—'}", False),
             (f"Chuyển đến: {forms.agency_name(dossier) or '—'}", False)]
    y -= 2 * mm * scale
    for text, bold in lines:
        y -= body * 1.7
        draw_fitted(canvas, x, y, text, w, body, bold=bold, align="centre")
    return finish(canvas, buffer)
