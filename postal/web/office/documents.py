"""Downloads: the monthly report (PDF, XLSX, CSV) and the dossier register (PDF, XLSX)."""

from __future__ import annotations

from postal.documents.register_pdf import render_register
from postal.documents.report_pdf import render_report
from postal.extensions import db
from postal.http.responses import file_response, pdf_response
from postal.http.security import roles_required
from postal.models import Role
from postal.reporting import exports
from postal.reporting.register import register_rows, register_xlsx
from postal.reporting.report import monthly_data
from postal.web.office.common import asked_period, asked_unit, bp, now

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _name(prefix: str, unit, date_from, date_to, ext: str) -> str:
    return f"{prefix}-{unit.code}-{date_from:%Y%m%d}-{date_to:%Y%m%d}.{ext}"


@bp.get("/report.<any(pdf, xlsx, csv):fmt>")
@roles_required(Role.MANAGER)
def report(fmt: str):
    unit = asked_unit()
    date_from, date_to = asked_period()
    name = _name("bao-cao", unit, date_from, date_to, fmt)
    if fmt == "pdf":
        data = monthly_data(db.session, unit, date_from, date_to, now=now(),
                            breakdowns=("field",))
        return pdf_response(render_report(data), name)
    data = monthly_data(db.session, unit, date_from, date_to, breakdowns=())
    if fmt == "csv":
        # with a BOM, so that Excel reads the Vietnamese as UTF-8
        return file_response("\ufeff" + exports.report_csv(data.figures),
                             "text/csv; charset=utf-8", name)
    return file_response(exports.report_xlsx(data.figures, unit=unit, date_from=date_from,
                                         date_to=date_to), XLSX, name)


@bp.get("/register.<any(pdf, xlsx):fmt>")
@roles_required(Role.MANAGER)
def register(fmt: str):
    unit = asked_unit()
    date_from, date_to = asked_period()
    rows = register_rows(db.session, unit, date_from, date_to)
    name = _name("so-theo-doi", unit, date_from, date_to, fmt)
    if fmt == "pdf":
        return file_response(render_register(rows, unit_name=unit.name, date_from=date_from,
                                         date_to=date_to), "application/pdf", name)
    title = f"Sổ theo dõi hồ sơ — {unit.name} — {date_from:%d/%m/%Y}–{date_to:%d/%m/%Y}"
    return file_response(register_xlsx(rows, title=title), XLSX, name)
