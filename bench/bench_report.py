"""Time the report over many dossiers against a floor GROUP BY counting the same rows.

    python bench/bench_report.py --url sqlite:////tmp/bench-report.db --dossiers 1000000
    python bench/bench_report.py --url postgresql+psycopg://postgres@127.0.0.1:5432/test_reports

The data is generated here with a Core bulk insert (it is much faster than the demo's full
lifecycle); an existing table of the right size is reused, so a second run only times.
"""

from __future__ import annotations

import argparse
import random
import secrets
import sys
import time
from datetime import date, datetime, timedelta

from scratch_db import scratch_database
from sqlalchemy import func, insert, select, text

from postal import create_app
from postal.core.reference import add_unit, load_reference_units
from postal.core.time import TZ
from postal.extensions import db
from postal.models import Applicant, Dossier, OrgUnit, Procedure, UnitKind
from postal.reporting import metrics

START = datetime(2023, 1, 2, tzinfo=TZ)
DAYS = 900  # about two and a half years of intake
CHUNK = 20_000
REPEATS = 5


def best_of(func, repeats=REPEATS):
    """Fastest of a few runs: noise only ever adds time."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        func()
        times.append(time.perf_counter() - started)
    return min(times)


def _working(d: date, n: int) -> date:
    """Add n weekdays (holidays ignored: the data only has to look plausible)."""
    while n > 0:
        d += timedelta(days=1)
        if d.weekday() < 5:
            n -= 1
    return d


def _units_and_catalogue(session):
    """A centre and agencies under Hà Tĩnh, its communes, a few procedures and applicants."""
    load_reference_units(session)
    province = session.scalar(select(OrgUnit).where(OrgUnit.code == "42"))
    centre = session.scalar(select(OrgUnit).where(OrgUnit.code == "BENCH-TT")) or add_unit(
        session, code="BENCH-TT", name="Trung tâm HCC (bench)", kind=UnitKind.CENTRE,
        parent=province)
    agencies = []
    for i in range(6):
        code = f"BENCH-CQ{i}"
        agencies.append(session.scalar(select(OrgUnit).where(OrgUnit.code == code)) or add_unit(
            session, code=code, name=f"Cơ quan {i}", kind=UnitKind.AGENCY, parent=province))
    communes = session.scalars(select(OrgUnit.id).where(
        OrgUnit.parent_id == province.id, OrgUnit.kind == UnitKind.COMMUNE)).all()
    procedures = []
    for i in range(20):
        code = f"BENCH.{i:03d}"
        proc = session.scalar(select(Procedure).where(Procedure.code == code))
        if proc is None:
            proc = Procedure(code=code, name=f"Thủ tục {i}", search_key=f"thu tuc {i}",
                             field=f"Lĩnh vực {i % 5}", agency=agencies[i % len(agencies)],
                             processing_days=[0, 1, 3, 5, 10, 15][i % 6], documents=[])
            session.add(proc)
        procedures.append(proc)
    session.flush()
    applicants = session.scalars(select(Applicant.id).limit(1000)).all()
    if len(applicants) < 1000:
        session.execute(insert(Applicant), [
            {"full_name": f"Công dân {i}", "phone": f"09{i:08d}", "search_key": f"cong dan {i}"}
            for i in range(1000)])
        applicants = session.scalars(select(Applicant.id).limit(1000)).all()
    session.commit()
    return province, [centre.id, *communes], procedures, applicants


def _row(i, rng, units, procedures, applicants):
    proc = procedures[rng.randrange(len(procedures))]
    received = START + timedelta(days=rng.randrange(DAYS), minutes=rng.randrange(450, 1000))
    due_day = _working(received.date(), proc.processing_days or (0 if received.hour < 15 else 1))
    due = datetime.combine(due_day, datetime.min.time(), tzinfo=TZ) + timedelta(hours=17)
    row = {
        "code": f"B-{i:08d}", "token": secrets.token_hex(8), "unit_id": units[i % len(units)],
        "agency_id": proc.agency_id, "procedure_id": proc.id,
        "applicant_id": applicants[i % len(applicants)], "state": "processing",
        "channel": ("counter", "counter", "online", "home_pickup")[i % 4],
        "return_method": "home" if i % 6 == 0 else "counter",
        "documents": [], "missing_documents": [], "fee": 0, "postal_fee": 0, "cod_amount": 0,
        "delivery_attempts": 0, "created_at": received, "received_at": received, "due_at": due,
        "paused_at": None, "resumed_at": None, "resolved_at": None, "timeliness": None,
        "returned_at": None, "returned_via": None, "closed_at": None, "rating": None,
        "rated_at": None,
    }
    now = START + timedelta(days=DAYS)
    fate = rng.random()
    if fate < 0.03:
        row["state"], row["closed_at"] = "withdrawn", received + timedelta(days=rng.uniform(1, 9))
        return row
    if fate < 0.06:
        row["paused_at"] = received + timedelta(days=rng.uniform(0.5, 3))
        row["state"] = "waiting_supplement"
        if rng.random() < 0.5:
            return row
        row["resumed_at"] = row["paused_at"] + timedelta(days=rng.uniform(1, 6))
    resolved = received + (due - received) * rng.uniform(0.2, 1.3)
    if resolved > now:
        row["state"] = "processing"
        return row
    row["resolved_at"] = resolved
    row["timeliness"] = ("early" if resolved.astimezone(TZ).date() < due_day
                         else "on_time" if resolved <= due else "late")
    row["state"] = "awaiting_return"
    if rng.random() < 0.9:
        returned = resolved + timedelta(hours=rng.uniform(2, 96))
        row["returned_at"], row["returned_via"] = returned, row["return_method"]
        row["state"] = "returned"
        if rng.random() < 0.4:
            row["rating"], row["rated_at"] = rng.choice((1, 2, 3, 4, 4, 5, 5, 5)), returned
    return row


def generate(session, n: int, seed: int = 1) -> None:
    """Insert n dossiers in chunks with one Core INSERT each."""
    _, units, procedures, applicants = _units_and_catalogue(session)
    rng = random.Random(seed)
    have = session.scalar(select(func.count()).select_from(Dossier))
    for start in range(have, n, CHUNK):
        rows = [_row(i, rng, units, procedures, applicants)
                for i in range(start, min(n, start + CHUNK))]
        session.execute(insert(Dossier), rows)
        session.commit()
        print(f"\r  {min(n, start + CHUNK):,} / {n:,} dossiers", end="", file=sys.stderr)
    print(file=sys.stderr)
    if db.engine.dialect.name == "postgresql":
        session.commit()
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE dossier"))
    else:
        session.execute(text("ANALYZE"))
        session.commit()


def floor_query(session, unit, date_from, date_to):
    """The plain GROUP BY over the rows the report reads (the same WHERE, so the same access
    path), counted per channel."""
    start, end = metrics.period_bounds(date_from, date_to)
    stmt = (select(Dossier.channel, func.count()).where(
        *metrics.scope(session, unit, start, end)).group_by(Dossier.channel))
    return session.execute(stmt).all()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="sqlite:////tmp/bench-report.db")
    parser.add_argument("--dossiers", type=int, default=1_000_000)
    args = parser.parse_args()
    with scratch_database(args.url):
        app = create_app({"SQLALCHEMY_DATABASE_URI": args.url})
        with app.app_context():
            db.create_all()
            session = db.session
            count = session.scalar(select(func.count()).select_from(Dossier))
            if count < args.dossiers:
                print(f"generating {args.dossiers - count:,} dossiers…", file=sys.stderr)
                generate(session, args.dossiers)
            province = session.scalar(select(OrgUnit).where(OrgUnit.code == "42"))
            dialect = db.engine.dialect.name
            total = session.scalar(select(func.count()).select_from(Dossier))
            periods = [("a month", date(2025, 5, 1), date(2025, 5, 31)),
                       ("a year", date(2024, 1, 1), date(2024, 12, 31)),
                       ("all history", date(2023, 1, 1), date(2025, 12, 31))]
            for label, date_from, date_to in periods:
                report = best_of(lambda f=date_from, t=date_to: metrics.summary(
                    session, province, f, t))
                floor = best_of(lambda f=date_from, t=date_to: floor_query(session, province, f, t))
                print(f"{dialect}: report over {total:,} dossiers, {label} "
                      f"({date_from}..{date_to}), province subtree: {report:.3f} s "
                      f"(floor GROUP BY {floor:.3f} s, ratio {report / floor:.1f}x)")


if __name__ == "__main__":
    main()
