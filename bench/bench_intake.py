"""Time an intake through the app (POST /api/v1/dossiers + GET receipt.pdf) on a SQLite file.

The floor beside it: the same rows written with bare SQLAlchemy core in one transaction, plus a
bare reportlab page (same font, one Code128). Goal: median intake < 40 ms.
Run: python bench/bench_intake.py [N]
"""

import io
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from reportlab.graphics.barcode.code128 import Code128
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from sqlalchemy import create_engine, insert
from sqlalchemy.dialects.sqlite import insert as upsert

from postal import create_app
from postal.core import accounts
from postal.core.reference import add_unit, load_reference_units
from postal.documents.pdf import FONT, register_fonts
from postal.dossiers.catalogue import upsert_procedure
from postal.extensions import db
from postal.models import (
    Applicant,
    AuditEntry,
    DailySequence,
    Dossier,
    Event,
    Item,
    OrgUnit,
    UnitKind,
)

RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 200
WARM_UP = 10
PASSWORD = "bench-password-1"
NAME = "Nguyễn Thị Hồng Nhung"
BODY = {
    "procedure_code": "1.000001",
    "applicant": {"full_name": NAME, "id_number": "042190001234", "phone": "0912345678",
                  "address": {"street": "Thôn Trung Sơn", "ward_code": "18304"}},
    "channel": "counter", "return_method": "home", "documents": ["d1", "d2"],
    "fees": {"postal_fee": 25000},
}


def prepare(app):
    """Schema, reference data, a centre, an agency, a clerk, a procedure; returns ids."""
    with app.app_context():
        db.create_all()
        load_reference_units(db.session)
        province = db.session.query(OrgUnit).filter_by(code="42").one()
        centre = add_unit(db.session, code="TTHCC-42", name="Trung tâm Phục vụ HCC Hà Tĩnh",
                          kind=UnitKind.CENTRE, parent=province, ident_code="000.00.42.H26")
        agency = add_unit(db.session, code="STP-42", name="Sở Tư pháp", kind=UnitKind.AGENCY,
                          parent=province)
        accounts.create_user(db.session, "clerk", PASSWORD, "clerk", centre)
        upsert_procedure(db.session, code="1.000001", name="Cấp bản sao trích lục hộ tịch",
                         agency=agency, processing_days=3, fee=8000, documents=[
                             {"id": "d1", "name": "Tờ khai theo mẫu", "required": True},
                             {"id": "d2", "name": "Bản sao CCCD", "required": False}])
        db.session.commit()
        return centre.id, agency.id


def timed(func) -> float:
    started = time.perf_counter()
    func()
    return time.perf_counter() - started


def intake(client, headers):
    response = client.post("/api/v1/dossiers", json=BODY, headers=headers)
    assert response.status_code == 201, response.get_json()
    pdf = client.get(response.get_json()["receipt_url"], headers=headers)
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")


def floor(engine, unit_id, agency_id, n):
    """The same five rows and counter upsert with SQLAlchemy core, and one bare PDF page."""
    now = datetime.now(UTC)
    code = f"000.00.42.H26-990101-{n:04d}"
    with engine.begin() as conn:
        seq = conn.execute(
            upsert(DailySequence.__table__).values(unit_id=unit_id, scope="floor", day=now.date(),
                                                   last=1)
            .on_conflict_do_update(index_elements=["unit_id", "scope", "day"],
                                   set_={"last": DailySequence.__table__.c.last + 1})
            .returning(DailySequence.__table__.c.last)).scalar_one()
        applicant_id = conn.execute(insert(Applicant.__table__).values(
            full_name=NAME, id_number="042190001234", phone="0912345678", street="Thôn Trung Sơn",
            search_key="nguyen thi hong nhung")).inserted_primary_key[0]
        dossier_id = conn.execute(insert(Dossier.__table__).values(
            code=code, token=f"floor{n:027d}", unit_id=unit_id, agency_id=agency_id,
            procedure_id=1, applicant_id=applicant_id, state="accepted", channel="counter",
            return_method="home", documents=[], missing_documents=[], fee=8000,
            postal_fee=25000, cod_amount=0, delivery_attempts=0, created_at=now,
            received_at=now, due_at=now)).inserted_primary_key[0]
        conn.execute(insert(Item.__table__).values(
            number=f"ZZ{n:08d}{seq % 10}VN", dossier_id=dossier_id, kind="folder", created_at=now))
        conn.execute(insert(Event.__table__).values(
            kind="accepted", dossier_id=dossier_id, at=now, recorded_at=now, data={}))
        conn.execute(insert(AuditEntry.__table__).values(
            at=now, action="dossier_accept", object_type="dossier", object_id=code, details={}))
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, invariant=1, initialFontName=FONT)
    canvas.setFont(FONT, 9)
    canvas.drawString(20 * mm, 270 * mm, f"GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ — {NAME}")
    Code128(code, barWidth=0.25 * mm, barHeight=12 * mm).drawOn(canvas, 20 * mm, 240 * mm)
    canvas.save()


def main():
    register_fonts()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url})
        unit_id, agency_id = prepare(app)
        client = app.test_client()
        token = client.post("/api/v1/auth/token",
                            json={"username": "clerk", "password": PASSWORD}).get_json()["token"]
        headers = {"Authorization": f"Bearer {token}"}
        engine = create_engine(url)
        for n in range(WARM_UP):
            intake(client, headers)
            floor(engine, unit_id, agency_id, 9000 + n)
        app_times, floor_times = [], []
        for n in range(RUNS):  # interleaved, so a busy machine slows both alike
            app_times.append(timed(lambda: intake(client, headers)))
            floor_times.append(timed(lambda n=n: floor(engine, unit_id, agency_id, n)))
        engine.dispose()
        with app.app_context():
            db.engine.dispose()
    median, low = statistics.median(app_times), statistics.median(floor_times)
    p90 = statistics.quantiles(app_times, n=10)[-1]
    verdict = "met" if median < 0.040 else "MISSED"
    print(f"intake (POST /api/v1/dossiers + GET receipt.pdf, SQLite file): median "
          f"{median * 1000:.1f} ms, p90 {p90 * 1000:.1f} ms over {RUNS} runs; floor (same rows "
          f"with SQLAlchemy core + bare reportlab page): {low * 1000:.1f} ms; "
          f"ratio {median / low:.1f}x; goal median < 40 ms: {verdict}")


if __name__ == "__main__":
    main()
