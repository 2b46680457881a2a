"""Scan throughput: 10,000 events posted to POST /api/v1/scans in batches of 500, on PostgreSQL.

5,000 paper folders are taken at the counter (pickup) and handed to their agency (handover,
which also moves each dossier to PROCESSING and closes its leg): 20 requests through the app
(Flask test client, bearer token). The floor beside it: the same 10,000 event rows inserted with
bare SQLAlchemy core, 500 a transaction. Goal: at least 2,000 events/s through the app.

The database is wiped before each of REPEATS rounds; the fastest round counts (noise only ever
adds time). Run: python bench/bench_scans.py [DATABASE_URL]
(default postgresql+psycopg://postgres@127.0.0.1:5432/bench_scans, created for the run and
dropped after it).
"""

from __future__ import annotations

import secrets
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta

from scratch_db import scratch_database
from sqlalchemy import create_engine, delete, insert, text

from postal import create_app
from postal.core import accounts
from postal.core.codes import format_dossier_code, make_s10
from postal.core.reference import add_unit
from postal.dossiers.catalogue import upsert_procedure
from postal.dossiers.lifecycle import State
from postal.extensions import db
from postal.models import Applicant, Dossier, Event, Item, UnitKind

URL = sys.argv[1] if len(sys.argv) > 1 else \
    "postgresql+psycopg://postgres@127.0.0.1:5432/bench_scans"
FOLDERS = 5_000
BATCH = 500
PASSWORD = "bench-password-1"
REPEATS = 3
RECEIVED = datetime(2025, 7, 7, 1, 0, tzinfo=UTC)


def reset_schema() -> None:
    engine = create_engine(URL)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def prepare(app) -> dict:
    """Units, a courier, a procedure, and FOLDERS accepted dossiers with their folders."""
    with app.app_context():
        db.create_all()
        province = add_unit(db.session, code="42", name="Tỉnh Hà Tĩnh", kind=UnitKind.PROVINCE,
                            parent=None)
        centre = add_unit(db.session, code="TTHCC-42", name="Trung tâm Phục vụ HCC Hà Tĩnh",
                          kind=UnitKind.CENTRE, parent=province, ident_code="000.00.42.H26")
        agency = add_unit(db.session, code="STP-42", name="Sở Tư pháp", kind=UnitKind.AGENCY,
                          parent=province)
        courier = accounts.create_user(db.session, "courier", PASSWORD, "courier", centre)
        clerk = accounts.create_user(db.session, "clerk", PASSWORD, "clerk", centre)
        procedure = upsert_procedure(db.session, code="1.000001", name="Cấp bản sao trích lục",
                                     agency=agency, processing_days=3)
        db.session.flush()
        applicant = Applicant(full_name="Nguyễn Thị Hồng Nhung", search_key="nguyen thi")
        db.session.add(applicant)
        db.session.flush()
        day = RECEIVED.date()
        dossiers = [{
            "code": format_dossier_code(centre.dossier_prefix, day, n), "unit_id": centre.id,
            "token": secrets.token_urlsafe(16), "agency_id": agency.id,
            "procedure_id": procedure.id, "applicant_id": applicant.id, "clerk_id": clerk.id,
            "state": State.ACCEPTED, "channel": "counter", "return_method": "counter",
            "documents": [], "missing_documents": [], "created_at": RECEIVED,
            "received_at": RECEIVED, "due_at": RECEIVED + timedelta(days=3),
        } for n in range(1, FOLDERS + 1)]
        ids = db.session.scalars(insert(Dossier).returning(Dossier.id), dossiers).all()
        numbers = [make_s10("RH", n) for n in range(1, FOLDERS + 1)]
        db.session.execute(insert(Item), [{
            "number": number, "dossier_id": dossier_id, "kind": "folder",
            "created_at": RECEIVED, "holder_unit_id": centre.id, "held_since": RECEIVED,
        } for number, dossier_id in zip(numbers, ids, strict=True)])
        db.session.commit()
        return {"numbers": numbers, "courier": courier.id, "centre": centre.id,
                "agency": agency.id}


