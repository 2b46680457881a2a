"""Paper the counter prints: rendered to PDF, read back with poppler and scanned with zxing-cpp."""

from __future__ import annotations

import unicodedata
from datetime import UTC, date, datetime, timedelta

import pytest
from documents_support import fonts, nfd, page_count, pages_text, pdf_text, scan
from factories import DOCUMENTS, DUE, NAME, RECEIVED, WARD, paper_dossier, paper_manifest
from sqlalchemy import select

from postal.core.codes import is_valid_s10, make_s10
from postal.documents import pdf
from postal.documents.apology import render_apology_letter
from postal.documents.control_sheet import ControlRow, render_control_sheet
from postal.documents.manifest import render_manifest
from postal.documents.receipt import (
    render_folder_sticker,
    render_receipt,
    render_refusal_slip,
    render_supplement_slip,
)
from postal.dossiers.lifecycle import State
from postal.extensions import db
from postal.models import (
    Applicant,
    Channel,
    Dossier,
    Item,
    ItemKind,
    LineStatus,
    Manifest,
    ManifestLine,
    ReturnMethod,
    UnitKind,
)

URL = "https://postal.example.vn/public/status?token=tok00001"
CODE = "000.00.42.H26-250703-0001"


def assert_names_the_applicant(pdf_bytes: bytes) -> None:
    """The applicant's name and ward come back exactly, in NFC, from the PDF's text."""
    text = pdf_text(pdf_bytes)
    assert NAME in text and WARD in text
    assert unicodedata.is_normalized("NFC", text)


# --- the shared toolkit -------------------------------------------------------------------

def test_money_uses_dot_thousands_and_the_dong_sign():
    assert pdf.money(1000) == "1.000 đ"
    assert pdf.money(1234567) == "1.234.567 đ"
    assert pdf.money(0) == "0 đ"


def test_local_time_is_ho_chi_minh_time():
    late_evening_utc = datetime(2025, 7, 3, 17, 30, tzinfo=UTC)
    assert pdf.local_time(late_evening_utc) == "00 giờ 30 phút, ngày 04/07/2025"
    assert pdf.local_time(None) == ""


def test_wrap_keeps_lines_within_the_width_and_cuts_overlong_words():
    text = "Số 12 đường Hà Huy Tập " + "X" * 80
    lines = pdf.wrap(text, 40 * pdf.mm, 9)
    assert len(lines) > 2
    assert all(pdf.text_width(line, 9) <= 40 * pdf.mm for line in lines)
    assert "".join(lines).replace(" ", "") == text.replace(" ", "")


def test_code128_refuses_non_ascii_and_boxes_too_narrow_for_its_bars():
    with pytest.raises(ValueError, match="ASCII"):
        pdf.code128_modules("Hồ sơ")
    with pytest.raises(ValueError, match="too narrow"):
        pdf.draw_code128(None, CODE, 0, 0, 20 * pdf.mm, 15 * pdf.mm)


# --- receipt --------------------------------------------------------------------------------

def test_a4_receipt_has_both_copies_on_one_page_with_code_and_qr_that_scan():
    document = render_receipt(paper_dossier(), page="A4", public_url=URL)
    assert page_count(document) == 1
    assert scan(document) == [{"code128": [CODE, CODE], "qr": [URL, URL]}]
    text = pdf_text(document)
    assert "Liên 1: giao người nộp hồ sơ" in text and "Liên 2: lưu hồ sơ" in text
    assert_names_the_applicant(document)


@pytest.mark.parametrize("seed", range(6))
def test_the_receipt_qr_scans_at_200_dpi_with_zxing_and_zbar(seed):
    """The QR code is encoded with one fixed mask (pdf.QR_MASK): every printed receipt must
    still scan with both common decoders at an office printer's resolution."""
    import random
    import shutil
    import subprocess
    import tempfile
    from pathlib import Path

    rng = random.Random(seed)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    url = "https://motcua.example.vn/public/status?token=" + "".join(
        rng.choice(alphabet) for _ in range(22))
    document = render_receipt(paper_dossier(seq=seed + 1), page="A5", public_url=url)
    assert scan(document, dpi=200)[0]["qr"] == [url]
    assert shutil.which("zbarimg"), "zbar-tools (zbarimg) is needed: .ci/test installs it"
    folder = Path(tempfile.mkdtemp(prefix="postal-zbar-"))
    try:
        (folder / "r.pdf").write_bytes(document)
        subprocess.run(["pdftoppm", "-r", "200", "-gray", "-png", "-f", "1", "-l", "1",
                        str(folder / "r.pdf"), str(folder / "p")], check=True)
        [page] = folder.glob("p*.png")
        found = subprocess.run(["zbarimg", "-q", "--raw", "-Sdisable", "-Sqrcode.enable",
                                str(page)], capture_output=True, text=True).stdout.split()
    finally:
        shutil.rmtree(folder)
    assert url in found


