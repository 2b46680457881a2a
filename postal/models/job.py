"""Background jobs: one row per piece of work handed to the queue, so that any web worker can
answer "how far is it?" and a worker that died is noticed by the next one."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, Enum, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from postal.models.base import Base, UTCDateTime, utcnow


class JobState(enum.StrEnum):
    QUEUED = "queued"  # handed to the queue, no worker has taken it yet
    RUNNING = "running"  # a worker holds it and beats its heart (heartbeat_at)
    CONFIRM = "confirm"  # stopped for a person's confirmation (an import's new catalogue entries)
    DONE = "done"
    FAILED = "failed"


ENDED = (JobState.DONE, JobState.FAILED)


class Job(Base):
    """A job of the queue (jobs/queue.py): what it is, who asked, how far it got, how it ended.

    The queue's message carries only the id; everything else is here, in the database every web
    worker reads. A RUNNING job whose heartbeat is older than the lease, or whose worker process
    on this host is gone, belongs to a dead worker: the next worker marks it FAILED and lets the
    job's kind undo what it wrote (an import deletes its batch)."""

    __tablename__ = "job"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # uuid4 hex: not guessable
    kind: Mapped[str] = mapped_column(String(20))  # import, ...
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))  # None: the CLI
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"))
    state: Mapped[JobState] = mapped_column(
        Enum(JobState, native_enum=False, length=10,
             values_callable=lambda e: [m.value for m in e]),
        default=JobState.QUEUED)
    stage: Mapped[str | None] = mapped_column(String(20))  # the kind's own step (validate, import)
    done: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int | None] = mapped_column(Integer)
    params: Mapped[dict] = mapped_column(JSON, default=dict)  # what the worker needs to run it
    result: Mapped[dict | None] = mapped_column(JSON)
    error: Mapped[dict | None] = mapped_column(JSON)  # {"message": ..., "errors": [...]}
    worker: Mapped[str | None] = mapped_column(String(120))  # host:pid of the worker holding it
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_job_state_heartbeat", "state", "heartbeat_at"),
                      Index("ix_job_user_id", "user_id"))

    def __repr__(self) -> str:
        return f"<Job {self.id[:8]} {self.kind} {self.state}>"
