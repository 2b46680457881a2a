"""Applicants: citizen ID numbers, Vietnamese mobiles, chip-card (CCCD) QR codes, addresses."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from postal.core.errors import Problems, ValidationFailed
from postal.core.text import clean, fold
from postal.models import OrgUnit, UnitKind

# Birth-registration province codes that open a 12-digit personal ID number (Circular
# 07/2016/TT-BCA, kept by Circular 59/2021/TT-BCA): the 63 provinces before the 2025 merger.
ID_PROVINCES = frozenset(
    "001 002 004 006 008 010 011 012 014 015 017 019 020 022 024 025 026 027 030 031 033 034 035 "
    "036 037 038 040 042 044 045 046 048 049 051 052 054 056 058 060 062 064 066 067 068 070 072 "
    "074 075 077 079 080 082 083 084 086 087 089 091 092 093 094 095 096".split()
)
# Mobile prefixes after the 2018 renumbering: Viettel 032–039, 086, 096–098; Vinaphone 081–085,
# 088, 091, 094; MobiFone 070, 076–079, 089, 090, 093; Vietnamobile 052, 056, 058, 092;
# Gmobile 059, 099; Reddi 055; iTel 087; the rest of 09x is kept for older allocations.
_MOBILE = re.compile(r"0(?:3[2-9]|5[25689]|7[06-9]|8[1-9]|9[0-9])[0-9]{7}")
_PHONE_NOISE = re.compile(r"[\s.\-()]")
# Prefixes of commune-level units as written in addresses (after and before the 2025 reform).
_COMMUNE_PREFIXES = ("xa ", "phuong ", "dac khu ", "thi tran ")
_PROVINCE_PREFIXES = ("tinh ", "thanh pho ", "tp. ", "tp ")


def normalise_id_number(value: str | None, *, today: date | None = None) -> str:
    """A valid 12-digit citizen ID number (CCCD / số định danh cá nhân), or ValidationFailed.

    Digits 1–3: province of birth registration; digit 4: century and sex (0/1 = 1900s, 2/3 =
    2000s, …); digits 5–6: year of birth, which cannot lie in the future.
    """
    digits = re.sub(r"\s", "", clean(value))
    if not re.fullmatch(r"[0-9]{12}", digits):
        raise ValidationFailed("số CCCD/định danh phải gồm đúng 12 chữ số",
                               field="applicant.id_number")
    if digits[:3] not in ID_PROVINCES:
        raise ValidationFailed(f"số CCCD không hợp lệ: mã tỉnh {digits[:3]} không tồn tại",
                               field="applicant.id_number")
    year = 1900 + 100 * (int(digits[3]) // 2) + int(digits[4:6])
    if year > (today or date.today()).year:
        raise ValidationFailed("số CCCD không hợp lệ: năm sinh ở tương lai",
                               field="applicant.id_number")
    return digits


def normalise_phone(value: str | None, *, field: str = "applicant.phone") -> str:
    """A Vietnamese mobile number as 10 digits starting with 0 (+84 / 84 accepted)."""
    raw = _PHONE_NOISE.sub("", clean(value))
    if raw.startswith("+84"):
        raw = "0" + raw[3:]
    elif raw.startswith("84") and len(raw) == 11:
        raw = "0" + raw[2:]
    if not _MOBILE.fullmatch(raw):
        raise ValidationFailed(
            "số điện thoại di động không hợp lệ (10 chữ số, ví dụ 0912345678)", field=field
        )
    return raw


def ward_by_code(session: Session, code: str | None, *, field: str) -> OrgUnit:
    """The commune/ward with this code, or ValidationFailed on `field`."""
    code = clean(code)
    if not code:
        raise ValidationFailed("chọn xã/phường", field=field)
    candidates = [code] + ([f"{int(code):05d}"] if code.isdigit() else [])
    ward = session.scalar(
        select(OrgUnit).where(OrgUnit.code.in_(candidates), OrgUnit.kind == UnitKind.COMMUNE)
    )
    if ward is None:
        raise ValidationFailed(f"không có xã/phường mã {code!r}", field=field)
    return ward


def _province_root(unit: OrgUnit) -> str:
    return "/" + unit.path.strip("/").split("/")[0] + "/"


def search_wards(session: Session, q: str | None, *, near: OrgUnit | None = None,
                 limit: int = 20) -> list[OrgUnit]:
    """Communes with a word starting with each word of `q` (accents ignored): those of `near`'s
    province first, exact names first."""
    words = fold(q).split()
    if not words:
        return []
    stmt = select(OrgUnit).where(OrgUnit.kind == UnitKind.COMMUNE)
    for word in words:
        stmt = stmt.where(or_(OrgUnit.name_key.startswith(word, autoescape=True),
                              OrgUnit.name_key.contains(" " + word, autoescape=True)))
    if near is not None:
        stmt = stmt.order_by(OrgUnit.path.startswith(_province_root(near)).desc())
    key = " ".join(words)
    exact = OrgUnit.name_key.in_([key] + [prefix + key for prefix in _COMMUNE_PREFIXES])
    stmt = stmt.order_by(exact.desc(), OrgUnit.name)
    return list(session.scalars(stmt.limit(limit)))


@dataclass(frozen=True)
class CccdCard:
    """The fields of the QR code on a chip ID card."""

    id_number: str
    old_id_number: str
    full_name: str
    birth_date: date | None
    sex: str
    address: str
    issued_on: date | None


def _ddmmyyyy(value: str) -> date | None:
    value = value.strip()
    if not re.fullmatch(r"[0-9]{8}", value):
        return None
    try:
        return date(int(value[4:]), int(value[2:4]), int(value[:2]))
    except ValueError:
        return None


def parse_cccd_qr(text: str | None) -> CccdCard:
    """Read `id|old_id|full name|ddmmyyyy|sex|address|issue date` (what the card's QR holds)."""
    parts = [clean(p) for p in clean(text).split("|")]
    if len(parts) < 6 or not re.fullmatch(r"[0-9]{12}", parts[0]):
        raise ValidationFailed("không đọc được mã QR của thẻ CCCD", field="cccd")
    return CccdCard(
        id_number=parts[0], old_id_number=parts[1], full_name=parts[2],
        birth_date=_ddmmyyyy(parts[3]), sex=parts[4], address=parts[5],
        issued_on=_ddmmyyyy(parts[6]) if len(parts) > 6 else None,
    )


def _strip(key: str, prefixes: tuple[str, ...]) -> str:
    for prefix in prefixes:
        if key.startswith(prefix):
            return key[len(prefix):]
    return key


def split_address(session: Session, address: str, *, near: OrgUnit | None = None
                  ) -> tuple[str, OrgUnit | None]:
    """Split an address into (street, ward) where one of its parts names a commune.

    A part matches a commune of the same name (with or without Xã/Phường/Đặc khu); parts that
    say Xã/Phường are tried first. When several communes share the name (238 names do), a
    province named in the address decides, else `near`'s province; an ambiguous part stays in
    the street.
    """
    parts = [p.strip() for p in clean(address).split(",") if p.strip()]
    provinces = dict(session.execute(
        select(OrgUnit.name_key, OrgUnit.path).where(OrgUnit.kind == UnitKind.PROVINCE)
    ).all())
    by_name = {_strip(key, _PROVINCE_PREFIXES): path for key, path in provinces.items()}
    province_keys = [_strip(fold(p), _PROVINCE_PREFIXES) for p in parts]
    named = [by_name[k] for k in province_keys if k in by_name]
    scopes = named[-1:] or ([_province_root(near)] if near is not None else [])
    # a part saying "Xã …" or "Phường …" is read before a bare name such as a street "Trần Phú"
    prefixed = [i for i, p in enumerate(parts) if fold(p).startswith(_COMMUNE_PREFIXES)]
    bare = [i for i in range(len(parts)) if i not in prefixed]
    for i in prefixed + bare:
        if province_keys[i] in by_name:
            continue
        key = _strip(fold(parts[i]), _COMMUNE_PREFIXES)
        found = session.scalars(select(OrgUnit).where(
            OrgUnit.kind == UnitKind.COMMUNE,
            OrgUnit.name_key.in_([prefix + key for prefix in _COMMUNE_PREFIXES]),
        )).all()
        hits = [w for w in found if any(w.path.startswith(s) for s in scopes)] or found
        if len(hits) == 1:
            return ", ".join(parts[:i]), hits[0]
    return ", ".join(parts), None


@dataclass(frozen=True)
class ApplicantInput:
    """An applicant's details once checked: what goes into an Applicant row."""

    full_name: str
    id_number: str | None
    phone: str | None
    street: str
    ward: OrgUnit | None


def check_applicant(session: Session, data: dict | None, *, strict: bool,
                    today: date | None = None) -> ApplicantInput:
    """Validate `{full_name, id_number, phone, address: {street, ward_code}}`.

    Accepting needs all of them (the receipt, the register and the public status look-up by
    phone rely on them); a supplement or refusal slip needs only the name, the rest is checked
    when given.
    """
    data = data if isinstance(data, dict) else {}
    address = data.get("address") if isinstance(data.get("address"), dict) else {}
    problems = Problems()  # every field is checked: the clerk sees all that is wrong at once
    full_name = clean(data.get("full_name"))
    with problems.check():
        if not full_name:
            raise ValidationFailed("nhập họ tên người nộp", field="applicant.full_name")
        if len(full_name) > 200:
            raise ValidationFailed("họ tên tối đa 200 ký tự", field="applicant.full_name")
    id_number = clean(data.get("id_number"))
    with problems.check():
        if id_number or strict:
            id_number = normalise_id_number(id_number, today=today)
    phone = clean(data.get("phone"))
    with problems.check():
        if phone or strict:
            phone = normalise_phone(phone)
    street = clean(address.get("street"))
    with problems.check():
        if len(street) > 300:
            raise ValidationFailed("địa chỉ tối đa 300 ký tự", field="applicant.address.street")
    ward_code = clean(address.get("ward_code"))
    ward = None
    with problems.check():
        if ward_code or strict:
            ward = ward_by_code(session, ward_code, field="applicant.address.ward_code")
    problems.raise_any()
    return ApplicantInput(full_name, id_number or None, phone or None, street, ward)
