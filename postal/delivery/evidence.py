"""Checking the evidence a courier sends from the door: a photo, or a signature drawn on the
screen. Only the bytes' own signature is trusted, never a file name or a declared type."""

from __future__ import annotations

import base64
import binascii
import re

from postal.core.errors import ValidationFailed

PNG = b"\x89PNG\r\n\x1a\n"
JPEG = b"\xff\xd8\xff"
# the smallest real image file is larger than this: anything shorter is a stray byte string
MIN_BYTES = 32
_DATA_URL = re.compile(r"data:image/png;base64,([A-Za-z0-9+/=\s]+)", re.IGNORECASE)


def image_type(data: bytes) -> str | None:
    """"image/jpeg", "image/png" or "image/webp" from the magic bytes, else None."""
    if data.startswith(JPEG):
        return "image/jpeg"
    if data.startswith(PNG):
        return "image/png"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def check_photo(data: bytes | None, max_bytes: int, *, field: str = "photo") -> str:
    """The photo's type, or ValidationFailed: not a JPEG, PNG or WebP, empty, or too large."""
    if not data:
        raise ValidationFailed("ảnh trống", field=field)
    if len(data) > max_bytes:
        raise ValidationFailed(f"ảnh quá lớn: {len(data) // 1024} KB, tối đa "
                               f"{max_bytes // 1024} KB", field=field)
    kind = image_type(data)
    if kind is None or len(data) < MIN_BYTES:
        raise ValidationFailed("tệp không phải ảnh JPEG, PNG hay WebP", field=field)
    return kind


def decode_signature(value: str | bytes | None, max_bytes: int) -> bytes | None:
    """The PNG bytes of a canvas signature sent as a data URL (or raw PNG bytes); None if
    nothing was sent; ValidationFailed if it is anything else or too large."""
    if value is None or value == "" or value == b"":
        return None
    if isinstance(value, bytes):
        data = value
    elif not isinstance(value, str):
        raise ValidationFailed("chữ ký phải là chuỗi data URL", field="signature")
    else:
        if len(value) > max_bytes * 4 // 3 + 100:
            raise ValidationFailed("chữ ký quá lớn", field="signature")
        match = _DATA_URL.fullmatch(value.strip())
        if match is None:
            raise ValidationFailed("chữ ký phải là ảnh PNG (data:image/png;base64,…)",
                                   field="signature")
        try:
            data = base64.b64decode("".join(match.group(1).split()), validate=True)
        except (binascii.Error, ValueError):
            raise ValidationFailed("chữ ký không đọc được (base64 hỏng)",
                                   field="signature") from None
    if len(data) > max_bytes:
        raise ValidationFailed("chữ ký quá lớn", field="signature")
    if not data.startswith(PNG) or len(data) < MIN_BYTES:
        raise ValidationFailed("chữ ký phải là ảnh PNG", field="signature")
    return data


def decode_photo(value: str | bytes | None, max_bytes: int) -> bytes | None:
    """A photo sent in JSON as base64 (or a data URL), or as raw bytes from a multipart file."""
    if value is None or value == "" or value == b"":
        return None
    if isinstance(value, bytes):
        return value
    if not isinstance(value, str):
        raise ValidationFailed("ảnh phải là chuỗi base64", field="photo")
    text = value.strip()
    if text.startswith("data:"):
        text = text.partition(",")[2]
    if len(text) > max_bytes * 4 // 3 + 100:
        raise ValidationFailed(f"ảnh quá lớn: tối đa {max_bytes // 1024} KB", field="photo")
    try:
        return base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        raise ValidationFailed("ảnh không đọc được (base64 hỏng)", field="photo") from None