def batches(numbers: list[str]) -> list[list[dict]]:
    """Pickups of every folder, then handovers, in batches of BATCH; times in the past."""
    start = datetime.now(UTC) - timedelta(hours=4)
    out = []
    for kind, offset in (("pickup", 0), ("handover", 3600)):
        for i in range(0, len(numbers), BATCH):
            out.append([{"id": str(uuid.uuid4()), "barcode": n, "event": kind,
                         "at": (start + timedelta(seconds=offset + j)).isoformat()}
                        for j, n in enumerate(numbers[i:i + BATCH], i)])
    return out


def floor(app, ctx: dict, work: list[list[dict]]) -> float:
    """The same event rows with SQLAlchemy core, one transaction a batch; seconds."""
    with app.app_context():
        items = dict(db.session.execute(text("SELECT number, id FROM item")).all())
        dossiers = dict(db.session.execute(text("SELECT id, dossier_id FROM item")).all())
        db.session.commit()
        engine = db.engine
        now = datetime.now(UTC)
        started = time.perf_counter()
        for batch in work:
            rows = [{"client_id": "floor-" + e["id"], "kind": e["event"],
                     "dossier_id": dossiers[items[e["barcode"]]], "item_id": items[e["barcode"]],
                     "at": datetime.fromisoformat(e["at"]), "recorded_at": now,
                     "user_id": ctx["courier"], "unit_id": ctx["agency"], "data": {}}
                    for e in batch]
            with engine.begin() as conn:
                conn.execute(insert(Event), rows)
        elapsed = time.perf_counter() - started
        # the bench's own rows go; the app's engine refuses any DELETE on the event log
        plain = create_engine(URL)
        with plain.begin() as conn:
            conn.execute(delete(Event).where(Event.client_id.like("floor-%")))
        plain.dispose()
        return elapsed


def through_the_app(app, work: list[list[dict]]) -> float:
    client = app.test_client()
    token = client.post("/api/v1/auth/token",
                        json={"username": "courier", "password": PASSWORD}).get_json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    started = time.perf_counter()
    for batch in work:
        response = client.post("/api/v1/scans", json=batch, headers=headers)
        assert response.status_code == 200, response.get_json()
        statuses = {r["status"] for r in response.get_json()}
        assert statuses == {"accepted"}, [r for r in response.get_json() if "error" in r][:3]
    return time.perf_counter() - started


def check(app) -> None:
    with app.app_context():
        events = db.session.scalar(text("SELECT count(*) FROM event"))
        legs = db.session.scalar(text("SELECT count(*) FROM leg WHERE ended_at IS NOT NULL"))
        processing = db.session.scalar(text("SELECT count(*) FROM dossier WHERE state = "
                                            "'processing'"))
        assert (events, legs, processing) == (2 * FOLDERS, FOLDERS, FOLDERS), \
            (events, legs, processing)


def one_round() -> tuple[float, float, int, int]:
    reset_schema()
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": URL})
    ctx = prepare(app)
    work = batches(ctx["numbers"])
    floor_s = floor(app, ctx, work)
    app_s = through_the_app(app, work)
    check(app)
    with app.app_context():
        db.engine.dispose()
    return app_s, floor_s, sum(len(b) for b in work), len(work)


def main() -> None:
    with scratch_database(URL):
        rounds = [one_round() for _ in range(REPEATS)]
    app_s, floor_s = min(r[0] for r in rounds), min(r[1] for r in rounds)
    total, requests = rounds[0][2], rounds[0][3]
    print(f"scans: {total} events in {requests} batches of {BATCH} through POST /api/v1/scans "
          f"on PostgreSQL, best of {REPEATS}: {app_s:.2f} s = {total / app_s:,.0f} events/s "
          f"(goal >= 2,000; rounds {', '.join(f'{total / r[0]:,.0f}' for r in rounds)}); "
          f"floor (bare SQLAlchemy core inserts of the same event rows): {floor_s:.2f} s = "
          f"{total / floor_s:,.0f} events/s; ratio {app_s / floor_s:.1f}x")


if __name__ == "__main__":
    main()
