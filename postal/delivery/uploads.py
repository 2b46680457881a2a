"""Photos from the door sent in parts, so that a connection cut halfway resumes where the
server stopped instead of sending the whole photo again.

The phone names the upload with its own UUID and says how long the photo is and its SHA-256.
Each part is put at its offset: the same part sent twice (its answer lost) is kept once, and
a part that does not continue what the server holds is refused with the offset to resume
from. The proof that uses the photo takes the parts, checks the digest, and drops them.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from postal.core.errors import Conflict, NotFound, ValidationFailed
from postal.custody.judging import CLIENT_ID
from postal.models import PhotoUpload, PhotoUploadPart, User

PART_MAX_BYTES = 256 * 1024
KEEP = timedelta(days=7)  # parts of a photo no proof came for are dropped after this
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class OffsetMismatch(Conflict):
    """The part does not continue what the server holds: resume from `offset`."""

    code = "upload_offset"

    def __init__(self, upload: PhotoUpload):
        super().__init__(f"máy chủ đã có {upload.received} byte của ảnh: gửi tiếp từ đó")
        self.offset = upload.received


def _check_id(upload_id: str) -> str:
    if not isinstance(upload_id, str) or not CLIENT_ID.fullmatch(upload_id):
        raise ValidationFailed("mã tải ảnh phải là 8–50 chữ, số, - hoặc _", field="id")
    return upload_id


def owned(session: Session, user: User, upload_id: str, *, lock: bool = False) -> PhotoUpload:
    """The user's upload; NotFound for anyone else's (ids cannot be probed)."""
    if not isinstance(upload_id, str) or not CLIENT_ID.fullmatch(upload_id):
        raise NotFound(f"không có ảnh đang tải mã {upload_id!r}")
    upload = session.get(PhotoUpload, upload_id, with_for_update=lock or None)
    if upload is None or upload.user_id != user.id:
        raise NotFound(f"không có ảnh đang tải mã {upload_id!r}")
    return upload


def begin(session: Session, user: User, upload_id: str, length, sha256, now: datetime, *,
          max_bytes: int) -> PhotoUpload:
    """Start an upload, or find the one already started (how far it got is `received`)."""
    _check_id(upload_id)
    if not isinstance(length, int) or isinstance(length, bool) or not 0 < length <= max_bytes:
        raise ValidationFailed(f"ảnh phải từ 1 byte đến {max_bytes // 1024} KB", field="length")
    digest = str(sha256 or "").lower()
    if not _SHA256.fullmatch(digest):
        raise ValidationFailed("sha256 phải là 64 chữ số hex", field="sha256")
    upload = session.get(PhotoUpload, upload_id)
    if upload is not None:
        if upload.user_id != user.id:
            raise Conflict("mã tải ảnh này đã được dùng", code="id_taken")
        if (upload.length, upload.sha256) != (length, digest):
            raise Conflict("mã tải ảnh này đã dùng cho ảnh khác", code="upload_changed")
        return upload
    for stale in session.scalars(select(PhotoUpload).where(
            PhotoUpload.user_id == user.id, PhotoUpload.created_at < now - KEEP)):
        session.delete(stale)
    upload = PhotoUpload(id=upload_id, user_id=user.id, length=length, sha256=digest,
                         received=0, created_at=now)
    session.add(upload)
    session.flush()
    return upload


def put_part(session: Session, user: User, upload_id: str, offset: int, data: bytes
             ) -> PhotoUpload:
    """Keep the part at `offset`: the next bytes of the photo, or a repeat of a kept part."""
    upload = owned(session, user, upload_id, lock=True)
    if not data:
        raise ValidationFailed("phần ảnh trống", field="body")
    if len(data) > PART_MAX_BYTES:
        raise ValidationFailed(f"mỗi phần ảnh tối đa {PART_MAX_BYTES // 1024} KB", field="body")
    if offset < upload.received:
        kept = session.get(PhotoUploadPart, (upload.id, offset))
        if kept is not None and kept.data == data:
            return upload  # sent again after its answer was lost
        raise OffsetMismatch(upload)
    if offset != upload.received:
        raise OffsetMismatch(upload)
    if upload.received + len(data) > upload.length:
        raise ValidationFailed("phần ảnh vượt quá độ dài đã khai", field="body")
    session.add(PhotoUploadPart(upload_id=upload.id, offset=offset, data=data))
    upload.received += len(data)
    session.flush()
    return upload


def take(session: Session, user: User, upload_id: str) -> bytes:
    """The whole photo, checked against its digest, its parts dropped; Conflict while parts
    are missing; ValidationFailed (and the parts dropped, to be sent again) when the bytes do
    not hash to what the phone announced."""
    upload = owned(session, user, upload_id, lock=True)
    if upload.received < upload.length:
        raise Conflict(f"ảnh mới nhận {upload.received}/{upload.length} byte: gửi tiếp ảnh",
                       code="upload_incomplete")
    data = b"".join(part.data for part in upload.parts)
    session.delete(upload)
    session.flush()
    if hashlib.sha256(data).hexdigest() != upload.sha256:
        raise ValidationFailed("ảnh nhận được không khớp mã sha256: gửi lại ảnh",
                               field="photo", code="photo_corrupt")
    return data
