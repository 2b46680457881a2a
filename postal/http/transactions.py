"""One commit per request: a request that succeeded commits once, anything else rolls back."""

from __future__ import annotations

import logging

from flask import Flask, Response, request
from sqlalchemy.exc import IntegrityError, OperationalError

from postal.core.db import write_intent
from postal.core.errors import Conflict

log = logging.getLogger(__name__)


def _keep_the_old_cookie() -> None:
    """Nothing the request changed was stored, so its session changes are not sent either (a
    login whose session row and audit entry failed to commit must not set a cookie)."""
    from flask import session

    session.modified = False


def init_app(app: Flask) -> None:
    """Commit once per request when it succeeded; anything else is rolled back."""
    from postal.extensions import db

    def _declare_intent():
        write_intent.set(request.method not in ("GET", "HEAD", "OPTIONS"))

    # first of all hooks: the login check reads the database (a bearer token, the session's
    # user), and a transaction begun for that read would be a deferred one that SQLite cannot
    # upgrade once another writer has committed ("database is locked" under load)
    app.before_request_funcs.setdefault(None, []).insert(0, _declare_intent)

    @app.after_request
    def _commit(response: Response) -> Response:
        if response.status_code >= 400:
            db.session.rollback()
            return response
        try:
            db.session.commit()
        except IntegrityError as exc:
            db.session.rollback()
            _keep_the_old_cookie()
            from postal.http.errors import error_response

            return error_response(Conflict(f"the change clashes with stored data: {exc.orig}"))
        except OperationalError as exc:
            # an error raised here would bypass the error handlers and become a bare 500
            from postal.http.errors import database_unavailable

            log.error("commit failed: %s", exc)
            db.session.rollback()
            _keep_the_old_cookie()
            return app.make_response(database_unavailable())
        return response

    @app.teardown_request
    def _rollback(exc):
        if exc is not None:
            db.session.rollback()
        write_intent.set(False)  # the thread may serve readers (or a test) next
