"""The courier's phone back online: what it queued offline synced, beside the plain API calls
for the same work.

The queue: 500 events — 480 scans (folders picked up at the counter) and 20 deliveries, each
with a proof photo (a ~200 KB JPEG, as the phone compresses it) and a signature. The phone's
sync, as phone/outbox.js and phone/shell.js do it: GET /courier/session, POST /courier/clock,
POST /scans (one batch), each photo in 128 KB parts (POST /uploads, PUT /uploads/{id}/{offset}),
POST /proofs (one batch of 20), then GET /courier/work to refresh what it keeps. The plain
calls beside it: POST /scans (one batch) and POST /dossiers/{code}/delivery (multipart, photo
in the body) twenty times. Both run through the app in-process (Flask test client, bearer
token) on their own copy of the same data; the fastest of REPEATS rounds counts.

    python bench/bench_sync.py                                   # SQLite in a temporary folder
    python bench/bench_sync.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench_sync
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import os
import secrets
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from scratch_db import scratch_database  # noqa: E402
from sqlalchemy import create_engine, insert, text  # noqa: E402

from postal import create_app  # noqa: E402
from postal.core import accounts  # noqa: E402
from postal.core.codes import format_dossier_code, make_s10  # noqa: E402
from postal.core.reference import add_unit  # noqa: E402
from postal.delivery import runs  # noqa: E402
from postal.dossiers.catalogue import upsert_procedure  # noqa: E402
from postal.dossiers.lifecycle import State  # noqa: E402
from postal.extensions import db  # noqa: E402
from postal.models import (  # noqa: E402
    Applicant,
    Dossier,
    Item,
    ItemKind,
    OrgUnit,
    Procedure,
    ReturnMethod,
    UnitKind,
    User,
)

SCANS = 480
DELIVERIES = 20
PART = 128 * 1024  # phone/outbox.js sends photos in parts of this size
PASSWORD = "bench-password-1"
REPEATS = 3
RECEIVED = datetime.now(UTC) - timedelta(days=5)


def photo(seed: int) -> bytes:
    """A phone photo after the phone's compression: a JPEG of about 200 KB."""
    from PIL import Image, ImageDraw

    image = Image.effect_noise((900, 675), 28 + seed % 5).convert("RGB")
    draw = ImageDraw.Draw(image)
    for i in range(0, 900, 60):
        draw.line([(i, 0), (900 - i, 675)], fill=(seed * 11 % 255, 90, 200), width=7)
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=80)
    return out.getvalue()


def signature() -> str:
    from PIL import Image, ImageDraw

    image = Image.new("RGBA", (340, 180), (0, 0, 0, 0))
    ImageDraw.Draw(image).line([(20, 120), (300, 40), (320, 150)], fill=(11, 31, 68, 255),
                               width=3)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()


def prepare(app, side: str, world: dict) -> dict:
    """One side's work: SCANS folders at the counter, DELIVERIES results out for delivery."""
    with app.app_context():
        centre_id, agency_id, clerk_id = world["centre"], world["agency"], world["clerk"]
        centre = db.session.get(OrgUnit, centre_id)
        procedure = db.session.get(Procedure, world["procedure"])
        applicant = Applicant(full_name="Nguyễn Thị Hồng Nhung", search_key="nguyen thi",
                              id_number="042190001234", phone="0912345678")
        db.session.add(applicant)
        db.session.flush()
        base = world["next"]
        day = RECEIVED.date()
        folders = [{
            "code": format_dossier_code(centre.dossier_prefix, day, base + n),
            "unit_id": centre_id, "token": secrets.token_urlsafe(16), "agency_id": agency_id,
            "procedure_id": procedure.id, "applicant_id": applicant.id, "clerk_id": clerk_id,
            "state": State.ACCEPTED, "channel": "counter", "return_method": "counter",
            "documents": [], "missing_documents": [], "created_at": RECEIVED,
            "received_at": RECEIVED, "due_at": RECEIVED + timedelta(days=3),
        } for n in range(SCANS)]
        ids = db.session.scalars(insert(Dossier).returning(Dossier.id), folders).all()
        numbers = [make_s10("RH", base + n) for n in range(SCANS)]
        db.session.execute(insert(Item), [{
            "number": number, "dossier_id": dossier_id, "kind": "folder",
            "created_at": RECEIVED, "holder_unit_id": centre_id, "held_since": RECEIVED,
        } for number, dossier_id in zip(numbers, ids, strict=True)])
        homes = []
        for n in range(DELIVERIES):
            code = format_dossier_code(centre.dossier_prefix, day, base + SCANS + n)
            dossier = Dossier(
                code=code, token=secrets.token_urlsafe(16), unit=centre, agency_id=agency_id,
                procedure=procedure, applicant=applicant, clerk_id=clerk_id,
                state=State.AWAITING_RETURN, channel="counter", return_method=ReturnMethod.HOME,
                delivery_street=f"{n + 1} Nguyễn Du", created_at=RECEIVED, received_at=RECEIVED,
                due_at=RECEIVED + timedelta(days=3), resolved_at=RECEIVED + timedelta(days=2))
            db.session.add(dossier)
            db.session.add(Item(number=make_s10("RK", base + n), dossier=dossier,
                                kind=ItemKind.RESULT, created_at=RECEIVED + timedelta(days=2),
                                holder_unit_id=centre_id,
                                held_since=RECEIVED + timedelta(days=2)))
            homes.append(dossier)
        db.session.flush()
        courier = db.session.get(User, world[side])
        run = runs.plan_run(db.session, db.session.get(User, clerk_id), courier=courier.username,
                            day=datetime.now(UTC).date(), now=datetime.now(UTC), config={},
                            codes=[d.code for d in homes])
        runs.start_run(db.session, courier, run, datetime.now(UTC) - timedelta(hours=3))
        db.session.commit()
        world["next"] = base + SCANS + DELIVERIES
        return {"numbers": numbers, "codes": [d.code for d in homes], "user": courier.username}


