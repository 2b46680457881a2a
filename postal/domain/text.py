"""Text on the way in: NFC normalisation, and accent-folded keys for searching Vietnamese."""

from __future__ import annotations

import re
import unicodedata

_SPACES = re.compile(r"\s+")
# đ/Đ carry no combining mark, so NFD does not split them.
_EXTRA = str.maketrans({"đ": "d", "Đ": "d"})


def clean(value: str | None) -> str:
    """NFC, trimmed, inner whitespace collapsed; None becomes ''."""
    if value is None:
        return ""
    return _SPACES.sub(" ", unicodedata.normalize("NFC", str(value))).strip()


def fold(value: str | None) -> str:
    """Lower-case, accent-free key: 'Hộ kinh doanh Đông' -> 'ho kinh doanh dong'."""
    decomposed = unicodedata.normalize("NFD", clean(value).translate(_EXTRA))
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return stripped.casefold()
