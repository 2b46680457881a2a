"""Text on the way in: NFC normalisation, and accent-folded keys for searching Vietnamese."""

from __future__ import annotations

import re
import unicodedata

_SPACES = re.compile(r"\s+")
# control characters (NUL and friends) are never part of a name, an address or a code
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# đ/Đ carry no combining mark, so NFD does not split them.
_CASED = str.maketrans({"đ": "d", "Đ": "D"})


def clean(value: str | None) -> str:
    """NFC, trimmed, inner whitespace collapsed; None becomes ''."""
    if value is None:
        return ""
    text = _CONTROL.sub("", unicodedata.normalize("NFC", str(value)))
    return _SPACES.sub(" ", text).strip()


def fold(value: str | None) -> str:
    """Lower-case, accent-free key: 'Hộ kinh doanh Đông' -> 'ho kinh doanh dong'."""
    return unaccent(clean(value)).casefold()


def unaccent(value: str | None) -> str:
    """Vietnamese without diacritics, case kept: 'Hồ sơ Đông' -> 'Ho so Dong' (SMS fallback)."""
    decomposed = unicodedata.normalize("NFD", (value or "").translate(_CASED))
    return unicodedata.normalize(
        "NFC", "".join(c for c in decomposed if not unicodedata.combining(c)))


MAX_REASON = 2000  # characters of a reason (refusal, supplement, stop, correction, ...)


def checked_reason(value: str | None, *, required: bool = True) -> str:
    """A reason as typed, cleaned; a 422 naming the field "reason" when it is missing (if
    required) or longer than MAX_REASON."""
    from postal.core.errors import ValidationFailed

    reason = clean(value)
    if required and not reason:
        raise ValidationFailed("nhập lý do", field="reason")
    if len(reason) > MAX_REASON:
        raise ValidationFailed(f"lý do tối đa {MAX_REASON} ký tự", field="reason")
    return reason


def percent(value: float | None) -> str:
    """A share as shown on pages and papers: 12.5%, or a dash when there is nothing to share."""
    return "—" if value is None else f"{value * 100:.1f}%"


def money(value: int | None) -> str:
    """Vietnamese đồng with dots between thousands: 1.250.000 đ."""
    return f"{value or 0:,}".replace(",", ".") + " đ"