def build(url: str) -> tuple:
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        db.create_all()
        province = add_unit(db.session, code="42", name="Tỉnh Hà Tĩnh", kind=UnitKind.PROVINCE,
                            parent=None)
        centre = add_unit(db.session, code="TTHCC-42", name="Trung tâm Phục vụ HCC Hà Tĩnh",
                          kind=UnitKind.CENTRE, parent=province, ident_code="000.00.42.H26",
                          lat=18.3428, lon=105.9057)
        agency = add_unit(db.session, code="STP-42", name="Sở Tư pháp", kind=UnitKind.AGENCY,
                          parent=province)
        world = {
            "centre": centre.id, "agency": agency.id, "next": 1,
            "clerk": accounts.create_user(db.session, "clerk", PASSWORD, "clerk", centre).id,
            "phone": accounts.create_user(db.session, "phone", PASSWORD, "courier", centre).id,
            "plain": accounts.create_user(db.session, "plain", PASSWORD, "courier", centre).id,
            "procedure": upsert_procedure(db.session, code="1.000001", agency=agency,
                                          name="Cấp bản sao trích lục", processing_days=3).id,
        }
        db.session.commit()
    return app, {side: prepare(app, side, world) for side in ("phone", "plain")}


def token(client, user: str) -> dict:
    answer = client.post("/api/v1/auth/token", json={"username": user, "password": PASSWORD})
    return {"Authorization": f"Bearer {answer.get_json()['token']}"}


def scan_batch(numbers: list[str]) -> list[dict]:
    start = datetime.now(UTC) - timedelta(hours=2)
    return [{"id": str(uuid.uuid4()), "barcode": n, "event": "pickup", "item_kind": "folder",
             "at": (start + timedelta(seconds=i)).isoformat()} for i, n in enumerate(numbers)]


class Counter:
    def __init__(self, client):
        self.client, self.requests, self.sent = client, 0, 0

    def __call__(self, method: str, url: str, **kw):
        self.requests += 1
        body = kw.get("data")
        self.sent += len(body) if isinstance(body, bytes) else 0
        answer = self.client.open(url, method=method, **kw)
        assert answer.status_code < 300, (url, answer.status_code, answer.get_data()[:300])
        return answer


