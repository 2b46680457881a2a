"""The database's rules, whoever opens the connection (request, job, command): SQLite pragmas
and its write lock, append-only tables, and retrying a transaction that lost a race."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from contextvars import ContextVar
from typing import TypeVar

from sqlalchemy import any_, bindparam, event
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Delete, Update

from postal.core.errors import DomainError

log = logging.getLogger(__name__)
APPEND_ONLY = ("audit_log", "event")
T = TypeVar("T")

# True while the current request or job is going to write: SQLite then takes the write lock
# when the transaction begins (see install_guards); readers never wait.
write_intent: ContextVar[bool] = ContextVar("write_intent", default=False)


class AppendOnlyViolation(DomainError):
    code = "append_only"
    status = 409


def among(session: Session, column, values):
    """`column IN values` for a batch's hundreds of keys. On PostgreSQL it is `column =
    ANY(:array)`, one parameter: the statement text stays the same whatever the batch, so
    psycopg does not parse a new statement of 500 placeholders each time."""
    values = list(values)
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, values, type_=ARRAY(column.type)))
    return column.in_(values)


def engine_options(url: str, options: dict | None = None) -> dict:
    """SQLite: wait for locks instead of failing at once; PostgreSQL: check connections."""
    options = dict(options or {})
    if make_url(url).get_backend_name() == "sqlite":
        options.setdefault("connect_args", {}).update({"timeout": 30, "check_same_thread": False})
    else:
        options.setdefault("pool_pre_ping", True)
    return options


def install_guards(engine: Engine) -> None:
    """The rules above on one engine: called once per engine, never at import time."""
    if event.contains(engine, "before_execute", _refuse_rewriting_history):
        return
    event.listen(engine, "before_execute", _refuse_rewriting_history)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas(engine))
        event.listen(engine, "begin", _sqlite_begin)


def _refuse_rewriting_history(_conn, clauseelement, *_args):
    """The audit log and the event log only grow: no UPDATE or DELETE reaches them, whether
    through the ORM or a statement of its own."""
    if isinstance(clauseelement, Update | Delete):
        name = getattr(clauseelement.table, "name", None)
        if name in APPEND_ONLY:
            raise AppendOnlyViolation(f"{name} rows are append-only")


def _sqlite_pragmas(engine: Engine):
    """SQLite cannot upgrade a read transaction to a write one after another writer committed,
    so a writing transaction takes the write lock at BEGIN (BEGIN IMMEDIATE) and writers queue
    behind busy_timeout; readers begin deferred and, in WAL mode, never wait for a writer."""
    def on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()
    return on_connect


def _sqlite_begin(connection):
    connection.exec_driver_sql("BEGIN IMMEDIATE" if write_intent.get() else "BEGIN")


# PostgreSQL's answers for a transaction that lost a race and may simply be run again:
# serialization_failure, deadlock_detected, lock_not_available
RETRYABLE = ("40001", "40P01", "55P03")


def lost_race(exc: BaseException) -> bool:
    """True for an error that running the same transaction again can cure."""
    if isinstance(exc, DBAPIError):
        code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
        return code in RETRYABLE
    return False


def retrying(session: Session, work: Callable[[], T], *, attempts: int = 5) -> T:
    """Run `work` in a savepoint, and again when the database says it lost a race with another
    transaction (PostgreSQL releases the locks taken inside a savepoint rolled back to, so the
    winner goes on and `work` starts over from what it committed); the last failure is raised.
    What the caller did before, in the same transaction, is kept."""
    attempt = 1
    while True:
        try:
            with session.begin_nested():
                return work()
        except DBAPIError as exc:
            if not lost_race(exc) or attempt == attempts:
                raise
            log.info("lost a race (%s), try %s", exc.orig, attempt + 1)
            time.sleep(0.01 * 2 ** attempt)
            attempt += 1
