"""The district office: dashboard and reports."""

from flask import Blueprint, render_template
from flask_login import current_user
from sqlalchemy import func, select

from postal.domain.access import scope_dossiers
from postal.extensions import db
from postal.models import Dossier, Role
from postal.security import roles_required

bp = Blueprint("office", __name__, url_prefix="/office")


@bp.get("/")
@roles_required(Role.MANAGER)
def index():
    by_state = db.session.execute(
        scope_dossiers(select(Dossier.state, func.count()), current_user).group_by(Dossier.state)
    ).all()
    return render_template("home/office.html", by_state=by_state)
