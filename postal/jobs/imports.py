"""Background imports: a thread per upload and an in-memory table of their progress.

The table lives in the memory of the process that took the upload (the status page polls the
same process): run the app with one worker process, or with sticky sessions. The import writes
in chunks of its own transactions (reporting/imports.py), so the counter keeps working while it
runs, and undoes what it wrote if it fails.

A file naming procedures or agencies that do not exist stops at "confirm" when an admin
uploaded it: the page lists exactly what would be created, and the file is kept until the admin
confirms (the import then runs again, creating those and nothing else) or the job expires.
Anyone else gets the refusal, line by line.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from flask import Flask

from postal.core.errors import Conflict

KEEP = 50  # finished jobs remembered
CONFIRM_FOR = timedelta(hours=1)  # how long an upload waits for an admin's confirmation
ENDED = ("done", "failed")


@dataclass
class Job:
    id: str
    user_id: int
    filename: str
    started_at: datetime
    path: Path | None = field(default=None, repr=False)
    stage: str = "queued"  # queued, validate, import, confirm, done, failed
    done: int = 0
    total: int | None = None
    dossiers: int = 0
    message: str = ""
    errors: list[dict] = field(default_factory=list)
    pending: dict | None = None  # what a confirmation would create (NewEntries.as_dict)
    created: dict = field(default_factory=dict)  # what the import created
    thread: threading.Thread | None = field(default=None, repr=False)

    def as_dict(self) -> dict:
        return {"id": self.id, "filename": self.filename, "stage": self.stage, "done": self.done,
                "total": self.total, "dossiers": self.dossiers, "message": self.message,
                "errors": self.errors, "pending": self.pending, "created": self.created,
                "finished": self.stage in (*ENDED, "confirm")}


_jobs: dict[str, Job] = {}
_lock = threading.Lock()


def get(job_id: str) -> Job | None:
    with _lock:
        return _jobs.get(job_id)


def _forget_old(now: datetime) -> None:
    """Drop the oldest finished jobs, and uploads left waiting for a confirmation."""
    finished = sorted((j for j in _jobs.values() if j.stage in ENDED), key=lambda j: j.started_at)
    stale = [j for j in _jobs.values()
             if j.stage == "confirm" and now - j.started_at > CONFIRM_FOR]
    for old in finished[:-KEEP or None] + stale:
        _jobs.pop(old.id, None)
        if old.path is not None:
            old.path.unlink(missing_ok=True)


def start(app: Flask, user_id: int, path: Path, filename: str, now: datetime) -> Job:
    job = Job(id=uuid.uuid4().hex, user_id=user_id, filename=filename, started_at=now, path=path)
    with _lock:
        _forget_old(now)
        _jobs[job.id] = job
    _launch(app, job, confirmed=None)
    return job


def confirm(app: Flask, job: Job) -> Job:
    """Run the import again, creating exactly the entries the page listed."""
    with _lock:
        if job.stage != "confirm" or job.pending is None:
            raise Conflict("lượt nhập này không chờ xác nhận", field="job")
        job.stage, job.done = "queued", 0
    _launch(app, job, confirmed=job.pending)
    return job


def _launch(app: Flask, job: Job, confirmed: dict | None) -> None:
    job.thread = threading.Thread(target=_run, args=(app, job, confirmed), daemon=True,
                                  name=f"import-{job.id[:8]}")
    job.thread.start()


def _run(app: Flask, job: Job, confirmed: dict | None) -> None:
    """The import in its own app context and session; it commits chunk by chunk itself."""
    from postal.core.errors import DomainError
    from postal.deadlines.office import calendar_for
    from postal.extensions import db
    from postal.models import Role, User, utcnow
    from postal.reporting.imports import (
        CHUNK,
        CatalogueMissing,
        ImportFailed,
        NewEntries,
        import_dossiers,
    )

    def progress(stage: str, done: int, total: int | None) -> None:
        job.stage, job.done, job.total = stage, done, total

    keep_file = is_admin = False
    with app.app_context():
        session = db.session
        try:
            user = session.get(User, job.user_id)
            is_admin = user is not None and user.role == Role.ADMIN
            result = import_dossiers(
                session, job.path, calendar=calendar_for(session, app.config), now=utcnow(),
                default_cutoff=app.config.get("SAME_DAY_CUTOFF"), user=user,
                source=job.filename, progress=progress,
                confirmed=NewEntries.from_dict(confirmed) if confirmed else None,
                chunk_rows=app.config.get("IMPORT_CHUNK_ROWS", CHUNK))
            job.dossiers, job.pending = result.dossiers, None
            job.created = {"procedures": result.procedures, "agencies": result.agencies}
            job.stage = "done"
        except CatalogueMissing as exc:
            if is_admin:
                job.pending, job.message, job.errors = exc.missing.as_dict(), "", []
                job.stage, keep_file = "confirm", True
            else:
                _failed(job, exc)
        except ImportFailed as exc:
            _failed(job, exc)
        except DomainError as exc:
            job.message, job.stage = exc.message, "failed"
        except Exception as exc:  # the page must learn the import ended, whatever happened
            app.logger.exception("import %s failed", job.id)
            job.message, job.stage = f"lỗi không mong đợi: {type(exc).__name__}", "failed"
        finally:
            session.rollback()
            db.session.remove()
            if not keep_file:
                job.path.unlink(missing_ok=True)


def _failed(job: Job, exc) -> None:
    job.errors = [{"line": e.line, "column": e.column, "message": e.message} for e in exc.errors]
    job.message, job.pending, job.stage = exc.message, None, "failed"
