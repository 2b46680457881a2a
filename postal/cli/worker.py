"""`postal worker`: a consumer of the task queue (jobs/queue.py), outside the web process."""

from __future__ import annotations

import logging

import click
from flask import current_app
from flask.cli import with_appcontext


@click.command("worker")
@click.option("--workers", default=None, type=click.IntRange(1, 64),
              help="threads running jobs [default: QUEUE_WORKERS]")
@with_appcontext
def worker(workers):
    """Run queued jobs (imports) until stopped: first fail the jobs of workers that died,
    undoing what they wrote. QUEUE_URL says where the queue is (SQLite file or Redis)."""
    from postal.jobs import queue

    app = current_app._get_current_object()
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    try:
        consumer = queue.consumer(app, workers=workers)
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from None
    failed = queue.sweep(app)
    if failed:
        click.echo(f"worker: {len(failed)} job(s) of stopped workers marked failed")
    click.echo(f"worker: consuming {app.config.get('QUEUE_URL') or 'the SQLite queue'} "
               f"with {consumer.workers} thread(s)")
    consumer.run()


COMMANDS = [worker]
