"""Delivery labels: layouts as data, PDFs that scan, and ZPL for thermal printers."""

from __future__ import annotations

import re
import shutil
from dataclasses import replace

import pytest
from documents_support import nfd, page_count, pages_text, pdf_text, scan
from factories import NAME, WARD, paper_dossier, units

from postal.core.codes import is_valid_s10, make_s10
from postal.documents.labels import (
    FIELDS,
    LabelData,
    available_layouts,
    label_from_dossier,
    load_layout,
    render_labels,
    render_zpl,
)
from postal.documents.layouts import LAYOUT_DIR
from postal.models import Item, ItemKind

A6 = "a6-4up"
THERMAL = "thermal-100x150"


def run_labels(count: int) -> list[LabelData]:
    """Labels of a run: distinct items and dossiers, one shared set of units."""
    unit_map = units()
    return [label_from_dossier(paper_dossier(seq=i, serial=5_000_000 + i, unit_map=unit_map))
            for i in range(1, count + 1)]


# --- layouts --------------------------------------------------------------------------------

def test_the_bundled_layouts_are_listed_and_load():
    assert {A6, THERMAL} <= set(available_layouts())
    a6, thermal = load_layout(A6), load_layout(THERMAL)
    assert (a6.per_page, a6.page, a6.label) == (4, (210, 297), (105, 148.5))
    assert (thermal.per_page, thermal.label) == (1, (100, 150))
    assert set(a6.fields) == set(thermal.fields) == set(FIELDS)


def test_an_unknown_layout_names_the_available_ones():
    with pytest.raises(ValueError, match="no such layout") as error:
        load_layout("a5-2up")
    assert A6 in str(error.value) and THERMAL in str(error.value)


@pytest.mark.parametrize("name", ["../pyproject", "A6-4UP", "", "a6 4up"])
def test_a_name_that_is_not_a_layout_name_is_refused(name):
    with pytest.raises(ValueError, match="available layouts"):
        load_layout(name)


@pytest.fixture
def layout_dir(tmp_path):
    """A copy of labels/ to spoil."""
    for path in LAYOUT_DIR.glob("*.toml"):
        shutil.copy(path, tmp_path / path.name)
    return tmp_path


@pytest.mark.parametrize(("change", "problem"), [
    (lambda t: t.replace("[grid]", "[grid"), "malformed"),
    (lambda t: t.replace("[fields.cod_amount]", "[fields.cod]"),
     "missing field boxes: cod_amount"),
    (lambda t: t.replace("[fields.phone]\nx = 6", "[fields.phone]\nx = 60"),
     r"\[fields.phone\] reaches outside"),
    (lambda t: t.replace("columns = 2", "columns = 3"), "more than the 210×297 mm page"),
    (lambda t: t.replace("font_size = 13", "font_size = -13"), "font_size must be positive"),
    (lambda t: t.replace("w = 93\nh = 28", 'w = "wide"\nh = 28'), "w must be a number"),
    (lambda t: t.replace("[page]\nwidth = 210\nheight = 297\n", ""), r"missing table \[page\]"),
    (lambda t: t.replace("dpmm = 8", "dpmm = 7"), "dpmm"),
    (lambda t: t + "\n[fields.logo]\nx = 1\ny = 1\nw = 1\nh = 1\nfont_size = 1\n",
     "unknown field boxes: logo"),
])
def test_a_malformed_layout_is_refused_with_the_reason(layout_dir, change, problem):
    path = layout_dir / f"{A6}.toml"
    path.write_text(change(path.read_text(encoding="utf-8")), encoding="utf-8")
    with pytest.raises(ValueError, match=problem) as error:
        load_layout(A6, layout_dir)
    assert "available layouts: a6-4up, thermal-100x150" in str(error.value)
    assert load_layout(THERMAL, layout_dir).name == THERMAL  # the others still load


# --- PDF labels -----------------------------------------------------------------------------

def test_an_a4_sheet_holds_four_labels_and_every_barcode_scans():
    labels = run_labels(6)
    document = render_labels(labels, load_layout(A6))
    assert page_count(document) == 2
    found = scan(document)
    numbers = [label.item_number for label in labels]
    assert found == [{"code128": sorted(numbers[:4])}, {"code128": sorted(numbers[4:])}]
    assert all(is_valid_s10(n) for page in found for n in page["code128"])


def test_the_thermal_layout_prints_one_label_a_page():
    labels = run_labels(3)
    document = render_labels(labels, load_layout(THERMAL))
    assert scan(document, dpi=203) == [{"code128": [label.item_number]} for label in labels]


