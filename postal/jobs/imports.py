"""Background imports: a thread per upload and an in-memory table of their progress.

The table lives in the memory of the process that took the upload (the status page polls the
same process): run the app with one worker process, or with sticky sessions. A database table
would not help on SQLite, where the import's own transaction holds the write lock while
progress would have to be written.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from flask import Flask

KEEP = 50  # finished jobs remembered


@dataclass
class Job:
    id: str
    user_id: int
    filename: str
    started_at: datetime
    stage: str = "queued"  # queued, validate, import, done, failed
    done: int = 0
    total: int | None = None
    dossiers: int = 0
    message: str = ""
    errors: list[dict] = field(default_factory=list)
    thread: threading.Thread | None = field(default=None, repr=False)

    def as_dict(self) -> dict:
        return {"id": self.id, "filename": self.filename, "stage": self.stage, "done": self.done,
                "total": self.total, "dossiers": self.dossiers, "message": self.message,
                "errors": self.errors, "finished": self.stage in ("done", "failed")}


_jobs: dict[str, Job] = {}
_lock = threading.Lock()


def get(job_id: str) -> Job | None:
    with _lock:
        return _jobs.get(job_id)


def start(app: Flask, user_id: int, path: Path, filename: str, now: datetime) -> Job:
    job = Job(id=uuid.uuid4().hex, user_id=user_id, filename=filename, started_at=now)
    with _lock:
        finished = [j for j in _jobs.values() if j.stage in ("done", "failed")]
        for old in sorted(finished, key=lambda j: j.started_at)[:-KEEP or None]:
            _jobs.pop(old.id, None)
        _jobs[job.id] = job
    job.thread = threading.Thread(target=_run, args=(app, job, path), daemon=True,
                                  name=f"import-{job.id[:8]}")
    job.thread.start()
    return job


def _run(app: Flask, job: Job, path: Path) -> None:
    """The import in its own app context and session; commits once at the end."""
    from postal.core.errors import DomainError
    from postal.deadlines.office import calendar_for
    from postal.extensions import db
    from postal.models import User, utcnow
    from postal.reporting.imports import ImportFailed, import_dossiers

    def progress(stage: str, done: int, total: int | None) -> None:
        job.stage, job.done, job.total = stage, done, total

    with app.app_context():
        session = db.session
        try:
            user = session.get(User, job.user_id)
            result = import_dossiers(
                session, path, calendar=calendar_for(session, app.config), now=utcnow(),
                default_cutoff=app.config.get("SAME_DAY_CUTOFF"), user=user,
                source=job.filename, progress=progress)
            session.commit()
            job.dossiers, job.stage = result.dossiers, "done"
        except ImportFailed as exc:
            session.rollback()
            job.errors = [{"line": e.line, "column": e.column, "message": e.message}
                          for e in exc.errors]
            job.message, job.stage = exc.message, "failed"
        except DomainError as exc:
            session.rollback()
            job.message, job.stage = exc.message, "failed"
        except Exception as exc:  # the page must learn the import ended, whatever happened
            session.rollback()
            app.logger.exception("import %s failed", job.id)
            job.message, job.stage = f"lỗi không mong đợi: {type(exc).__name__}", "failed"
        finally:
            db.session.remove()
            path.unlink(missing_ok=True)