def the_phones_sync(app, work: dict, photos: list[bytes], sig: str) -> tuple[float, int, int]:
    client = app.test_client()
    headers = token(client, work["user"])
    call = Counter(client)
    scans = scan_batch(work["numbers"])
    at = (datetime.now(UTC) - timedelta(minutes=30)).isoformat()
    started = time.perf_counter()
    call("GET", "/api/v1/courier/session", headers=headers)
    call("POST", "/api/v1/courier/clock", headers=headers,
         json={"device_id": "bench-phone", "device_time": datetime.now(UTC).isoformat()})
    answers = call("POST", "/api/v1/scans", headers=headers, json=scans).get_json()
    assert {a["status"] for a in answers} == {"accepted"}, answers[:3]
    proofs = []
    for code, data in zip(work["codes"], photos, strict=True):
        upload = str(uuid.uuid4())
        offset = call("POST", "/api/v1/uploads", headers=headers, json={
            "id": upload, "length": len(data),
            "sha256": hashlib.sha256(data).hexdigest()}).get_json()["offset"]
        while offset < len(data):
            offset = call("PUT", f"/api/v1/uploads/{upload}/{offset}", headers=headers,
                          data=data[offset:offset + PART],
                          content_type="application/octet-stream").get_json()["offset"]
        proofs.append({"id": str(uuid.uuid4()), "code": code, "outcome": "delivered",
                       "recipient_name": "Nguyễn Thị Hồng Nhung", "relation": "self",
                       "at": at, "signature": sig, "photo_upload": upload})
    answers = call("POST", "/api/v1/proofs", headers=headers, json={
        "device_id": "bench-phone", "sent_at": datetime.now(UTC).isoformat(),
        "proofs": proofs}).get_json()
    assert {a["status"] for a in answers} == {"accepted"}, answers[:3]
    call("GET", "/api/v1/courier/work", headers=headers)
    return time.perf_counter() - started, call.requests, call.sent


def the_plain_calls(app, work: dict, photos: list[bytes], sig: str) -> tuple[float, int, int]:
    client = app.test_client()
    headers = token(client, work["user"])
    call = Counter(client)
    scans = scan_batch(work["numbers"])
    at = (datetime.now(UTC) - timedelta(minutes=30)).isoformat()
    started = time.perf_counter()
    answers = call("POST", "/api/v1/scans", headers=headers, json=scans).get_json()
    assert {a["status"] for a in answers} == {"accepted"}, answers[:3]
    for code, data in zip(work["codes"], photos, strict=True):
        call("POST", f"/api/v1/dossiers/{code}/delivery", headers=headers, data={
            "recipient_name": "Nguyễn Thị Hồng Nhung", "relation": "self", "at": at,
            "signature": sig, "photo": (io.BytesIO(data), "photo.jpg", "image/jpeg")},
            content_type="multipart/form-data")
        call.sent += len(data)
    return time.perf_counter() - started, call.requests, call.sent


def check(app) -> None:
    with app.app_context():
        pickups = db.session.scalar(text("SELECT count(*) FROM event WHERE kind = 'pickup'"))
        photos = db.session.scalar(text("SELECT count(*) FROM delivery_attempt WHERE photo "
                                        "IS NOT NULL"))
        parts = db.session.scalar(text("SELECT count(*) FROM photo_upload_part"))
        assert (pickups, photos, parts) == (2 * SCANS, 2 * DELIVERIES, 0), (pickups, photos)
        db.session.commit()


def one_round(url: str, photos: list[bytes], sig: str):
    if url.startswith("postgresql"):
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    app, work = build(url)
    phone = the_phones_sync(app, work["phone"], photos, sig)
    plain = the_plain_calls(app, work["plain"], photos, sig)
    check(app)
    with app.app_context():
        db.engine.dispose()
    return phone, plain


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    photos = [photo(n) for n in range(DELIVERIES)]
    sig = signature()
    rounds = []
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/bench_sync.db"
        with scratch_database(url):
            for n in range(REPEATS):
                if url.startswith("sqlite"):
                    url = f"sqlite:///{tmp}/bench_sync_{n}.db"
                rounds.append(one_round(url, photos, sig))
    phone = min(rounds, key=lambda r: r[0][0])[0]
    plain = min(rounds, key=lambda r: r[1][0])[1]
    kind = "PostgreSQL" if args.database_url.startswith("postgresql") else "SQLite"
    mb = sum(len(p) for p in photos) / 1e6
    print(f"sync on reconnect, {kind}: {SCANS} scans + {DELIVERIES} proofs with photos "
          f"({mb:.1f} MB), best of {REPEATS}: the phone's sync {phone[0]:.2f} s in "
          f"{phone[1]} requests; the plain API calls for the same work {plain[0]:.2f} s in "
          f"{plain[1]} requests; ratio {phone[0] / plain[0]:.2f}x "
          f"(rounds: {', '.join(f'{p[0]:.2f}/{q[0]:.2f}' for p, q in rounds)})")


if __name__ == "__main__":
    main()
