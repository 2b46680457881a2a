"""A photo sent from the door in parts: a cut connection resumes at the last part the server
kept instead of starting the photo again (the phone asks how far it got)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from postal.models.base import Base, UTCDateTime, utcnow


class PhotoUpload(Base):
    __tablename__ = "photo_upload"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # the phone's UUID
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    length: Mapped[int] = mapped_column(Integer)  # bytes the whole photo has
    sha256: Mapped[str] = mapped_column(String(64))  # hex digest of the whole, from the phone
    received: Mapped[int] = mapped_column(Integer, default=0)  # bytes kept so far, in order
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    parts = relationship("PhotoUploadPart", order_by="PhotoUploadPart.offset",
                         cascade="all, delete-orphan")

    def __repr__(self) -> str:
        return f"<PhotoUpload {self.id} {self.received}/{self.length}>"


class PhotoUploadPart(Base):
    __tablename__ = "photo_upload_part"

    upload_id: Mapped[str] = mapped_column(ForeignKey("photo_upload.id"), primary_key=True)
    offset: Mapped[int] = mapped_column(Integer, primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)

    def __repr__(self) -> str:
        return f"<PhotoUploadPart {self.upload_id}@{self.offset}>"
