"""UPU S10 item numbers, dossier and manifest codes, and telling scanned codes apart."""

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from postal.core.codes import (
    S10,
    classify_barcode,
    format_dossier_code,
    format_manifest_code,
    is_valid_s10,
    make_s10,
    parse_dossier_code,
    parse_manifest_code,
    parse_s10,
    s10_check_digit,
)

# -- UPU S10 --------------------------------------------------------------------------------


def test_check_digit_matches_the_published_example_rr473124829gb():
    assert s10_check_digit("47312482") == 9
    assert is_valid_s10("RR473124829GB")


def test_check_digit_eleven_becomes_five_and_ten_becomes_zero():
    assert s10_check_digit("00000000") == 5  # s = 0  → c = 11 → 5
    assert s10_check_digit("00060000") == 0  # s = 12 → c = 10 → 0
    assert s10_check_digit("00010000") == 9  # s = 2  → c = 9


def test_check_digit_needs_exactly_eight_ascii_digits():
    for bad in ("4731248", "473124821", "4731248A", "٤٧٣١٢٤٨٢", ""):
        with pytest.raises(ValueError):
            s10_check_digit(bad)


def test_make_s10_builds_thirteen_characters_ending_in_vn():
    code = make_s10("RR", 47312482)
    assert code == "RR473124829VN"
    assert make_s10("rr", 47312482, country="gb") == "RR473124829GB"
    assert make_s10("EE", 1) == "EE000000014VN"


@pytest.mark.parametrize(
    "service, serial, country",
    [("R", 1, "VN"), ("R1", 1, "VN"), ("RR", -1, "VN"), ("RR", 100_000_000, "VN"), ("RR", 1, "V")],
)
def test_make_s10_refuses_what_does_not_fit_the_format(service, serial, country):
    with pytest.raises(ValueError):
        make_s10(service, serial, country)


def test_parse_s10_strips_whitespace_and_uppercases():
    assert parse_s10("  rr473124829gb\n") == S10("RR", 47312482, 9, "GB")


@pytest.mark.parametrize(
    "text", ["RR473124828GB", "RR47312482GB", "R4473124829GB", "RR473124829G1", "RR4731248299GB"]
)
def test_parse_s10_rejects_wrong_check_digit_or_shape(text):
    assert not is_valid_s10(text)
    with pytest.raises(ValueError):
        parse_s10(text)


def test_s10_cannot_catch_a_digit_change_between_sums_0_and_6_mod_11():
    # Known weakness of the S10 rule itself: c = 11 → 5 collides with s mod 11 = 6 → c = 5.
    assert is_valid_s10("RR000000005VN")
    assert is_valid_s10("RR900000005VN")


serials = st.integers(min_value=0, max_value=99_999_999)
letters2 = st.from_regex(r"[A-Z]{2}", fullmatch=True)


def weighted_sum_mod_11(digits):
    return sum(w * int(d) for w, d in zip((8, 6, 4, 2, 3, 5, 9, 7), digits, strict=True)) % 11


@given(letters2, serials, letters2)
def test_generated_s10_numbers_always_validate(service, serial, country):
    code = make_s10(service, serial, country)
    assert len(code) == 13
    assert parse_s10(code) == S10(service, serial, int(code[10]), country)


@given(serials, st.integers(min_value=2, max_value=10), st.integers(min_value=1, max_value=9))
def test_changing_one_digit_never_validates_except_the_5_collision(serial, position, delta):
    code = make_s10("RR", serial)
    digit = str((int(code[position]) + delta) % 10)
    changed = code[:position] + digit + code[position + 1 :]
    sums = {weighted_sum_mod_11(code[2:10]), weighted_sum_mod_11(changed[2:10])}
    if position < 10 and sums == {0, 6}:
        assert is_valid_s10(changed)  # the S10 rule's own blind spot, see above
    else:
        assert not is_valid_s10(changed)


# -- dossier and manifest codes -------------------------------------------------------------


