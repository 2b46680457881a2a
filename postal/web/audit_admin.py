"""The administrator's audit-log page: who did what, to which object, when and from where."""

from __future__ import annotations

from flask import Blueprint, render_template, request, url_for

from postal.core import audit_log
from postal.core.errors import ValidationFailed
from postal.extensions import db
from postal.http.security import roles_required
from postal.models import Role

bp = Blueprint("audit_admin", __name__, url_prefix="/admin/audit")


def _page_url(page: int) -> str:
    args = {k: v for k, v in request.args.items() if k in audit_log.FILTERS and v}
    return url_for(".index", page=page, **args)


@bp.get("/")
@roles_required(Role.ADMIN)
def index():
    values = {k: request.args.get(k, "")[:100] for k in audit_log.FILTERS}
    try:
        found = audit_log.search(db.session, request.args)
    except ValidationFailed as exc:
        return render_template("audit/index.html", found=None, values=values,
                               errors={exc.field: exc.message}, page_url=_page_url,
                               **audit_log.choices(db.session)), 422
    return render_template("audit/index.html", found=found, values=values, errors={},
                           page_url=_page_url, **audit_log.choices(db.session))
