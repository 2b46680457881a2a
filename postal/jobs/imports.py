"""Import jobs: an uploaded file imported by a queue worker (jobs/queue.py), its progress in
its `job` row for whichever web worker the page polls.

The file waits in IMPORT_FOLDER (the instance folder's imports/ by default) for a worker. The
import writes in chunks of its own transactions (reporting/imports.py), so the counter keeps
working while it runs, and undoes what it wrote if it fails. The batch's id is noted in the job
row as soon as the batch exists: if the worker dies, the next worker's sweep marks the job
failed and deletes the batch at once (reporting.imports.discard), so nothing stays
half-written.

A file naming procedures or agencies that do not exist stops at "confirm" when an admin
uploaded it: the page lists exactly what would be created, and the file is kept until the admin
confirms (the job is queued again, creating those and nothing else) or the wait expires
(queue.CONFIRM_FOR). Anyone else gets the refusal, line by line.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from sqlalchemy import update
from sqlalchemy.orm import Session

from postal.core.errors import Conflict
from postal.jobs import queue
from postal.jobs.store import Reporter
from postal.models import Job, JobState, User, utcnow

KIND = "import"


def folder(app: Flask) -> Path:
    """Where uploads wait for a worker: every worker must see it (a shared mount)."""
    path = Path(app.config.get("IMPORT_FOLDER") or Path(app.instance_path) / "imports")
    path.mkdir(parents=True, exist_ok=True)
    return path


def submit(app: Flask, session: Session, user: User, path: Path, filename: str) -> str:
    """Queue the import of an uploaded file; the job's id. Commits `session`."""
    return queue.submit(app, session, KIND, user, {"path": str(path), "filename": filename})


def confirm(app: Flask, session: Session, job: Job) -> None:
    """Queue the import again, creating exactly the entries the page listed. Commits."""
    pending = (job.result or {}).get("pending")
    queued = session.execute(
        update(Job).where(Job.id == job.id, Job.state == JobState.CONFIRM)
        .values(state=JobState.QUEUED, updated_at=utcnow(),
                params={**job.params, "confirmed": pending})).rowcount
    if queued != 1 or pending is None:
        raise Conflict("lượt nhập này không chờ xác nhận", field="job")
    job_id = job.id
    session.commit()
    queue.enqueue(app, job_id)


def status(job: Job) -> dict:
    """What the import page shows and polls (the keys the page's script reads)."""
    result, error = job.result or {}, job.error or {}
    stage = (job.stage or "queued") if job.state == JobState.RUNNING else str(job.state)
    return {"id": job.id, "state": str(job.state), "filename": job.params.get("filename", ""),
            "stage": stage, "done": job.done, "total": job.total,
            "dossiers": result.get("dossiers", 0), "message": error.get("message", ""),
            "errors": error.get("errors", []), "pending": result.get("pending"),
            "created": result.get("created", {}),
            "finished": job.state in (JobState.DONE, JobState.FAILED, JobState.CONFIRM),
            "updated_at": job.updated_at.isoformat() if job.updated_at else None}


class _Import:
    """The import kind of queue.KINDS."""

    def run(self, app: Flask, job: Job, reporter: Reporter) -> None:
        from postal.core.errors import DomainError
        from postal.deadlines.office import calendar_for
        from postal.extensions import db
        from postal.models import Role
        from postal.reporting.imports import (
            CHUNK,
            CatalogueMissing,
            ImportFailed,
            NewEntries,
            import_dossiers,
        )

        session = db.session
        path = Path(job.params["path"])
        confirmed = job.params.get("confirmed")
        keep_file = is_admin = False
        try:
            user = session.get(User, job.user_id) if job.user_id else None
            is_admin = user is not None and user.role == Role.ADMIN
            result = import_dossiers(
                session, path, calendar=calendar_for(session, app.config), now=utcnow(),
                default_cutoff=app.config.get("SAME_DAY_CUTOFF"), user=user,
                source=job.params.get("filename"), progress=reporter.progress,
                confirmed=NewEntries.from_dict(confirmed) if confirmed else None,
                chunk_rows=app.config.get("IMPORT_CHUNK_ROWS", CHUNK),
                on_batch=lambda batch_id: reporter.note(batch_id=batch_id))
            reporter.finish(JobState.DONE, result={
                "dossiers": result.dossiers,
                "created": {"procedures": result.procedures, "agencies": result.agencies}})
        except CatalogueMissing as exc:
            if is_admin:
                keep_file = True
                reporter.finish(JobState.CONFIRM, result={"pending": exc.missing.as_dict()})
            else:
                reporter.finish(JobState.FAILED, error=_errors(exc))
        except ImportFailed as exc:
            reporter.finish(JobState.FAILED, error=_errors(exc))
        except DomainError as exc:
            reporter.finish(JobState.FAILED, error={"message": exc.message, "errors": []})
        finally:
            if not keep_file:
                path.unlink(missing_ok=True)

    def abandon(self, app: Flask, job: Job) -> None:
        from postal.extensions import db
        from postal.reporting.imports import discard

        batch_id = (job.result or {}).get("batch_id")
        if batch_id is not None:
            discard(db.session, batch_id, chunk_rows=app.config.get("IMPORT_CHUNK_ROWS") or 1000)
            db.session.remove()
        Path(job.params["path"]).unlink(missing_ok=True)


def _errors(exc) -> dict:
    return {"message": exc.message,
            "errors": [{"line": e.line, "column": e.column, "message": e.message}
                       for e in exc.errors]}


RUNNER = _Import()
