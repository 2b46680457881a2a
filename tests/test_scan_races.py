"""Custody does not depend on arrival order or on the number of clients (issue 11).

The same 60 scan events (pickup, the courier's handover and the agency's receipt of 20
folders) go to the app once in order from one client, and again from four concurrent clients
in shuffled chunks of seven, each event sent by two of them. Every dossier must end the same:
state, holders, events, legs; and no answer may be a 5xx. Each request runs in its own thread,
app context and database connection (PostgreSQL in CI, where the rows are locked; SQLite
lets one writer in at a time).
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from datetime import timedelta

from custody_support import at
from flask.testing import FlaskClient
from sqlalchemy import select

from postal.extensions import db
from postal.models import Dossier, Event, Item, Leg

pytest_plugins = ["custody_factories"]

ROUNDS = 3
DOSSIERS = 20
CHUNK = 7
CLIENTS = 4


def _events(world, dossiers, tag: str, base) -> list[tuple[str, dict]]:
    """(who sends it, the event): three per dossier, a minute apart between dossiers."""
    out = []
    for n, dossier in enumerate(dossiers):
        folder, t0 = world.folder(dossier).number, base + timedelta(minutes=n)
        out += [
            ("courier", {"id": f"{tag}-{n:02d}-pickup", "barcode": folder, "event": "pickup",
                         "at": t0.isoformat()}),
            ("courier", {"id": f"{tag}-{n:02d}-handover", "barcode": folder,
                         "event": "handover", "at": (t0 + timedelta(minutes=30)).isoformat()}),
            ("agency", {"id": f"{tag}-{n:02d}-receipt", "barcode": folder, "event": "handover",
                        "at": (t0 + timedelta(minutes=31)).isoformat()}),
        ]
    return out


def _snapshot(dossier_ids: list[int], base) -> list:
    """Each dossier as a value that does not depend on row ids or on the set's base time."""
    db.session.expire_all()
    out = []
    for dossier_id in dossier_ids:
        dossier = db.session.get(Dossier, dossier_id)
        items = sorted(((i.kind.value, i.holder_unit_id, i.holder_user_id,
                         i.held_since - base if i.held_since else None) for i in dossier.items),
                       key=repr)
        events = Counter((e.kind, e.user_id, e.at - base) for e in db.session.scalars(
            select(Event).where(Event.dossier_id == dossier_id)) if e.kind != "accepted")
        legs = sorted([(leg.from_unit_id, leg.to_unit_id, leg.custodian_id, leg.receiver_id,
                       leg.started_at - base, leg.ended_at - base if leg.ended_at else None,
                       leg.start_event_id is not None, leg.end_event_id is not None)
                      for leg in db.session.scalars(select(Leg).join(Item, Item.id == Leg.item_id)
                                                    .where(Item.dossier_id == dossier_id))],
                      key=repr)
        out.append((dossier.state.value, items, sorted(events.items(), key=repr), legs))
    return out


def _post(client, headers, chunk, answers, lock) -> None:
    response = client.post("/api/v1/scans", headers=headers, json=chunk)
    with lock:
        answers.append((response.status_code, response.get_json()))


def test_concurrent_shuffled_scans_end_as_the_same_scans_in_order(app, world, api_token):
    tokens = {"courier": api_token(world.courier), "agency": api_token(world.officer)}
    db.session.commit()
    rng = random.Random(11)
    answers: list[tuple[int, object]] = []
    lock = threading.Lock()
    for round_ in range(ROUNDS):
        base = at(8, 8) + timedelta(hours=round_)
        in_order = [world.dossier() for _ in range(DOSSIERS)]
        raced = [world.dossier() for _ in range(DOSSIERS)]
        db.session.commit()
        ids_in_order, ids_raced = [d.id for d in in_order], [d.id for d in raced]

        # one client, in time order, one event a request
        plain = app.test_client()
        events = _events(world, in_order, f"r{round_}-seq", base)
        for who, event in sorted(events, key=lambda e: e[1]["at"]):
            _post(plain, tokens[who], [event], answers, lock)

        # four clients at once: each event sent by two of them, shuffled, in chunks of seven
        events = _events(world, raced, f"r{round_}-race", base)
        work: list[list] = [[] for _ in range(CLIENTS)]
        for who in ("courier", "agency"):
            mine = [e for w, e in events if w == who]
            for copy in range(2):
                shuffled = rng.sample(mine, len(mine))
                chunks = [shuffled[i:i + CHUNK] for i in range(0, len(shuffled), CHUNK)]
                client_no = (0 if who == "courier" else 2) + copy
                work[client_no] += [(tokens[who], c) for c in chunks]
        barrier = threading.Barrier(CLIENTS)

        def client_thread(jobs, barrier=barrier):
            client = FlaskClient(app)  # its own app context, session and connection a request
            barrier.wait()
            for headers, chunk in jobs:
                _post(client, headers, chunk, answers, lock)

        threads = [threading.Thread(target=client_thread, args=(jobs,)) for jobs in work]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

        db.session.rollback()
        expected = _snapshot(ids_in_order, base)
        # the in-order run itself did what it should
        assert {state for state, *_ in expected} == {"processing"}
        assert _snapshot(ids_raced, base) == expected, f"round {round_}"
    assert [status for status, _ in answers if status != 200] == []
    # every event is stored once: the second copy of each is answered as a duplicate
    outcomes = Counter(r["status"] for _, body in answers for r in body)
    assert outcomes == {"accepted": ROUNDS * 2 * 60, "duplicate": ROUNDS * 60}
