"""`postal backup` and `postal restore`: a consistent copy of the SQLite database, app running.

SQLite's online backup API (sqlite3.Connection.backup) copies the pages of the last committed
state under a read transaction; in WAL mode writers carry on meanwhile, and nothing uncommitted
is copied. PostgreSQL has its own tools (pg_dump, pg_basebackup + WAL archiving): see
docs/deployment.md.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy.engine import make_url

PG_MESSAGE = (
    "postal backup copies SQLite databases only; this one is PostgreSQL.\n"
    "Use PostgreSQL's own tools, e.g.:\n"
    "  pg_dump --format=custom --file=postal-$(date +%F).dump postgresql://USER@HOST/DB\n"
    "(the DATABASE_URL without its '+psycopg'), "
    "and for point-in-time recovery pg_basebackup with WAL archiving "
    "(see docs/deployment.md, \"Backups\")."
)
# the tables a postal database always has; a file without them is not a postal backup
REQUIRED_TABLES = ("dossier", "event", "audit_log", "app_user")


def _sqlite_path() -> Path:
    url = make_url(current_app.config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() != "sqlite":
        raise click.ClickException(PG_MESSAGE)
    if url.database in (None, "", ":memory:"):
        raise click.ClickException("the database lives in memory: there is no file to back up")
    return Path(url.database)


def _check(path: Path) -> int:
    """Refuse anything but an intact postal SQLite database; returns its dossier count."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            verdict = conn.execute("PRAGMA integrity_check").fetchone()[0]
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master "
                                                 "WHERE type = 'table'")}
            dossiers = (conn.execute("SELECT count(*) FROM dossier").fetchone()[0]
                        if "dossier" in tables else 0)
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise click.ClickException(f"{path} is not a usable SQLite database: {exc}") from None
    if verdict != "ok":
        raise click.ClickException(f"{path} is damaged: {verdict}")
    missing = [t for t in REQUIRED_TABLES if t not in tables]
    if missing:
        raise click.ClickException(f"{path} is not a postal database (no {', '.join(missing)})")
    return dossiers


def copy_database(source: Path, target: Path, *, standalone: bool = False) -> None:
    """Copy one SQLite database into another with the online backup API; a standalone copy
    (a backup file) leaves WAL mode, so it is one self-contained file with no -wal/-shm."""
    src = sqlite3.connect(str(source), timeout=30)
    dst = sqlite3.connect(str(target), timeout=30)
    try:
        with dst:
            src.backup(dst)
        if standalone:
            dst.execute("PRAGMA journal_mode=DELETE")
    finally:
        dst.close()
        src.close()


@click.command("backup")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="file to write (default: instance/backups/postal-<UTC time>.db)")
@with_appcontext
def backup(output: Path | None):
    """Copy the SQLite database to a file while the app keeps running."""
    source = _sqlite_path()
    if not source.exists():
        raise click.ClickException(f"no database at {source}")
    if output is None:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        output = Path(current_app.instance_path) / "backups" / f"postal-{stamp}.db"
    if output.exists():
        raise click.ClickException(f"{output} exists already; choose another --output")
    output.parent.mkdir(parents=True, exist_ok=True)
    try:
        copy_database(source, output, standalone=True)
        dossiers = _check(output)
    except BaseException:
        output.unlink(missing_ok=True)
        raise
    click.echo(f"backup written to {output} ({output.stat().st_size:,} bytes, "
               f"{dossiers} dossiers, integrity ok)")


@click.command("restore")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="replace the database without asking")
@with_appcontext
def restore(path: Path, yes: bool):
    """Replace the SQLite database with the backup at PATH (the current one is kept aside).

    Stop the app (all gunicorn workers) first: pages still open see the restored data only on
    their next request, and a write in flight would be lost.
    """
    from postal.extensions import db

    target = _sqlite_path()
    dossiers = _check(path)
    if not yes:
        click.confirm(f"Replace {target} with {path} ({dossiers} dossiers)? Everything written "
                      "since that backup will be lost", abort=True)
    kept = None
    if target.exists():
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        kept = target.with_name(f"{target.name}.before-restore-{stamp}")
        copy_database(target, kept, standalone=True)
    db.engine.dispose()  # no pooled connection keeps a view of the replaced pages
    copy_database(path, target)
    _check(target)
    click.echo(f"restored {path} into {target} ({dossiers} dossiers)")
    if kept is not None:
        click.echo(f"the database as it was before is kept at {kept}")


COMMANDS = [backup, restore]
