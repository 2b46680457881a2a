"""A job's row, written by the worker that runs it: claim, progress, heartbeat, the end.

Every write here is a short transaction of its own on a session of its own, never the job's
working session: the import holds read transactions across its progress calls, and a poll
from any web worker must see the progress as soon as it is written. A worker that finds the row
no longer its own (another worker declared it dead) stops the job (`Lost`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from postal.core.db import write_intent
from postal.models import Job, JobState, utcnow
from postal.models.job import ENDED

log = logging.getLogger(__name__)
THROTTLE = 0.2  # seconds between two progress writes of one job (stage changes always go)
KEEP = timedelta(days=30)  # ended jobs are forgotten after this
WORKER_DIED = "tiến trình xử lý đã dừng giữa chừng; không có gì được ghi, hãy gửi lại tệp"


class Lost(Exception):
    """The job is no longer this worker's: another one declared it dead."""


def worker_id() -> str:
    """host:pid of this process, stored on the jobs it runs."""
    return f"{socket.gethostname()}:{os.getpid()}"


@contextlib.contextmanager
def writing(engine: Engine) -> Iterator[Session]:
    """A short writing transaction (SQLite: BEGIN IMMEDIATE) on a session of its own."""
    token = write_intent.set(True)
    try:
        with Session(engine, expire_on_commit=False) as session, session.begin():
            yield session
    finally:
        write_intent.reset(token)


class Reporter:
    """What the running job tells its row: progress, notes for its undo, heartbeat, the end."""

    def __init__(self, engine: Engine, job_id: str, *, lease: timedelta,
                 worker: str | None = None):
        self.engine = engine
        self.job_id = job_id
        self.lease = lease
        self.worker = worker or worker_id()
        self.result: dict = {}
        self._stage: str | None = None
        self._last = 0.0

    def claim(self) -> Job | None:
        """Take a queued job (None if it is not queued: done already, or swept)."""
        now = utcnow()
        with writing(self.engine) as session:
            taken = session.execute(
                update(Job).where(Job.id == self.job_id, Job.state == JobState.QUEUED)
                .values(state=JobState.RUNNING, worker=self.worker, heartbeat_at=now,
                        updated_at=now, stage=None, done=0, total=None, result=None,
                        error=None)).rowcount
            return session.get(Job, self.job_id) if taken == 1 else None

    def _update(self, **values) -> None:
        values.setdefault("updated_at", utcnow())
        with writing(self.engine) as session:
            mine = session.execute(
                update(Job).where(Job.id == self.job_id, Job.state == JobState.RUNNING,
                                  Job.worker == self.worker).values(**values)).rowcount
        if mine != 1:
            raise Lost(self.job_id)

    def progress(self, stage: str, done: int, total: int | None) -> None:
        now = time.monotonic()
        if stage == self._stage and now - self._last < THROTTLE and done != total:
            return
        self._stage, self._last = stage, now
        self._update(stage=stage, done=done, total=total, heartbeat_at=utcnow())

    def note(self, **result) -> None:
        """Keep something in the row at once (an import's batch id, for whoever undoes it)."""
        self.result.update(result)
        self._update(result=dict(self.result), heartbeat_at=utcnow())

    def finish(self, state: JobState, *, result: dict | None = None,
               error: dict | None = None) -> None:
        self._update(state=state, result={**self.result, **(result or {})}, error=error)

    @contextlib.contextmanager
    def beating(self) -> Iterator[None]:
        """A thread writing the heartbeat every quarter lease while the job runs."""
        stop = threading.Event()
        every = max(self.lease.total_seconds() / 4, 0.2)

        def beat() -> None:
            while not stop.wait(every):
                try:
                    self._update(heartbeat_at=utcnow())
                except Lost:
                    return
                except Exception:  # the next beat may get through; the lease is 4 beats
                    log.exception("job %s: heartbeat failed", self.job_id)

        thread = threading.Thread(target=beat, daemon=True, name=f"beat-{self.job_id[:8]}")
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()


def _gone(worker: str | None) -> bool:
    """The worker is a process of this host that no longer exists."""
    host, _, pid = (worker or "").rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, someone else's
        return False
    return False


def take_over_dead(engine: Engine, *, lease: timedelta, now: datetime,
                   worker: str | None = None) -> list[Job]:
    """Running jobs whose worker died (its process on this host is gone, or its heartbeat is
    older than the lease), each taken over by this worker (exactly one sweeper gets it) to be
    undone and then failed (`fail`). A sweeper that dies meanwhile leaves it to the next."""
    worker = worker or worker_id()
    with Session(engine, expire_on_commit=False) as session:
        running = list(session.scalars(select(Job).where(Job.state == JobState.RUNNING)))
    dead = []
    for job in running:
        if not (_gone(job.worker) or job.heartbeat_at is None
                or job.heartbeat_at < now - lease):
            continue
        with writing(engine) as session:
            taken = session.execute(
                update(Job).where(Job.id == job.id, Job.state == JobState.RUNNING,
                                  Job.worker == job.worker)
                .values(worker=worker, stage="undo", heartbeat_at=now, updated_at=now)
            ).rowcount
        if taken == 1:
            log.warning("job %s (%s): worker %s died, undoing it", job.id, job.kind,
                        job.worker)
            dead.append(job)
    return dead


def fail(engine: Engine, job_id: str, message: str, *, worker: str | None = None) -> None:
    """The end of a job taken over from a dead worker, once what it wrote is undone."""
    with writing(engine) as session:
        session.execute(
            update(Job).where(Job.id == job_id, Job.state == JobState.RUNNING,
                              Job.worker == (worker or worker_id()))
            .values(state=JobState.FAILED, updated_at=utcnow(),
                    error={"message": message, "errors": []}))


def expired(engine: Engine, *, state: JobState, before: datetime, message: str) -> list[Job]:
    """Jobs left in `state` since before `before`, marked failed with `message`."""
    with Session(engine, expire_on_commit=False) as session:
        old = list(session.scalars(select(Job).where(Job.state == state,
                                                     Job.updated_at < before)))
    gone = []
    for job in old:
        with writing(engine) as session:
            taken = session.execute(
                update(Job).where(Job.id == job.id, Job.state == state)
                .values(state=JobState.FAILED, updated_at=utcnow(),
                        error={"message": message, "errors": []})).rowcount
        if taken == 1:
            gone.append(job)
    return gone


def forget_old(engine: Engine, *, now: datetime) -> int:
    """Delete ended jobs older than KEEP."""
    with writing(engine) as session:
        return session.execute(delete(Job).where(Job.state.in_(ENDED),
                                                 Job.updated_at < now - KEEP)).rowcount
