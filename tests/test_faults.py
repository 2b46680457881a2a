"""Faults: the database going away gives a clean 503 (JSON for the API, a page otherwise) and
loses nothing committed; a restart of the app loses no queued notification."""

from __future__ import annotations

import os
from contextlib import contextmanager
from datetime import timedelta

import pytest
from flask import has_request_context
from sqlalchemy import create_engine, event, func, select
from sqlalchemy.exc import OperationalError

from postal import create_app
from postal.core.db import write_intent
from postal.dossiers.lifecycle import State
from postal.extensions import db
from postal.models import ApiToken, AuditEntry, Dossier, Notification, NotificationStatus, utcnow
from postal.outbox import worker
from tests.factories import make_dossier


@pytest.fixture
def app_config():
    # as in production: an exception the handlers miss becomes a 500 answer, not a test error
    return {"PROPAGATE_EXCEPTIONS": False}


DEAD_URLS = {
    "sqlite": "sqlite:////nonexistent-directory/postal.db",  # cannot be opened
    "postgresql": "postgresql+psycopg://postgres@127.0.0.1:9/postal",  # nothing listens there
}


@contextmanager
def database_gone(app):
    """Every new connection of the app fails, as when the database server is down."""
    engines = db._app_engines[app]
    alive = engines[None]
    db.session.remove()  # give the test's connection back, then close every pooled one
    alive.dispose()
    dead = create_engine(DEAD_URLS[alive.dialect.name], connect_args=(
        {"connect_timeout": 2} if alive.dialect.name == "postgresql" else {}))
    engines[None] = dead
    try:
        yield
    finally:
        db.session.remove()
        dead.dispose()
        engines[None] = alive


@contextmanager
def commit_fails(app):
    """The connection drops at COMMIT: the request's work reached the database, its commit not."""
    def _drop(_connection):
        if has_request_context():  # the test's own session commits before each request
            raise OperationalError("COMMIT", {}, Exception("server closed the connection"))

    engine = db.engine
    event.listen(engine, "commit", _drop)
    try:
        yield
    finally:
        event.remove(engine, "commit", _drop)


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_the_api_answers_503_json_while_the_database_is_down(app, client, make_user, api_token):
    headers = api_token(make_user("clerk"))
    with database_gone(app):
        answer = client.get("/api/v1/units", headers=headers)
        token = client.post("/api/v1/auth/token", json={"username": "x", "password": "y"})
    assert answer.status_code == 503
    assert answer.get_json()["error"]["code"] == "database_unavailable"
    assert token.status_code == 503 and token.is_json
    assert client.get("/api/v1/units", headers=headers).status_code == 200  # back again


def test_a_page_answers_503_html_while_the_database_is_down(app, client, centre,
                                                            make_procedure):
    token = make_dossier(centre, make_procedure()).token
    with database_gone(app):
        page = client.get("/public/status", query_string={"token": token})
    assert page.status_code == 503
    assert page.mimetype == "text/html"
    assert "database" in page.get_data(as_text=True)
    assert client.get("/public/status", query_string={"token": token}).status_code == 200


def test_a_commit_that_fails_mid_request_is_a_503_and_keeps_what_was_committed(
        app, client, make_user):
    user = make_user("clerk")
    first = client.post("/api/v1/auth/token",
                        json={"username": user.username, "password": "correct-horse-42"})
    assert first.status_code == 200
    before = (count(ApiToken), count(AuditEntry))
    with commit_fails(app):
        second = client.post("/api/v1/auth/token",
                             json={"username": user.username, "password": "correct-horse-42"})
    assert second.status_code == 503, second.get_data(as_text=True)
    assert second.get_json()["error"]["code"] == "database_unavailable"
    db.session.rollback()
    assert (count(ApiToken), count(AuditEntry)) == before  # the failed request left nothing
    headers = {"Authorization": f"Bearer {first.get_json()['token']}"}
    assert client.get("/api/v1/units", headers=headers).status_code == 200  # the first holds


class Recorder:
    def __init__(self, fail: bool = False):
        self.sent, self.fail = [], fail

    def send(self, to, subject, body):
        if self.fail:
            raise ConnectionError("gateway down")
        self.sent.append((to, body))


@pytest.fixture
def decided(app, client, agency, make_procedure, make_user, api_token, centre):
    """A dossier whose result the agency marked ready through the API: one message queued."""
    dossier = make_dossier(centre, make_procedure(), state=State.PROCESSING, phone="0905123456")
    answer = client.post(f"/api/v1/dossiers/{dossier.code}/result", json={},
                         headers=api_token(make_user("agency", unit=agency)))
    assert answer.status_code == 200, answer.get_json()
    return dossier


