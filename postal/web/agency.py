"""The agency desk."""

from flask import Blueprint, render_template
from flask_login import current_user
from sqlalchemy import select

from postal.domain.access import scope_dossiers
from postal.domain.lifecycle import State
from postal.extensions import db
from postal.models import Dossier, Role
from postal.security import roles_required

bp = Blueprint("agency", __name__, url_prefix="/agency")


@bp.get("/")
@roles_required(Role.AGENCY)
def index():
    open_states = (State.ACCEPTED, State.PROCESSING, State.WAITING_SUPPLEMENT)
    dossiers = db.session.scalars(
        scope_dossiers(select(Dossier), current_user)
        .where(Dossier.state.in_(open_states)).order_by(Dossier.due_at).limit(200)
    ).all()
    return render_template("home/agency.html", dossiers=dossiers)
