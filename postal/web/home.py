"""The landing page: each role goes to its own home."""

from flask import Blueprint, redirect, url_for
from flask_login import current_user

from postal.models import Role

bp = Blueprint("home", __name__)

HOMES = {
    Role.CLERK: "counter.index",
    Role.COURIER: "courier.index",
    Role.AGENCY: "agency.index",
    Role.MANAGER: "office.index",
    Role.ADMIN: "admin.index",
}


@bp.get("/")
def index():
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    return redirect(url_for(HOMES[current_user.role]))
