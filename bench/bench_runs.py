"""Time the run endpoints against their floors: 1,000 labels in one PDF through
GET /api/v1/runs/{id}/labels.pdf (goal < 5 s) and planning an ordered run of 200 stops through
POST /api/v1/runs (goal < 1 s).

Floors: the label renderer alone on the same labels (no database, no HTTP), and plan_route
alone on the same 200 positions. The database is a fresh SQLite file (BENCH_DATABASE_URL for
another, e.g. a PostgreSQL database that may be emptied).
"""

import os
import random
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

LABELS = 1000
STOPS = 200
RUNS = 3
PASSWORD = "bench-password-42"
CENTRE = (18.3428, 105.9057)


def median_time(func, runs=RUNS):
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        func()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def build_world(db, n):
    """A province, 20 wards, a centre, a clerk and a courier, and n dossiers whose result is
    back at the centre, each at its own position."""
    from postal.core import accounts
    from postal.core.codes import format_dossier_code, make_s10
    from postal.core.reference import add_unit
    from postal.core.time import TZ
    from postal.dossiers.lifecycle import State
    from postal.models import (
        Applicant,
        Channel,
        Dossier,
        Item,
        ItemKind,
        Procedure,
        ReturnMethod,
        UnitKind,
    )

    rng = random.Random(1000)
    province = add_unit(db.session, code="42", name="Hà Tĩnh", kind=UnitKind.PROVINCE,
                        parent=None)
    wards = [add_unit(db.session, code=f"{18000 + i}", name=f"Phường Số {i}",
                      kind=UnitKind.COMMUNE, parent=province,
                      lat=rng.uniform(18.0, 18.8), lon=rng.uniform(105.3, 106.2))
             for i in range(20)]
    centre = add_unit(db.session, code="TTHCC", name="Trung tâm Phục vụ hành chính công",
                      kind=UnitKind.CENTRE, parent=province, ident_code="000.00.42.H26",
                      lat=CENTRE[0], lon=CENTRE[1], address="Số 1 Nguyễn Tất Thành")
    agency = add_unit(db.session, code="STP", name="Sở Tư pháp", kind=UnitKind.AGENCY,
                      parent=province)
    clerk = accounts.create_user(db.session, "clerk", PASSWORD, "clerk", centre)
    accounts.create_user(db.session, "courier", PASSWORD, "courier", centre)
    procedure = Procedure(code="1.000001", name="Cấp bản sao trích lục hộ tịch", field="Hộ tịch",
                          agency=agency, processing_days=3, documents=[], search_key="")
    db.session.add(procedure)
    now = datetime.now(UTC)
    codes = []
    for i in range(1, n + 1):
        ward = wards[i % len(wards)]
        applicant = Applicant(full_name=f"Nguyễn Văn Người Nhận {i}", phone="0912345678",
                              street=f"Số {i} đường Trần Phú", ward=ward, search_key="")
        code = format_dossier_code("000.00.42.H26", (now - timedelta(days=3)).astimezone(TZ)
                                   .date(), i)
        dossier = Dossier(
            code=code, token=secrets.token_hex(16), unit=centre, agency=agency,
            procedure=procedure, applicant=applicant, clerk=clerk, state=State.AWAITING_RETURN,
            channel=Channel.COUNTER, return_method=ReturnMethod.HOME,
            delivery_street=applicant.street, delivery_ward=ward, cod_amount=25000 * (i % 3),
            received_at=now - timedelta(days=3), resolved_at=now - timedelta(days=1),
            # a position set by hand keeps the ordering bench about ordering, not geocoding
            delivery_lat=rng.uniform(18.0, 18.8), delivery_lon=rng.uniform(105.3, 106.2),
            delivery_geo_source="manual")
        db.session.add(dossier)
        db.session.add(Item(number=make_s10("RK", 10_000_000 + i), dossier=dossier,
                            kind=ItemKind.RESULT, holder_unit=centre, held_since=now))
        codes.append(code)
        if i % 500 == 0:
            db.session.flush()
    db.session.commit()
    return codes


def main():
    """Print two lines: labels and ordering, each with its floor and the ratio."""
    directory = tempfile.mkdtemp(prefix="postal-bench-runs-")
    try:
        bench(directory)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def bench(directory):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from postal import create_app
    from postal.delivery import runs
    from postal.delivery.routing import plan_route
    from postal.documents.labels import load_layout, render_labels, run_labels
    from postal.extensions import db

    url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{directory}/bench.db"
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        db.drop_all()
        db.create_all()
        codes = build_world(db, LABELS + STOPS)
    client = app.test_client()
    token = client.post("/api/v1/auth/token", json={"username": "clerk",
                                                    "password": PASSWORD}).get_json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    day = datetime.now(UTC).astimezone(runs.TZ).date().isoformat()

    # 1,000 labels of one run
    started = time.perf_counter()
    r = client.post("/api/v1/runs", json={"courier": "courier", "date": day,
                                          "codes": codes[:LABELS]}, headers=headers)
    planned_1000 = time.perf_counter() - started
    assert r.status_code == 201, r.get_json()
    run_id = r.get_json()["id"]
    url_pdf = f"/api/v1/runs/{run_id}/labels.pdf?layout=a6-4up"
    pdf = client.get(url_pdf, headers=headers)
    assert pdf.status_code == 200
    took = median_time(lambda: client.get(url_pdf, headers=headers))
    with app.app_context():
        with app.test_request_context():
            run = runs.run_for(db.session, runs_user(db), run_id)
            labels = run_labels(run)
    layout = load_layout("a6-4up")
    floor = median_time(lambda: render_labels(labels, layout))
    print(f"run labels: {LABELS} on a6-4up in one PDF via GET /api/v1/runs/{{id}}/labels.pdf "
          f"({len(pdf.data) / 1e6:.1f} MB): median {took:.2f} s of {RUNS} (goal < 5 s; floor "
          f"render_labels alone {floor:.2f} s, ratio {took / floor:.2f}x; planning that "
          f"1,000-stop run took {planned_1000:.2f} s)")

    # ordering 200 stops: plan, cancel (the dossiers go back to the queue), again
    chosen = codes[LABELS:LABELS + STOPS]
    times, total = [], None
    for _ in range(RUNS):
        started = time.perf_counter()
        r = client.post("/api/v1/runs", json={"courier": "courier", "date": day,
                                              "codes": chosen}, headers=headers)
        times.append(time.perf_counter() - started)
        assert r.status_code == 201, r.get_json()
        body = r.get_json()
        total = body["total_km"]
        client.post(f"/api/v1/runs/{body['id']}/cancel", headers=headers)
    points = [(s["lat"], s["lon"]) for s in body["stops"]]
    floor = median_time(lambda: plan_route(CENTRE, points))
    took = statistics.median(times)
    print(f"run ordering: {STOPS} stops via POST /api/v1/runs: median {took:.2f} s of {RUNS} "
          f"(goal < 1 s; floor plan_route alone {floor:.2f} s, ratio {took / floor:.2f}x; "
          f"{total:.0f} km round trip)")
    with app.app_context():
        db.engine.dispose()


def runs_user(db):
    from sqlalchemy import select

    from postal.models import User

    return db.session.scalar(select(User).where(User.username == "clerk"))


if __name__ == "__main__":
    main()
