"""Home delivery pages: planning runs and their sheets (clerk, manager), the courier's door
page on the phone, the counter return, the rating screen and the public rating link."""

from flask import Blueprint

bp = Blueprint("delivery", __name__)

from postal.web.delivery import counter, door, planning  # noqa: E402,F401  (routes on bp)
