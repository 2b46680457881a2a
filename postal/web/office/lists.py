"""The dossiers behind a figure (every number on the dashboard opens this), with export."""

from __future__ import annotations

import tempfile

from flask import render_template, request
from sqlalchemy import func, select

from postal.core.errors import ValidationFailed
from postal.dossiers.view import dossier_ref
from postal.extensions import db
from postal.http.responses import file_response
from postal.http.security import roles_required
from postal.models import Role
from postal.reporting import exports, metrics
from postal.web.office.common import asked_period, asked_unit, bp, now

PER_PAGE = 50
SPOOL_BYTES = 8 * 2**20  # in memory up to this size, then on disk
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _query():
    unit = asked_unit()
    figure = request.args.get("figure", "received")
    if figure == "overdue_now":
        return unit, None, None, figure, metrics.overdue_query(db.session, unit, now())
    date_from, date_to = asked_period()
    by = request.args.get("by") or None
    stmt = metrics.dossiers_behind(db.session, unit, date_from, date_to, figure, by=by,
                                   key=request.args.get("key"))
    return unit, date_from, date_to, figure, stmt


@bp.get("/dossiers")
@roles_required(Role.MANAGER)
def dossiers():
    unit, date_from, date_to, figure, stmt = _query()
    try:
        page = max(int(request.args.get("page", 1)), 1)
    except ValueError:
        raise ValidationFailed("page: a number", field="page") from None
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    rows = db.session.scalars(stmt.limit(PER_PAGE).offset((page - 1) * PER_PAGE)).all()
    return render_template(
        "office/dossiers.html", unit=unit, date_from=date_from, date_to=date_to, figure=figure,
        label=exports.figure_title(figure) if date_from else "Đang quá hạn hiện tại",
        rows=rows, total=total, page=page,
        pages=max((total + PER_PAGE - 1) // PER_PAGE, 1), ref=dossier_ref,
        args={k: v for k, v in request.args.items() if k != "page"},
    )


@bp.get("/dossiers.<any(csv, xlsx):fmt>")
@roles_required(Role.MANAGER)
def export(fmt: str):
    unit, date_from, date_to, figure, stmt = _query()
    # Written to a spooled file first, then sent: the rows are streamed from the database
    # without being held in memory, and the transaction (on SQLite, the write lock) ends
    # before a slow download starts.
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)
    for chunk in (exports.iter_csv if fmt == "csv" else exports.iter_xlsx)(db.session, stmt):
        spool.write(chunk)
    db.session.commit()
    spool.seek(0)

    def send():
        with spool:
            while chunk := spool.read(64 * 1024):
                yield chunk

    return file_response(send(), "text/csv; charset=utf-8" if fmt == "csv" else XLSX,
                         f"ho-so-{figure}.{fmt}")
