"""Import batches: one a file import, so that an import written in chunks can be undone whole."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from postal.models.base import Base, UTCDateTime, utcnow


class ImportBatch(Base):
    """A file being imported ("writing") or imported ("done"); its dossiers point to it.

    A batch still "writing" whose `touched_at` is long past belongs to an import whose process
    died: the next import deletes what it wrote (reporting/imports.py)."""

    __tablename__ = "import_batch"

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(200))  # the file's name
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))  # None: the CLI
    state: Mapped[str] = mapped_column(String(10), default="writing")  # writing, done
    rows: Mapped[int] = mapped_column(Integer, default=0)
    # catalogue entries the import created: {"procedures": [code, ...], "agencies": [...]}
    created: Mapped[dict] = mapped_column(JSON, default=dict)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    touched_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user = relationship("User")

    def __repr__(self) -> str:
        return f"<ImportBatch {self.id} {self.source!r} {self.state}>"