def test_dossier_code_has_unit_date_and_four_digit_sequence():
    code = format_dossier_code("000.00.07.H26", date(2021, 6, 23), 1)
    assert code == "000.00.07.H26-210623-0001"
    assert parse_dossier_code(code) == ("000.00.07.H26", date(2021, 6, 23), 1)


def test_dossier_sequence_beyond_9999_gets_more_digits():
    code = format_dossier_code("000.00.07.H26", date(2021, 6, 23), 12345)
    assert code == "000.00.07.H26-210623-12345"
    assert parse_dossier_code(code)[2] == 12345


def test_manifest_code_is_prefixed_bk_with_three_digit_sequence():
    code = format_manifest_code("000.00.07.H26", date(2021, 6, 23), 7)
    assert code == "BK-000.00.07.H26-210623-007"
    assert parse_manifest_code(code) == ("000.00.07.H26", date(2021, 6, 23), 7)


@pytest.mark.parametrize(
    "unit, day, seq",
    [
        ("000.00.07.H26", date(2021, 6, 23), 0),
        ("000-07", date(2021, 6, 23), 1),
        ("A B", date(2021, 6, 23), 1),
        ("A..B", date(2021, 6, 23), 1),
        ("", date(2021, 6, 23), 1),
        ("H26", date(1999, 12, 31), 1),
        ("H26", date(2100, 1, 1), 1),
    ],
)
def test_codes_refuse_bad_units_sequences_and_centuries(unit, day, seq):
    with pytest.raises(ValueError):
        format_dossier_code(unit, day, seq)
    with pytest.raises(ValueError):
        format_manifest_code(unit, day, seq)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "garbage",
        "000.00.07.H26-210230-0001",  # 30 February
        "000.00.07.H26-210623-001",  # three-digit sequence
        "000.00.07.H26-210623-00001",  # padded beyond four digits
        "000.00.07.H26-210623-0000",  # sequence 0
        "000.00.07.H26-2106230-0001",
        "-210623-0001",
        "000.00.07.H26_210623_0001",
        "BK-000.00.07.H26-210623-001",  # a manifest, not a dossier
    ],
)
def test_parse_dossier_code_rejects_garbage(text):
    with pytest.raises(ValueError):
        parse_dossier_code(text)


@pytest.mark.parametrize(
    "text", ["000.00.07.H26-210623-0001", "BK-H26-210623-01", "BK--210623-001"]
)
def test_parse_manifest_code_rejects_non_manifests(text):
    with pytest.raises(ValueError):
        parse_manifest_code(text)


# -- scanning -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, kind",
    [
        ("RR473124829VN", "s10"),
        (" rr473124829vn\r\n", "s10"),
        ("000.00.07.H26-210623-0001", "dossier"),
        ("\t000.00.07.H26-210623-0001 ", "dossier"),
        ("BK-000.00.07.H26-210623-001", "manifest"),
        ("RR473124828VN", None),  # misread check digit
        ("000.00.07.H26-210632-0001", None),
        ("hello", None),
        ("", None),
    ],
)
def test_classify_barcode_tells_item_numbers_dossiers_and_manifests_apart(text, kind):
    assert classify_barcode(text) == kind


units = st.from_regex(r"[0-9A-Z]{1,4}(\.[0-9A-Za-z]{1,4}){0,4}", fullmatch=True)
code_days = st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31))
seqs = st.integers(min_value=1, max_value=10**6)


@given(units, code_days, seqs)
def test_dossier_codes_round_trip_and_classify_as_dossiers(unit, day, seq):
    code = format_dossier_code(unit, day, seq)
    assert parse_dossier_code(code) == (unit, day, seq)
    assert classify_barcode(code) == "dossier"


@given(units, code_days, seqs)
def test_manifest_codes_round_trip_and_never_read_as_dossiers(unit, day, seq):
    code = format_manifest_code(unit, day, seq)
    assert parse_manifest_code(code) == (unit, day, seq)
    assert classify_barcode(code) == "manifest"
    with pytest.raises(ValueError):
        parse_dossier_code(code)