def test_a5_receipt_puts_each_copy_on_its_own_page():
    document = render_receipt(paper_dossier(), page="A5", public_url=URL)
    assert scan(document) == [{"code128": [CODE], "qr": [URL]}] * 2
    first, second = pages_text(document)
    assert "Liên 1" in first and "Liên 2" not in first
    assert "Liên 2" in second and NAME in second
    assert_names_the_applicant(document)


def test_receipt_states_the_facts_of_the_appointment():
    dossier = paper_dossier()
    text = pdf_text(render_receipt(dossier, public_url=URL))
    folder = dossier.items[0].number
    assert is_valid_s10(folder) and folder in text
    for fact in ("GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ", "TRUNG TÂM PHỤC VỤ HÀNH CHÍNH CÔNG",
                 "Cấp bản sao trích lục hộ tịch", "Sở Tư pháp tỉnh Hà Tĩnh", "042190001234",
                 "0912345678", "8.000 đ", "25.000 đ", "33.000 đ", "Trần Văn An",
                 "08 giờ 15 phút, ngày 03/07/2025",  # received 01:15 UTC
                 "17 giờ 00 phút, ngày 08/07/2025",  # due 10:00 UTC
                 "Trả tại nhà qua bưu chính công ích"):
        assert fact in text, fact
    for entry in DOCUMENTS:
        assert entry["name"] in text


def test_checklist_entries_may_be_plain_names():
    dossier = paper_dossier(documents=["Tờ khai đăng ký", {"id": "d9", "required": True}])
    text = pdf_text(render_receipt(dossier, public_url=URL))
    assert "1. Tờ khai đăng ký" in text and "2. d9" in text


def test_counter_return_names_the_counter_not_a_home_address():
    dossier = paper_dossier(return_method=ReturnMethod.COUNTER)
    text = pdf_text(render_receipt(dossier, public_url=URL))
    assert "Tại Bộ phận Một cửa" in text
    assert "Trả tại nhà" not in text


def test_decomposed_input_is_printed_composed():
    document = render_receipt(paper_dossier(name=nfd(NAME)), public_url=URL)
    text = pdf_text(document)
    assert NAME in text
    assert nfd(NAME) not in text


def test_every_font_in_the_pdf_is_the_embedded_dejavu():
    table = fonts(render_receipt(paper_dossier(), public_url=URL)).splitlines()[2:]
    assert table
    for row in table:
        name, *_ = row.split()
        assert "+DejaVuSans" in name and " yes yes yes " in row, row


def test_a_checklist_too_long_for_the_receipt_is_printed_in_full_on_an_annex():
    documents = [{"id": f"d{i}", "name": f"Giấy tờ kèm theo số {i}", "required": True}
                 for i in range(1, 41)]
    document = render_receipt(paper_dossier(documents=documents), page="A4", public_url=URL)
    assert page_count(document) == 2
    receipt, annex = pages_text(document)
    assert "xem danh mục kèm theo" in receipt
    assert "DANH MỤC THÀNH PHẦN HỒ SƠ ĐÃ NHẬN" in annex
    assert all(f"{i}. Giấy tờ kèm theo số {i}\n" in annex for i in range(1, 41))
    assert scan(document, dpi=200)[0] == {"code128": [CODE, CODE], "qr": [URL, URL]}


def test_receipt_refuses_an_unknown_page_size():
    with pytest.raises(ValueError, match="A4"):
        render_receipt(paper_dossier(), page="Letter", public_url=URL)


# --- supplement and refusal slips -------------------------------------------------------------

def test_supplement_slip_for_a_dossier_not_accepted_carries_the_intake_number_as_a_barcode():
    dossier = paper_dossier(accepted=False)
    dossier.missing_documents = [DOCUMENTS[0], "Bản sao giấy khai sinh"]
    dossier.reason = "Tờ khai chưa có chữ ký của người yêu cầu."
    document = render_supplement_slip(dossier, public_url=URL)
    assert scan(document) == [{"code128": ["TN1001"], "qr": [URL]}]  # the counter scans it
    text = pdf_text(document)
    assert "PHIẾU YÊU CẦU BỔ SUNG, HOÀN THIỆN HỒ SƠ" in text
    assert "Số phiếu tiếp nhận:" in text and "1001" in text
    assert f"1. {DOCUMENTS[0]['name']}" in text and "2. Bản sao giấy khai sinh" in text
    assert dossier.reason in text
    assert_names_the_applicant(document)


def test_supplement_slip_without_url_has_no_qr_and_an_accepted_one_keeps_its_barcode():
    dossier = paper_dossier()
    dossier.missing_documents = ["Bản sao giấy khai sinh"]
    assert scan(render_supplement_slip(dossier)) == [{"code128": [CODE]}]


