"""What the citizen's status page and API share: one lookup budget, and answers never kept."""

from __future__ import annotations

from flask import current_app

# The page and the API share one budget per client address, so guessing through both
# does not double it.
SCOPE = "public_status"


def public_limit() -> str:
    return current_app.config["PUBLIC_RATE_LIMIT"]


def no_store(response):
    """A status answer is for its citizen only: never cached, never indexed."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    return response
