"""`postal notify-worker`: send the outbox's due messages, outside any request."""

from __future__ import annotations

import time
from datetime import timedelta

import click
from flask import current_app
from flask.cli import with_appcontext

from postal.core.db import write_intent
from postal.outbox import senders, worker


def rating_link(dossier_id: int) -> str | None:
    """The public rating page of a delivered dossier, if PUBLIC_BASE_URL is set."""
    from postal.dossiers.ratings import rating_token
    from postal.extensions import db
    from postal.models import Dossier

    base = (current_app.config.get("PUBLIC_BASE_URL") or "").rstrip("/")
    dossier = db.session.get(Dossier, dossier_id) if dossier_id else None
    if not base or dossier is None:
        return None
    return f"{base}/public/rate/{rating_token(current_app.config['SECRET_KEY'], dossier)}"


@click.command("notify-worker")
@click.option("--once", is_flag=True, help="send what is due now, then stop")
@click.option("--interval", default=5.0, show_default=True, type=click.FloatRange(0.1, 3600),
              help="seconds between looks at the outbox")
@click.option("--batch", default=50, show_default=True, type=click.IntRange(1, 1000))
@click.option("--lease", default=worker.LEASE.total_seconds(), show_default=True,
              type=click.FloatRange(1, 86400),
              help="seconds a claimed message waits before another worker may retry it")
@with_appcontext
def notify_worker(once, interval, batch, lease):
    """Send due messages (NOTIFY_SENDER: log, smtp or module:factory), retrying failures
    with backoff; a worker that dies leaves its messages to the next one."""
    from postal.extensions import db
    from postal.models import utcnow

    write_intent.set(True)  # every transaction here writes: take SQLite's lock at BEGIN
    try:
        sender = senders.build_sender(current_app.config)
    except (ValueError, ImportError, AttributeError) as exc:
        raise click.ClickException(f"NOTIFY_SENDER: {exc}") from None
    total_sent = total_failed = 0
    try:
        while True:
            sent, failed = worker.send_due(
                db.session, sender, clock=utcnow, batch=batch,
                lease=timedelta(seconds=lease), rating_url=rating_link)
            total_sent, total_failed = total_sent + sent, total_failed + failed
            db.session.remove()
            if once and sent + failed < batch:
                break
            if sent + failed < batch:
                time.sleep(interval)
    except KeyboardInterrupt:
        pass
    click.echo(f"notify-worker: {total_sent} sent, {total_failed} failed (will retry)")


COMMANDS = [notify_worker]