def test_refusal_slip_gives_the_reason():
    dossier = paper_dossier(accepted=False)
    dossier.reason = "Thủ tục không thuộc thẩm quyền giải quyết của tỉnh."
    document = render_refusal_slip(dossier)
    text = pdf_text(document)
    assert "PHIẾU TỪ CHỐI TIẾP NHẬN GIẢI QUYẾT HỒ SƠ" in text
    assert "Lý do từ chối:" in text and dossier.reason in text
    assert scan(document) == [{"code128": ["TN1001"]}]
    assert_names_the_applicant(document)


# --- folder sticker -------------------------------------------------------------------------

@pytest.mark.parametrize("page", ["A6", "62mm"])
def test_folder_sticker_scans_to_a_valid_s10_number(page):
    dossier = paper_dossier(serial=47312482)
    item = dossier.items[0]
    document = render_folder_sticker(item, page=page)
    (found,) = scan(document, dpi=400)
    assert found == {"code128": [item.number]}
    assert item.number == make_s10("RR", 47312482) and is_valid_s10(found["code128"][0])
    assert CODE in pdf_text(document)
    assert f"{NAME}, {WARD}" in pdf_text(document)


def test_folder_sticker_refuses_an_unknown_size():
    with pytest.raises(ValueError, match="62mm"):
        render_folder_sticker(paper_dossier().items[0], page="A7")


# --- manifest --------------------------------------------------------------------------------

def test_manifest_carries_its_code_and_one_scannable_row_per_item():
    manifest = paper_manifest(3)
    document = render_manifest(manifest)
    numbers = [line.item.number for line in manifest.lines]
    assert scan(document) == [{"code128": sorted([manifest.code, *numbers])}]
    assert all(is_valid_s10(n) for n in numbers)
    text = pdf_text(document)
    for fact in ("BẢNG KÊ BÀN GIAO HỒ SƠ", "Trung tâm Phục vụ hành chính công tỉnh Hà Tĩnh",
                 "Sở Tư pháp tỉnh Hà Tĩnh", "10 giờ 15 phút, ngày 03/07/2025",
                 "Tổng số: 3 bưu gửi", "NGƯỜI GIAO", "NGƯỜI VẬN CHUYỂN", "NGƯỜI NHẬN"):
        assert fact in text, fact
    for line in manifest.lines:
        assert line.item.dossier.code in text
    assert_names_the_applicant(document)


def test_long_manifest_flows_over_pages_repeating_the_header():
    manifest = paper_manifest(40)
    document = render_manifest(manifest)
    pages = pages_text(document)
    assert len(pages) >= 3
    assert all("Số hiệu bưu gửi" in page for page in pages if "STT" in page)
    assert all(line.item.number in pdf_text(document) for line in manifest.lines)
    assert "Tổng số: 40 bưu gửi" in pages[-1]
    assert sum(len(p.get("code128", [])) for p in scan(document)) == 41


def test_manifest_counts_what_the_receiver_checked():
    manifest = paper_manifest(4)
    for line, status in zip(manifest.lines, [LineStatus.CONFIRMED, LineStatus.CONFIRMED,
                                             LineStatus.MISSING, LineStatus.EXTRA], strict=True):
        line.status = status
    text = pdf_text(render_manifest(manifest))
    assert "Tổng số: 3 bưu gửi (hồ sơ) — đã nhận: 2; thiếu: 1; thừa: 1" in text


# --- control sheet and apology ---------------------------------------------------------------

def test_control_sheet_judges_each_handover_against_the_due_moment():
    dossier = paper_dossier()
    rows = [
        ControlRow(1, "Bộ phận Một cửa", "Sở Tư pháp", RECEIVED + timedelta(hours=2),
                   "Trần Văn An", "Lê Thị Bình"),
        {"step": 2, "from_unit": "Sở Tư pháp", "to_unit": "Bộ phận Một cửa",
         "at": DUE - timedelta(hours=1), "giver": "Lê Thị Bình", "receiver": "Trần Văn An",
         "outcome": None, "note": "Có kết quả"},
        ControlRow(3, "Bộ phận Một cửa", "Người nộp", DUE + timedelta(hours=1), "Trần Văn An",
                   NAME),
        ControlRow(4, "Bưu tá", "Người nộp", None, "Phạm Văn Cường", NAME,
                   outcome="Chưa giao được"),
    ]
    document = render_control_sheet(dossier, rows)
    lines = pdf_text(document, layout=True).splitlines()

    def row(step: int, giver: str) -> str:
        return next(line for line in lines if line.strip().startswith(f"{step} ") and giver in line)

    assert "Trước hạn" in row(1, "Trần Văn An")
    assert "Đúng hạn" in row(2, "Lê Thị Bình") and "Có kết quả" in row(2, "Lê Thị Bình")
    assert "Quá hạn" in row(3, "Trần Văn An")
    assert "Chưa giao" in row(4, "Phạm Văn Cường")  # free text, wrapped in its cell
    assert "PHIẾU KIỂM SOÁT QUÁ TRÌNH GIẢI QUYẾT HỒ SƠ" in pdf_text(document)
    assert scan(document) == [{"code128": [CODE]}]
    assert_names_the_applicant(document)


