"""The commands of `postal` (and of `flask --app wsgi`): schema, serve, demo data, users."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

DEMO_PASSWORD = "postal-demo"


def upgrade_database() -> int:
    """Apply migrations and load the reference units; returns how many units were added."""
    from flask_migrate import upgrade

    from postal.core.reference import load_reference_units
    from postal.extensions import db

    upgrade()
    added = load_reference_units(db.session)
    db.session.commit()
    return added


@click.group("db")
def db_group():
    """Schema migrations."""


@db_group.command("upgrade")
@with_appcontext
def db_upgrade():
    """Apply migrations and load the reference data (provinces, communes/wards)."""
    added = upgrade_database()
    click.echo(f"database at the latest revision; {added} reference units added")


@db_group.command("current")
@with_appcontext
def db_current():
    """Show the schema revision."""
    from flask_migrate import current

    current()


@db_group.command("migrate")
@click.option("-m", "--message", default=None)
@with_appcontext
def db_migrate(message):
    """Autogenerate a migration from the models (developers)."""
    from flask_migrate import migrate

    migrate(message=message)


@db_group.command("downgrade")
@click.argument("revision", default="-1")
@with_appcontext
def db_downgrade(revision):
    """Step the schema back."""
    from flask_migrate import downgrade

    downgrade(revision=revision)


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--dossiers", default=2000, show_default=True,
              help="demo dossiers for an empty database")
@click.option("--worker/--no-worker", default=True, show_default=True,
              help="run queued jobs (imports) in this process too")
@with_appcontext
def serve(host, port, dossiers, worker):
    """Create or upgrade the schema, seed demo data into an empty database, start the app
    with a queue worker inside (the single machine's default; `postal worker` adds more)."""
    from sqlalchemy import select

    from postal.extensions import db
    from postal.models import User

    upgrade_database()
    if db.session.scalar(select(User.id).limit(1)) is None:
        from postal.demo import seed_demo

        click.echo(f"empty database: seeding demo data ({dossiers} dossiers)…")
        seed_demo(db.session, dossiers=dossiers, seed=1, settings=current_app.config)
        db.session.commit()
    from postal.demo import demo_logins

    click.echo(f"\npostal is running at http://{host}:{port}/\n")
    click.echo(f"demo logins (password {DEMO_PASSWORD!r}):")
    for username, role, unit in demo_logins(db.session):
        click.echo(f"  {username:<14} {role:<8} {unit}")
    click.echo("")
    from werkzeug.serving import run_simple

    from postal.jobs import queue

    app = current_app._get_current_object()
    consumer = queue.start_embedded(app) if worker else None
    # Flask's app.run() refuses to start from inside its own CLI; serve with werkzeug directly.
    # For production, run gunicorn and `postal worker` (README, docs/deployment.md).
    try:
        run_simple(host, port, app, threaded=True)
    finally:
        if consumer is not None:
            consumer.stop(graceful=True)


@click.command("demo")
@click.option("--dossiers", default=2000, show_default=True, type=click.IntRange(0, 5_000_000))
@click.option("--seed", default=1, show_default=True, type=int)
@with_appcontext
def demo(dossiers, seed):
    """Fill the database with a realistic synthetic history, reproducible for a seed."""
    from postal.demo import seed_demo
    from postal.extensions import db

    upgrade_database()
    summary = seed_demo(db.session, dossiers=dossiers, seed=seed, progress=click.echo,
                        settings=current_app.config)
    db.session.commit()
    click.echo(summary)


@click.group("users")
def users_group():
    """Staff accounts."""


@users_group.command("create")
@click.argument("username")
@click.option("--role", required=True,
              type=click.Choice(["clerk", "courier", "agency", "manager", "admin"]))
@click.option("--unit", "unit_code", required=True, help="code of the user's unit")
@click.option("--full-name", default="")
@click.password_option(prompt="Password", confirmation_prompt=True)
@with_appcontext
def users_create(username, role, unit_code, full_name, password):
    """Create a staff account (password from the prompt, or one line on stdin)."""
    from postal.core import accounts, audit
    from postal.core.errors import DomainError
    from postal.extensions import db

    try:
        unit = accounts.unit_by_code(db.session, unit_code)
        user = accounts.create_user(db.session, username, password, role, unit, full_name=full_name)
        audit.record(db.session, None, "user_create", "user", user.username, via="cli", role=role)
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        raise click.ClickException(exc.message) from None
    click.echo(f"created {user.username} ({role}) at {unit.name}")


COMMANDS = [db_group, serve, demo, users_group]


def register_commands(app: Flask) -> None:
    """Put every postal command on app.cli, so `postal X` and `flask --app wsgi X` agree."""
    from postal.cli import backup, notify, reports, worker

    for command in (*COMMANDS, *reports.COMMANDS, *notify.COMMANDS, *backup.COMMANDS,
                    *worker.COMMANDS):
        app.cli.add_command(command)

