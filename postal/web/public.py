"""Pages for citizens, no login."""

from flask import Blueprint

bp = Blueprint("public", __name__, url_prefix="/public")
