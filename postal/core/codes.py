"""Codes printed on paper and scanned back: UPU S10 item numbers, dossier and manifest codes."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from typing import Literal, NamedTuple

S10_WEIGHTS = (8, 6, 4, 2, 3, 5, 9, 7)
MANIFEST_PREFIX = "BK"  # bảng kê bàn giao

BarcodeKind = Literal["s10", "dossier", "manifest"]

_S10 = re.compile(r"([A-Z]{2})([0-9]{8})([0-9])([A-Z]{2})")
_LETTERS2 = re.compile(r"[A-Z]{2}")
# Unit codes such as 000.00.07.H26: letters and digits in dot-separated groups, no hyphens,
# so a code can be split from the right and a manifest code never reads as a dossier code.
_UNIT = r"[0-9A-Za-z]+(?:\.[0-9A-Za-z]+)*"
_UNIT_CODE = re.compile(_UNIT)
_DOSSIER = re.compile(rf"({_UNIT})-([0-9]{{6}})-([0-9]{{4,}})")
_MANIFEST = re.compile(rf"{MANIFEST_PREFIX}-({_UNIT})-([0-9]{{6}})-([0-9]{{3,}})")


class S10(NamedTuple):
    """The parts of a UPU S10 item number."""

    service: str
    serial: int
    check: int
    country: str


def s10_check_digit(serial8: str) -> int:
    """UPU S10 check digit of an 8-digit serial number."""
    if len(serial8) != 8 or not (serial8.isascii() and serial8.isdigit()):
        raise ValueError(f"an S10 serial is 8 digits, got {serial8!r}")
    c = 11 - sum(w * int(ch) for w, ch in zip(S10_WEIGHTS, serial8, strict=True)) % 11
    return {10: 0, 11: 5}.get(c, c)


def make_s10(service: str, serial: int, country: str = "VN") -> str:
    """Build a 13-character S10 item number, e.g. RR473124829GB."""
    service, country = service.upper(), country.upper()
    if not _LETTERS2.fullmatch(service):
        raise ValueError(f"service indicator must be 2 letters, got {service!r}")
    if not _LETTERS2.fullmatch(country):
        raise ValueError(f"country must be 2 letters, got {country!r}")
    if not 0 <= serial <= 99_999_999:
        raise ValueError(f"serial must fit in 8 digits, got {serial!r}")
    digits = f"{serial:08d}"
    return f"{service}{digits}{s10_check_digit(digits)}{country}"


def parse_s10(s: str) -> S10:
    """Split an S10 number (whitespace stripped, case ignored); ValueError if invalid."""
    m = _S10.fullmatch(s.strip().upper())
    if m is None:
        raise ValueError(f"not an S10 item number: {s!r}")
    service, digits, check, country = m.groups()
    if s10_check_digit(digits) != int(check):
        raise ValueError(f"wrong S10 check digit: {s!r}")
    return S10(service, int(digits), int(check), country)


def is_valid_s10(s: str) -> bool:
    """True if s is a well-formed S10 number with the right check digit."""
    try:
        parse_s10(s)
    except ValueError:
        return False
    return True


def _yymmdd(day: date) -> str:
    if not 2000 <= day.year <= 2099:
        raise ValueError(f"codes carry a two-digit year; {day.year} is out of range")
    return day.strftime("%y%m%d")


def _check_parts(unit_code: str, seq: int) -> None:
    if not _UNIT_CODE.fullmatch(unit_code):
        raise ValueError(f"unit code must be dot-separated letters and digits: {unit_code!r}")
    if seq < 1:
        raise ValueError(f"sequence numbers start at 1, got {seq!r}")


def format_dossier_code(unit_code: str, day: date, seq: int) -> str:
    """Dossier code {unit_code}-{yymmdd}-{seq:04d}; seq past 9999 just gets more digits."""
    _check_parts(unit_code, seq)
    return f"{unit_code}-{_yymmdd(day)}-{seq:04d}"


def format_manifest_code(unit_code: str, day: date, seq: int) -> str:
    """Handover manifest code BK-{unit_code}-{yymmdd}-{seq:03d}."""
    _check_parts(unit_code, seq)
    return f"{MANIFEST_PREFIX}-{unit_code}-{_yymmdd(day)}-{seq:03d}"


def _parse(
    pattern: re.Pattern[str], code: str, kind: str, fmt: Callable[[str, date, int], str]
) -> tuple[str, date, int]:
    m = pattern.fullmatch(code.strip())
    if m is None:
        raise ValueError(f"not a {kind} code: {code!r}")
    unit_code, ymd, seq_text = m.groups()
    try:
        day = date(2000 + int(ymd[:2]), int(ymd[2:4]), int(ymd[4:]))
    except ValueError:
        raise ValueError(f"{kind} code {code!r} has no valid date") from None
    seq = int(seq_text)
    # Only the canonical spelling is accepted (no extra zero padding, no sequence 0).
    if seq < 1 or fmt(unit_code, day, seq) != m.group(0):
        raise ValueError(f"not a canonical {kind} code: {code!r}")
    return unit_code, day, seq


def parse_dossier_code(code: str) -> tuple[str, date, int]:
    """Split a dossier code into (unit_code, date, seq); ValueError if malformed."""
    return _parse(_DOSSIER, code, "dossier", format_dossier_code)


def parse_manifest_code(code: str) -> tuple[str, date, int]:
    """Split a manifest code into (unit_code, date, seq); ValueError if malformed."""
    return _parse(_MANIFEST, code, "manifest", format_manifest_code)


def classify_barcode(text: str) -> BarcodeKind | None:
    """Tell what a scanned code is, or None if it is none of ours (or misread)."""
    if is_valid_s10(text):
        return "s10"
    parsers: tuple[tuple[BarcodeKind, Callable[[str], object]], ...] = (
        ("manifest", parse_manifest_code),
        ("dossier", parse_dossier_code),
    )
    for kind, parse in parsers:
        try:
            parse(text)
        except ValueError:
            continue
        return kind
    return None


# The intake record of a dossier not accepted (asked for supplements, or refused) has no
# dossier code: its slip carries "TN" and the record's number, scannable at the counter.
INTAKE_PREFIX = "TN"


def intake_ref(record_id: int) -> str:
    return f"{INTAKE_PREFIX}{record_id}"


def intake_id(text: str | None) -> int | None:
    """The intake record number a slip's barcode (or what a clerk typed) names, if any."""
    text = (text or "").strip().upper()
    if text.startswith(INTAKE_PREFIX) and text[len(INTAKE_PREFIX):].isdigit():
        number = int(text[len(INTAKE_PREFIX):])
        return number if 0 < number < 2**31 else None
    return None