def test_control_sheet_refuses_rows_with_unknown_fields():
    with pytest.raises(TypeError):
        render_control_sheet(paper_dossier(), [{"step": 1, "colour": "blue"}])


def test_apology_letter_gives_the_reason_and_the_new_date():
    dossier = paper_dossier()
    new_date = datetime(2025, 7, 15, 3, 0, tzinfo=UTC)
    document = render_apology_letter(dossier, new_date=new_date,
                                     reason="Cần xác minh thêm tại nơi đăng ký khai sinh.")
    text = pdf_text(document)
    assert "PHIẾU XIN LỖI VÀ HẸN LẠI NGÀY TRẢ KẾT QUẢ" in text
    assert "Cần xác minh thêm tại nơi đăng ký khai sinh." in text
    assert "10 giờ 00 phút, ngày 15/07/2025" in text
    assert "17 giờ 00 phút, ngày 08/07/2025" in text  # the broken appointment
    assert "SỞ TƯ PHÁP TỈNH HÀ TĨNH" in text  # issued by the late agency
    assert scan(document) == [{"code128": [CODE]}]
    assert_names_the_applicant(document)
    dated = render_apology_letter(dossier, new_date=date(2025, 7, 15), reason="x",
                                  issued_at=datetime(2025, 7, 9, 2, 0, tzinfo=UTC))
    assert "ngày 15/07/2025" in pdf_text(dated)
    assert "Hà Tĩnh, ngày 09 tháng 07 năm 2025" in pdf_text(dated)


def test_documents_are_reproducible_byte_for_byte():
    dossier = paper_dossier()
    assert render_receipt(dossier, public_url=URL) == render_receipt(dossier, public_url=URL)


# --- from the database --------------------------------------------------------------------

def test_renders_dossiers_loaded_from_the_database(app, centre, agency, make_unit, make_user,
                                                   make_procedure):
    ward = make_unit(UnitKind.COMMUNE, code="TS-TEST", name=WARD, parent=centre.parent)
    clerk = make_user("clerk")
    procedure = make_procedure(code="1.000001")
    dossier = Dossier(
        code=CODE, token="t" * 32, unit=centre, agency=agency, procedure=procedure,
        applicant=Applicant(full_name=NAME, phone="0912345678", street="Số 1", ward=ward),
        clerk=clerk, state=State.ACCEPTED, channel=Channel.COUNTER,
        return_method=ReturnMethod.COUNTER, documents=procedure.documents, fee=0, postal_fee=0,
        received_at=RECEIVED, due_at=DUE,
    )
    folder = Item(number=make_s10("RR", 1), kind=ItemKind.FOLDER, dossier=dossier)
    manifest = Manifest(code="BK-000.00.42.H26-250703-001", from_unit=centre, to_unit=agency,
                        created_at=RECEIVED)
    ManifestLine(manifest=manifest, item=folder)
    db.session.add_all([dossier, manifest])
    db.session.commit()
    db.session.expunge_all()

    loaded = db.session.scalar(select(Dossier).where(Dossier.code == CODE))
    document = render_receipt(loaded, public_url=URL)
    assert scan(document) == [{"code128": [CODE, CODE], "qr": [URL, URL]}]
    assert_names_the_applicant(document)
    assert make_s10("RR", 1) in pdf_text(document)
    sheet = render_manifest(db.session.scalar(select(Manifest)))
    assert scan(sheet) == [{"code128": sorted(["BK-000.00.42.H26-250703-001", make_s10("RR", 1)])}]
    assert_names_the_applicant(render_folder_sticker(loaded.items[0]))


@pytest.mark.parametrize("code", ["000.05.42.H26-261102-0001", "000.00.42.H26-261231-1234",
                                  "TTHCC-PHUONG-THANH-SEN-261102-0001"])
def test_register_codes_never_wrap(code):
    from postal.documents.register_pdf import render_register
    from postal.reporting.register import RegisterRow

    row = RegisterRow(code=code, procedure="Cấp bản sao trích lục hộ tịch " * 3,
                      applicant=NAME, address="Số 12 đường Hà Huy Tập, " + WARD, phone="0912345678",
                      received_at=RECEIVED, due_at=DUE, returned_at=None, collected_by="")
    document = render_register([row], unit_name="Trung tâm", date_from=RECEIVED.date(),
                               date_to=RECEIVED.date())
    assert code in pdf_text(document, layout=True)  # on one line, whole