def test_a_label_shows_recipient_phone_address_dossier_and_amount_to_collect():
    (label,) = run_labels(1)
    text = pdf_text(render_labels([label], load_layout(THERMAL)))
    assert f"{NAME}\n" in text and WARD in text
    for fact in ("ĐT: 0912345678", "Số 12 đường Hà Huy Tập, Phường Thành Sen",
                 "Mã hồ sơ: 000.00.42.H26-250703-0001", "33.000 đ",
                 "Trung tâm Phục vụ hành chính công tỉnh Hà Tĩnh"):
        assert fact in text, fact
    nothing = pdf_text(render_labels([replace(label, cod_amount=0)], load_layout(THERMAL)))
    assert "Không thu tiền" in nothing and "33.000 đ" not in nothing


def test_an_overlong_address_shrinks_then_is_cut_inside_its_box():
    (label,) = run_labels(1)
    tail = "CUỐI-ĐỊA-CHỈ"
    long = replace(label, address="Thôn Trung Lộc, " * 80 + tail)
    document = render_labels([long], load_layout(A6))
    text = pdf_text(document)
    assert "Thôn Trung Lộc" in text and "…" in text and tail not in text
    assert "Mã hồ sơ: 000.00.42.H26-250703-0001" in text  # the next box is still readable
    assert scan(document)[0] == {"code128": [label.item_number]}


def test_decomposed_names_are_printed_composed():
    (label,) = run_labels(1)
    text = pdf_text(render_labels([replace(label, recipient_name=nfd(NAME))], load_layout(A6)))
    assert NAME in text


def test_a_layout_may_be_given_by_name():
    labels = run_labels(1)
    assert render_labels(labels, A6) == render_labels(labels, load_layout(A6))
    assert render_zpl(labels, THERMAL) == render_zpl(labels, load_layout(THERMAL))
    with pytest.raises(ValueError, match="no such layout"):
        render_labels(labels, "a7")


def test_an_empty_run_gives_a_single_explained_page():
    document = render_labels([], load_layout(A6))
    assert pages_text(document) == ["Không có nhãn nào để in.\n\n"]


def test_label_from_dossier_prefers_the_result_and_the_delivery_address():
    dossier = paper_dossier()
    folder = dossier.items[0]
    assert label_from_dossier(dossier).item_number == folder.number
    result = Item(number=make_s10("RE", 777), kind=ItemKind.RESULT, dossier=dossier)
    label = label_from_dossier(dossier)
    assert label.item_number == result.number
    assert label_from_dossier(dossier, folder).item_number == folder.number
    assert label.address == "Số 12 đường Hà Huy Tập, Phường Thành Sen, Tỉnh Hà Tĩnh"
    assert (label.recipient_name, label.phone, label.cod_amount) == (NAME, "0912345678", 33000)
    assert label.dossier_code == dossier.code


def test_label_from_dossier_without_items_says_so():
    with pytest.raises(ValueError, match="no item"):
        label_from_dossier(paper_dossier(accepted=False))


# --- ZPL ----------------------------------------------------------------------------------

def test_zpl_has_one_utf8_format_per_label_with_the_number_as_code128():
    labels = run_labels(3)
    zpl = render_zpl(labels, load_layout(THERMAL))
    formats = re.findall(r"\^XA(.*?)\^XZ", zpl, flags=re.S)
    assert len(formats) == 3 and zpl.count("^XA") == zpl.count("^XZ") == 3
    for body, label in zip(formats, labels, strict=True):
        assert "^CI28" in body and "^PW800" in body and "^LL1200" in body
        assert re.search(rf"\^BCN,\d+,Y,N,N\^FD{label.item_number}\^FS", body)
        assert f"^FH_^FD{NAME}^FS" in body
        assert "^FDĐT: 0912345678^FS" in body


def test_zpl_barcode_fits_the_label_even_in_code_set_b():
    layout = load_layout(THERMAL)
    zpl = render_zpl(run_labels(1), layout)
    x, module = map(int, re.search(r"\^FO(\d+),\d+\^BY(\d+)\^BC", zpl).groups())
    bars_b = 11 * 13 + 35  # 13 characters in set B, start, check digit and stop
    assert x >= 10 * module  # quiet zone on the left
    assert x + (bars_b + 10) * module <= layout.label[0] * layout.dpmm


def test_zpl_escapes_its_control_characters_in_field_data():
    (label,) = run_labels(1)
    zpl = render_zpl([replace(label, recipient_name="A^B~C_D\\E", sender="Dòng 1\nDòng 2")],
                     load_layout(A6))
    assert "^FDA_5EB_7EC_5FD_5CE^FS" in zpl
    assert "Dòng 1\\&Dòng 2" in zpl
    assert zpl.count("^XA") == 1
