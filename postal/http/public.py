"""What the citizen's status page and API share: one lookup budget, and answers never kept."""

from __future__ import annotations

from flask import current_app
from limits import parse

from postal.core.errors import DomainError, NotFound
from postal.dossiers import public_status
from postal.dossiers.public_status import _

# The page and the API share one budget per client address, so guessing through both
# does not double it.
SCOPE = "public_status"


def public_limit() -> str:
    return current_app.config["PUBLIC_RATE_LIMIT"]


# Failed code-and-phone lookups are also counted per dossier code, whatever the address: codes
# are sequential, so a guesser spreading over many addresses still meets this budget. It lives
# in the limiter's storage (Redis in production), so every worker draws on the same one.
CODE_SCOPE = "public_status_code"
GUESSED = _("Mã hồ sơ này đã bị tra cứu sai quá nhiều lần. Vui lòng tra cứu bằng "
            "mã QR trên phiếu tiếp nhận, hoặc hỏi tại quầy.")


class TooManyGuesses(DomainError):
    code = "too_many_guesses"
    status = 429


def lookup(session, **query) -> dict:
    """public_status.lookup, refused for a code whose failure budget (PUBLIC_CODE_FAILURES,
    e.g. "10 per hour") is spent; the QR token still works then."""
    from postal.extensions import limiter

    code = (query.get("code") or "").strip().upper()
    by_code = bool(code) and not query.get("token")
    budget = parse(current_app.config["PUBLIC_CODE_FAILURES"])
    counting = by_code and limiter.enabled
    if counting and not limiter.limiter.test(budget, CODE_SCOPE, code):
        raise TooManyGuesses(GUESSED, field="code")
    try:
        return public_status.lookup(session, **query)
    except NotFound:
        if counting:
            limiter.limiter.hit(budget, CODE_SCOPE, code)
        raise


def no_store(response):
    """A status answer is for its citizen only: never cached, never indexed."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    return response
