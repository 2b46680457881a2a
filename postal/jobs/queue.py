"""The task queue: Huey carries job ids, the `job` table carries everything else.

QUEUE_URL picks the storage, the code is the same on each:
- "" (default) or "sqlite:////path/queue.db": SqliteHuey, a file beside the SQLite database
  (or in the instance folder when the database is PostgreSQL or in memory); no service to run.
  `postal serve` starts a consumer in its own process; `postal worker` is one more.
- "redis://host:6379/0": RedisHuey, for several machines or `gunicorn -w N` with workers apart.
- "memory": a job runs at once, inside the call that submits it (tests).

A job is a row of `job` (models/job.py), committed before its message is queued, so the worker
that takes the message always finds it, and every web worker reads the same progress. The
message is one task, `postal.run_job(job_id)`; the job's `kind` names the module that runs it
(KINDS). A worker dequeues a message before running it: if the worker dies, the message is
gone and the row stays "running" until the next worker's sweep (at its start, then every
minute) marks it failed and lets the kind undo what it wrote.
"""

from __future__ import annotations

import logging
import threading
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Protocol

from flask import Flask
from huey import MemoryHuey, RedisHuey, SqliteHuey, crontab
from huey.api import Huey
from huey.consumer import Consumer
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from postal.core.db import write_intent
from postal.core.errors import DomainError
from postal.jobs import store
from postal.models import Job, JobState, User, utcnow

log = logging.getLogger(__name__)
EXTENSION = "postal.queue"
CONFIRM_FOR = timedelta(hours=1)  # how long a job waits for a person's confirmation
EXPIRED = "hết thời gian chờ xác nhận; hãy gửi lại tệp"
_lock = threading.Lock()


class QueueUnavailable(DomainError):
    code = "queue_unavailable"
    status = 503


class Kind(Protocol):
    def run(self, app: Flask, job: Job, reporter: store.Reporter) -> None:
        """Do the work; end with reporter.finish(...). An exception marks the job failed."""

    def abandon(self, app: Flask, job: Job) -> None:
        """The job's worker died, or its confirmation expired: undo what it left."""


def kinds() -> dict[str, Kind]:
    from postal.jobs import imports

    return {imports.KIND: imports.RUNNER}


@dataclass
class Queue:
    huey: Huey
    run_job: object  # the Huey task: run_job(job_id) enqueues


