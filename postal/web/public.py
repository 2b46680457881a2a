"""Pages for citizens, no login: the status of a dossier (from the receipt's QR code or a form)."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_babel import gettext

from postal.core.errors import NotFound, ValidationFailed
from postal.dossiers import public_status
from postal.extensions import db, limiter
from postal.http.public import SCOPE, TooManyGuesses, lookup, no_store, public_limit

bp = Blueprint("public", __name__, url_prefix="/public")

FIELDS = ("token", "code", "phone_last4")


def _empty_form() -> bool:
    """The bare form costs nothing against the rate limit; every lookup does."""
    return not any(request.args.get(k) for k in FIELDS)


bp.after_request(no_store)


@bp.get("/status")
@limiter.shared_limit(public_limit, scope=SCOPE, exempt_when=_empty_form)
def status():
    """GET ?token= (the QR code) or ?code=&phone_last4= (the form); no query: the form."""
    values = {k: request.args.get(k, "")[:100] for k in FIELDS}
    if _empty_form():
        return render_template("public/status.html", values=values, errors={})
    try:
        found = lookup(db.session, **values)
    except (ValidationFailed, TooManyGuesses) as exc:
        errors = {exc.field or "code": gettext(exc.message)}
        status = 429 if isinstance(exc, TooManyGuesses) else 422
        return render_template("public/status.html", values=values, errors=errors), status
    except NotFound:
        # one answer for every miss: an unknown code and a wrong phone look the same
        errors = {"form": gettext(public_status.NOT_FOUND)}
        values["phone_last4"] = ""
        return render_template("public/status.html", values=values, errors=errors), 404
    words = found["stage_text"]  # marked for the catalogue in public_status.STAGE_WORDS
    return render_template("public/status.html", values=values, errors={}, status=found,
                           stage_text=gettext(words))
