"""The database session's rules: SQLite pragmas, one commit per request, append-only tables."""

from __future__ import annotations

import logging
from contextvars import ContextVar

from flask import Flask, Response, request
from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from postal.domain.errors import Conflict, DomainError

log = logging.getLogger(__name__)
APPEND_ONLY = ("audit_log", "event")

# True while the current request or job is going to write: SQLite then takes the write lock
# when the transaction begins (see install_guards); readers never wait.
write_intent: ContextVar[bool] = ContextVar("write_intent", default=False)


class AppendOnlyViolation(DomainError):
    code = "append_only"
    status = 409


def configure_engine_options(app: Flask) -> None:
    """SQLite: wait for locks instead of failing at once; PostgreSQL: check connections."""
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    if url.get_backend_name() == "sqlite":
        options.setdefault("connect_args", {}).update({"timeout": 30, "check_same_thread": False})
    else:
        options.setdefault("pool_pre_ping", True)
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options


def install_guards(engine: Engine) -> None:
    """Pragmas for SQLite; a writing transaction takes the write lock up front (BEGIN IMMEDIATE).

    SQLite cannot upgrade a read transaction to a write one after another writer committed, so
    concurrent intakes would fail with "database is locked" instead of waiting; taking the lock
    at BEGIN makes writers queue behind busy_timeout. Readers (GET requests) begin deferred, so
    in WAL mode they never wait for a writer.
    """
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write_intent.get() else "BEGIN")


@event.listens_for(Session, "before_flush")
def _refuse_rewriting_history(session: Session, _context, _instances) -> None:
    """The audit log and the event log only grow: no UPDATE or DELETE through the ORM."""
    for obj in (*session.dirty, *session.deleted):
        table = getattr(obj, "__tablename__", None)
        if table in APPEND_ONLY and (obj in session.deleted or session.is_modified(obj)):
            raise AppendOnlyViolation(f"{table} rows are append-only")


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
            from postal.errors import error_response

            return error_response(Conflict(f"the change clashes with stored data: {exc.orig}"))
        except OperationalError as exc:
            # an error raised here would bypass the error handlers and become a bare 500
            from postal.errors import database_unavailable

            log.error("commit failed: %s", exc)
            db.session.rollback()
            return app.make_response(database_unavailable())
        return response

    @app.teardown_request
    def _rollback(exc):
        if exc is not None:
            db.session.rollback()
        write_intent.set(False)  # the thread may serve readers (or a test) next
