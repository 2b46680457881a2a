"""The database's rules (postal.core.db): the event log only grows whatever writes to it, and a
transaction that loses a race is run again from its savepoint, never answered as an error."""

from __future__ import annotations

import threading
import time

import pytest
from custody_support import at
from flask.testing import FlaskClient
from sqlalchemy import create_engine, delete, select, text, update
from sqlalchemy.exc import OperationalError

from postal.core.db import AppendOnlyViolation, lost_race, retrying
from postal.extensions import db
from postal.models import AuditEntry, Event

pytest_plugins = ["custody_factories"]


class _Orig(Exception):
    def __init__(self, sqlstate: str):
        super().__init__(f"sqlstate {sqlstate}")
        self.sqlstate = sqlstate


def _race(sqlstate: str = "40P01") -> OperationalError:
    return OperationalError("SELECT 1", {}, _Orig(sqlstate))


@pytest.mark.parametrize("statement", [
    lambda: update(Event).values(note="rewritten"),
    lambda: delete(Event),
    lambda: delete(AuditEntry),
], ids=["update-event", "delete-event", "delete-audit"])
def test_statements_that_rewrite_the_logs_are_refused_even_around_the_orm(world, statement):
    world.dossier()  # an "accepted" event to rewrite
    db.session.commit()
    with pytest.raises(AppendOnlyViolation):
        db.session.execute(statement())
    db.session.rollback()
    assert db.session.scalar(select(Event.note).where(Event.kind == "accepted")) is None


def test_only_deadlocks_serialization_failures_and_lock_timeouts_count_as_lost_races():
    assert all(lost_race(_race(code)) for code in ("40P01", "40001", "55P03"))
    assert not lost_race(_race("23505"))  # a unique violation is a real clash
    assert not lost_race(ValueError("not from the database"))


def test_a_lost_race_is_run_again_and_what_came_before_is_kept(world):
    world.dossier()
    calls = []

    def work():
        calls.append(1)
        db.session.add(Event(kind="note", at=at(8, 9), data={"try": len(calls)}))
        db.session.flush()
        if len(calls) < 3:
            raise _race()
        return "done"

    assert retrying(db.session, work) == "done"
    db.session.commit()
    tries = [e.data["try"] for e in db.session.scalars(select(Event).where(Event.kind == "note"))]
    assert tries == [3]  # the losing attempts left nothing
    assert db.session.scalar(select(Event.id).where(Event.kind == "accepted")) is not None


def test_other_errors_and_the_last_lost_race_are_raised(app):
    with pytest.raises(OperationalError):
        retrying(db.session, lambda: (_ for _ in ()).throw(_race("23505")))
    calls = []

    def always_loses():
        calls.append(1)
        raise _race()

    with pytest.raises(OperationalError):
        retrying(db.session, always_loses, attempts=2)
    assert len(calls) == 2


def test_a_real_deadlock_with_another_transaction_is_retried_not_answered_503(
        app, world, api_token, database_url):
    """PostgreSQL: another transaction holds B and waits for A while the batch holds A and
    waits for B; the batch is the victim (its deadlock check runs first), is run again from
    its savepoint, and answers 200."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("row locks and deadlock detection are PostgreSQL's; SQLite has one writer")
    headers = api_token(world.courier)
    first, second = world.dossier(), world.dossier()
    db.session.commit()
    folders = [world.folder(first).number, world.folder(second).number]
    ids = sorted([first.id, second.id])
    engine = create_engine(database_url)
    other = engine.connect()
    other_tx = other.begin()
    other.execute(text("SET LOCAL deadlock_timeout = '10s'"))  # so the batch detects it
    other.execute(text("SELECT id FROM dossier WHERE id = :id FOR UPDATE"), {"id": ids[1]})
    answer = {}

    def phone():
        answer["response"] = FlaskClient(app).post("/api/v1/scans", headers=headers, json=[
            {"id": f"deadlock-{n}", "barcode": code, "event": "pickup",
             "at": at(8, 9, n).isoformat()} for n, code in enumerate(folders)])

    batch = threading.Thread(target=phone)
    try:
        batch.start()
        with engine.connect() as probe:  # until the batch waits for the row the other holds
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and not probe.execute(text(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                    "AND datname = current_database()")).scalar():
                time.sleep(0.05)
        other.execute(text("SELECT id FROM dossier WHERE id = :id FOR UPDATE"), {"id": ids[0]})
        other_tx.commit()
    finally:
        other.close()
        batch.join(timeout=30)
        engine.dispose()
    response = answer["response"]
    assert response.status_code == 200, response.get_json()
    assert [r["status"] for r in response.get_json()] == ["accepted", "accepted"]
