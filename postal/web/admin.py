"""Administration: users and units."""

from flask import Blueprint, render_template
from sqlalchemy import select

from postal.extensions import db
from postal.models import Role, User
from postal.security import roles_required

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.get("/")
@roles_required(Role.ADMIN)
def index():
    users = db.session.scalars(select(User).order_by(User.role, User.username)).all()
    return render_template("home/admin.html", users=users)
