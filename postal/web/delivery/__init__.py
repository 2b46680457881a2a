"""Home delivery pages: planning runs and their sheets (clerk, manager), the courier's door
page on the phone, the counter return, the rating screen and the public rating link."""

from postal.web.delivery import counter, door, planning  # noqa: F401  (routes on bp)
from postal.web.delivery.blueprint import bp

__all__ = ["bp"]