def build_huey(config: dict, instance_path: str) -> Huey:
    """The Huey of QUEUE_URL (module docstring)."""
    url = config.get("QUEUE_URL") or ""
    name = config.get("QUEUE_NAME") or "postal"
    if url == "memory":
        return MemoryHuey(name, immediate=True, results=False)
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisHuey(name, url=url, results=False)
    if url:
        path = Path(url.removeprefix("sqlite:///"))
    else:
        path = default_sqlite_path(config.get("SQLALCHEMY_DATABASE_URI") or "", instance_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return SqliteHuey(name, filename=str(path), results=False)


def default_sqlite_path(database_uri: str, instance_path: str) -> Path:
    """Beside an SQLite database file (postal.db -> postal-queue.db), else the instance folder."""
    url = make_url(database_uri) if database_uri else None
    if url is not None and url.get_backend_name() == "sqlite" and url.database not in (
            None, "", ":memory:"):
        db_file = Path(url.database)
        return db_file.with_name(f"{db_file.stem}-queue.db")
    return Path(instance_path) / "queue.db"


def for_app(app: Flask) -> Queue:
    """The app's queue, built on first use (nothing happens at import time)."""
    with _lock:
        queue = app.extensions.get(EXTENSION)
        if queue is None:
            huey = build_huey(app.config, app.instance_path)

            @huey.task(name="postal.run_job")
            def run_job(job_id: str) -> None:
                execute(app, job_id)

            @huey.periodic_task(crontab(minute="*"), name="postal.sweep")
            def sweep_every_minute() -> None:
                sweep(app)

            queue = app.extensions[EXTENSION] = Queue(huey, run_job)
    return queue


def lease(app: Flask) -> timedelta:
    return timedelta(seconds=app.config.get("QUEUE_LEASE_SECONDS") or 60)


def submit(app: Flask, session: Session, kind: str, user: User | None, params: dict) -> str:
    """Store the job and queue it; its id. Commits `session`: the row must be there before a
    worker takes the message (call it with nothing else pending)."""
    job = Job(id=uuid.uuid4().hex, kind=kind, user_id=user.id if user else None,
              unit_id=user.unit_id if user else None, state=JobState.QUEUED, params=params,
              created_at=utcnow(), updated_at=utcnow())
    job_id = job.id  # read before the commit: reading after it would begin a transaction
    session.add(job)
    session.commit()
    enqueue(app, job_id)
    return job_id


def enqueue(app: Flask, job_id: str) -> None:
    """Queue the message of a committed job; if the queue refuses it, the job fails."""
    try:
        for_app(app).run_job(job_id)
    except Exception as exc:
        log.exception("could not queue job %s", job_id)
        from postal.extensions import db

        message = "hàng đợi không nhận việc; hãy thử lại sau ít phút"
        with store.writing(db.engine) as session:
            job = session.get(Job, job_id)
            if job is not None and job.state == JobState.QUEUED:
                job.state, job.error = JobState.FAILED, {"message": message, "errors": []}
        raise QueueUnavailable(message) from exc


def execute(app: Flask, job_id: str) -> None:
    """Run one job in an app context and database session of its own (in immediate mode
    that is inside the submitting request, whose session has just committed)."""
    from postal.extensions import db

    token = write_intent.set(False)
    try:
        with app.app_context():
            reporter = store.Reporter(db.engine, job_id, lease=lease(app))
            job = reporter.claim()
            if job is None:
                log.info("job %s is not queued any more: skipped", job_id)
                return
            try:
                with reporter.beating():
                    kinds()[job.kind].run(app, job, reporter)
            except store.Lost:
                log.warning("job %s was declared dead while it ran: stopped", job_id)
            except Exception as exc:
                log.exception("job %s (%s) failed", job_id, job.kind)
                db.session.rollback()
                try:
                    reporter.finish(JobState.FAILED, error={
                        "message": f"lỗi không mong đợi: {type(exc).__name__}", "errors": []})
                except store.Lost:
                    pass
            finally:
                db.session.rollback()
                db.session.remove()
    finally:
        write_intent.reset(token)


def sweep(app: Flask) -> list[str]:
    """Undo and fail the jobs of dead workers, fail the confirmations nobody gave (dropping
    their files), forget old jobs. The ids of the jobs failed here."""
    from postal.extensions import db

    now = utcnow()
    with app.app_context():
        engine = db.engine
        failed = []
        for job in store.take_over_dead(engine, lease=lease(app), now=now):
            try:
                kinds()[job.kind].abandon(app, job)
            except Exception:  # stays running under this worker: the next sweep tries again
                log.exception("could not undo job %s", job.id)
                continue
            store.fail(engine, job.id, store.WORKER_DIED)
            failed.append(job.id)
        for job in store.expired(engine, state=JobState.CONFIRM, before=now - CONFIRM_FOR,
                                 message=EXPIRED):
            try:
                kinds()[job.kind].abandon(app, job)
            except Exception:
                log.exception("could not drop job %s", job.id)
            failed.append(job.id)
        store.forget_old(engine, now=now)
        db.session.remove()
    return failed


class EmbeddedConsumer(Consumer):
    """A consumer inside another program (`postal serve`): that program owns the signals."""

    def _set_signal_handlers(self) -> None:
        pass


def consumer(app: Flask, *, workers: int | None = None, embedded: bool = False) -> Consumer:
    """A consumer of the app's queue with thread workers; refused for "memory"."""
    huey = for_app(app).huey
    if huey.immediate:
        raise RuntimeError("QUEUE_URL=memory runs jobs at once: a worker needs sqlite or redis")
    cls = EmbeddedConsumer if embedded else Consumer
    return cls(huey, workers=workers or app.config.get("QUEUE_WORKERS") or 1,
               worker_type="thread", periodic=True, max_delay=1.0, check_worker_health=True)


def start_embedded(app: Flask) -> Consumer | None:
    """The single machine's worker: a consumer in this process (None for "memory")."""
    if for_app(app).huey.immediate:
        return None
    sweep(app)
    running = consumer(app, embedded=True)
    running.start()
    return running
