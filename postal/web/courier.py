"""The courier's phone page."""

from flask import Blueprint, render_template
from flask_login import current_user
from sqlalchemy import select

from postal.extensions import db
from postal.models import Item, Role
from postal.security import roles_required

bp = Blueprint("courier", __name__, url_prefix="/courier")


@bp.get("/")
@roles_required(Role.COURIER)
def index():
    holding = db.session.scalars(
        select(Item).where(Item.holder_user_id == current_user.id).order_by(Item.held_since)
    ).all()
    return render_template("home/courier.html", holding=holding)
