"""A database of the bench's own: created before the run and dropped after it, so every bench
runs on a fresh machine (`with scratch_database(url) as url: ...`). SQLite files are the
caller's (usually in a temporary folder); a PostgreSQL URL's database is created if missing and
dropped at the end when this run created it."""

from __future__ import annotations

from contextlib import contextmanager

import psycopg
from sqlalchemy.engine import make_url


def _admin(url) -> str:
    return url.set(drivername="postgresql", database="postgres").render_as_string(
        hide_password=False)


@contextmanager
def scratch_database(url: str):
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        yield url
        return
    with psycopg.connect(_admin(parsed), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                              (parsed.database,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{parsed.database}"')
    try:
        yield url
    finally:
        if not exists:
            with psycopg.connect(_admin(parsed), autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')