def _restart(app, database_url):
    """The process goes away (its engine and sessions with it) and a new one starts."""
    db.session.remove()
    db.engine.dispose()
    return create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url})


def recording_sender(config):
    """NOTIFY_SENDER=tests.test_faults:recording_sender: what `postal notify-worker` sends goes
    to the list config["SENT"]."""
    class Sender:
        def send(self, to, subject, body):
            config["SENT"].append((to, body))

    return Sender()


def test_a_queued_message_survives_a_restart_and_is_sent_once(app, decided, database_url):
    code = decided.code
    queued = db.session.scalars(select(Notification)).all()
    assert [(n.kind, n.recipient, n.status) for n in queued] == [
        ("result_ready", "0905123456", NotificationStatus.PENDING)]
    fresh = _restart(app, database_url)
    fresh.config.update(NOTIFY_SENDER="tests.test_faults:recording_sender", SENT=[])
    try:
        with fresh.app_context():  # the new process's app, not the old one's
            for _ in range(2):  # the second run finds nothing left to send
                result = fresh.test_cli_runner().invoke(args=["notify-worker", "--once"])
                assert result.exit_code == 0, result.output
    finally:
        write_intent.set(False)  # the worker marks its thread as writing
    sent = fresh.config["SENT"]
    assert [to for to, _ in sent] == ["0905123456"] and code in sent[0][1]
    with fresh.app_context():
        row = db.session.scalars(select(Notification)).one()
        assert row.status == NotificationStatus.SENT
        db.session.remove()
        db.engine.dispose()


def test_a_worker_dying_mid_send_leaves_the_message_for_the_next(app, decided, database_url):
    now = utcnow()
    claimed = worker.claim(db.session, now)  # taken, then the worker dies unsent
    assert len(claimed) == 1
    fresh = _restart(app, database_url)
    with fresh.app_context():
        sender = Recorder()
        # within the lease nobody else takes it; after it, the next worker sends it
        assert worker.send_due(db.session, sender, clock=lambda: now) == (0, 0)
        later = now + worker.LEASE + timedelta(seconds=1)
        assert worker.send_due(db.session, sender, clock=lambda: later) == (1, 0)
        assert len(sender.sent) == 1
        db.session.remove()
        db.engine.dispose()


def test_a_failing_gateway_keeps_the_message_pending_across_a_restart(app, decided,
                                                                      database_url):
    now = utcnow()
    assert worker.send_due(db.session, Recorder(fail=True), clock=lambda: now) == (0, 1)
    fresh = _restart(app, database_url)
    with fresh.app_context():
        row = db.session.scalars(select(Notification)).one()
        assert row.status == NotificationStatus.PENDING and "gateway down" in row.last_error
        sender = Recorder()
        later = row.next_attempt_at + timedelta(seconds=1)
        assert worker.send_due(db.session, sender, clock=lambda: later) == (1, 0)
        db.session.remove()
        db.engine.dispose()


def test_a_state_change_whose_commit_fails_queues_no_message(app, client, agency, centre,
                                                             make_procedure, make_user,
                                                             api_token):
    dossier = make_dossier(centre, make_procedure(), state=State.PROCESSING)
    code, dossier_id = dossier.code, dossier.id
    headers = api_token(make_user("agency", unit=agency))
    with commit_fails(app):
        answer = client.post(f"/api/v1/dossiers/{code}/result", json={}, headers=headers)
    assert answer.status_code == 503
    db.session.rollback()
    assert count(Notification) == 0
    assert db.session.get(Dossier, dossier_id).state == State.PROCESSING


def test_the_dead_addresses_really_are_dead():
    for url in DEAD_URLS.values():
        engine = create_engine(url, connect_args=(
            {"connect_timeout": 2} if url.startswith("postgresql") else {}))
        with pytest.raises(OperationalError):
            engine.connect().close()
        engine.dispose()
    assert not os.path.exists("/nonexistent-directory")


def test_a_login_that_cannot_be_audited_does_not_log_in(app, client, make_user, login_form):
    """The database refuses the login's commit (read-only, full disk): no working cookie."""
    user = make_user("clerk")
    with commit_fails(app):
        answer = login_form(user)
    assert answer.status_code == 503
    assert "session=" not in answer.headers.get("Set-Cookie", "")
    assert client.get("/counter/").status_code == 302  # not logged in
    db.session.rollback()
    assert "login" not in set(db.session.scalars(select(AuditEntry.action)))
