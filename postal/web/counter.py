"""The counter: the clerk's home (intake, returns)."""

from flask import Blueprint, render_template
from flask_login import current_user
from sqlalchemy import select

from postal.domain.access import scope_dossiers
from postal.extensions import db
from postal.models import Dossier, Role
from postal.security import roles_required

bp = Blueprint("counter", __name__, url_prefix="/counter")


@bp.get("/")
@roles_required(Role.CLERK)
def index():
    recent = db.session.scalars(
        scope_dossiers(select(Dossier), current_user)
        .where(Dossier.received_at.is_not(None))
        .order_by(Dossier.received_at.desc()).limit(20)
    ).all()
    return render_template("home/counter.html", recent=recent)
