"""The import page: upload a CSV/XLSX, then watch its progress (the page polls a JSON status).

An XLSX upload whose archive would unpack to too much is refused here, before any thread or
parser touches it (a 422 naming the file). An admin's upload that names procedures or agencies
not yet in the catalogue stops for confirmation: the page lists what would be created, and
only the admin's POST to /confirm creates them. A manager gets the refusal, line by line.

The import runs on the task queue (jobs/queue.py); its state and progress are a row of `job`,
so the page may poll any web worker.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from flask import current_app, jsonify, redirect, render_template, request, url_for
from flask_login import current_user

from postal.core.errors import NotFound, ValidationFailed
from postal.extensions import db
from postal.http.security import roles_required
from postal.jobs import imports
from postal.models import Job, Role
from postal.reporting import xlsx
from postal.web.office.common import bp

SUFFIXES = (".csv", ".xlsx")


@bp.get("/import")
@roles_required(Role.MANAGER)
def import_page():
    return render_template("office/import.html", job=None)


@bp.post("/import")
@roles_required(Role.MANAGER)
def import_upload():
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise ValidationFailed("chọn tệp CSV hoặc XLSX", field="file")
    suffix = Path(upload.filename).suffix.lower()
    if suffix not in SUFFIXES:
        raise ValidationFailed("tệp phải là .csv hoặc .xlsx", field="file")
    app = current_app._get_current_object()
    with tempfile.NamedTemporaryFile(dir=imports.folder(app), suffix=suffix,
                                     delete=False) as handle:
        upload.save(handle)
    path = Path(handle.name)
    if suffix == ".xlsx":
        try:
            xlsx.check_archive(path)  # the zip's directory only: quick whatever the file
        except ValidationFailed:
            path.unlink(missing_ok=True)
            raise
    try:
        job_id = imports.submit(app, db.session, current_user, path, Path(upload.filename).name)
    except Exception:
        path.unlink(missing_ok=True)
        raise
    return redirect(url_for("office.import_job", job_id=job_id), 303)


def _job(job_id: str) -> Job:
    """The import job of this user (an admin sees every one), from whichever worker wrote it."""
    job = db.session.get(Job, job_id) if len(job_id) <= 32 else None
    if (job is None or job.kind != imports.KIND
            or (job.user_id != current_user.id and current_user.role != Role.ADMIN)):
        raise NotFound("không có lượt nhập này")
    return job


@bp.get("/import/<job_id>")
@roles_required(Role.MANAGER)
def import_job(job_id: str):
    return render_template("office/import.html", job=imports.status(_job(job_id)))


@bp.get("/import/<job_id>/status")
@roles_required(Role.MANAGER)
def import_status(job_id: str):
    return jsonify(imports.status(_job(job_id)))


@bp.post("/import/<job_id>/confirm")
@roles_required(Role.ADMIN)
def import_confirm(job_id: str):
    """The admin read the list of entries to create: import again, creating exactly those."""
    imports.confirm(current_app._get_current_object(), db.session, _job(job_id))
    return redirect(url_for("office.import_job", job_id=job_id), 303)
