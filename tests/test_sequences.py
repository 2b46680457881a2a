"""Dossier codes and S10 serials never repeat, even with many clerks accepting at once."""

from __future__ import annotations

import threading
from datetime import date

from flask import current_app
from sqlalchemy import func, select

from postal.core.codes import is_valid_s10, parse_dossier_code
from postal.core.db import write_intent
from postal.core.sequences import next_item_number, next_serial, next_value
from postal.deadlines.office import calendar_for
from postal.dossiers import intake
from postal.extensions import db
from postal.models import Dossier, Event, OrgUnit, Procedure, User
from tests.intake_factories import applicant, local

THREADS = 8
EACH = 100


def test_next_value_counts_per_unit_scope_and_day(centre, agency):
    day, other_day = date(2026, 3, 2), date(2026, 3, 3)
    assert [next_value(db.session, centre, "dossier", day) for _ in range(3)] == [1, 2, 3]
    assert next_value(db.session, centre, "manifest", day) == 1
    assert next_value(db.session, centre, "dossier", other_day) == 1
    assert next_value(db.session, agency, "dossier", day) == 1
    assert next_value(db.session, centre, "dossier", day) == 4


def test_item_numbers_are_valid_s10_from_one_serial_space(app):
    first, second = next_item_number(db.session), next_item_number(db.session, "RK")
    assert is_valid_s10(first) and is_valid_s10(second)
    assert first.startswith("RH") and second.startswith("RK")
    assert int(second[2:10]) == int(first[2:10]) + 1
    assert next_serial(db.session) == int(second[2:10]) + 1


def _run_threads(target, count):
    errors: list[BaseException] = []

    def guarded(n):
        write_intent.set(True)  # each thread is a writing request (postal.http.transactions)
        try:
            target(n)
        except BaseException as exc:  # noqa: BLE001 - reported by the test below
            errors.append(exc)

    threads = [threading.Thread(target=guarded, args=(n,)) for n in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    return errors


def test_eight_clerks_accepting_a_hundred_dossiers_each_get_800_distinct_codes(
    app, make_user, make_procedure,
):
    clerk_ids = [make_user("clerk").id for _ in range(THREADS)]
    procedure_id = make_procedure(code="1.000001").id
    db.session.commit()
    app_obj = current_app._get_current_object()
    codes: list[str] = []
    numbers: list[str] = []
    lock = threading.Lock()

    def clerk_at_work(n):
        with app_obj.app_context():
            try:
                clerk = db.session.get(User, clerk_ids[n])
                procedure = db.session.get(Procedure, procedure_id)
                calendar = calendar_for(db.session, app_obj.config)
                db.session.commit()
                for _ in range(EACH):
                    dossier = intake.accept(
                        db.session, clerk=clerk, unit=clerk.unit, procedure=procedure,
                        applicant=applicant(), documents=["d1"], now=local(2026, 3, 2, 9),
                        calendar=calendar,
                    )
                    code, number = dossier.code, dossier.items[0].number
                    db.session.commit()
                    with lock:
                        codes.append(code)
                        numbers.append(number)
            finally:
                db.session.remove()

    errors = _run_threads(clerk_at_work, THREADS)
    assert errors == []
    assert len(codes) == THREADS * EACH == len(set(codes))
    assert len(set(numbers)) == THREADS * EACH
    seqs = sorted(parse_dossier_code(c)[2] for c in codes)
    assert seqs == list(range(1, THREADS * EACH + 1))  # no gap, no repeat
    assert db.session.scalar(select(func.count()).select_from(Dossier)) == THREADS * EACH


def test_a_double_submit_racing_itself_makes_one_dossier(app, make_user, make_procedure):
    clerk_id = make_user("clerk").id
    procedure_id = make_procedure(code="1.000001").id
    db.session.commit()
    app_obj = current_app._get_current_object()
    key = "3d6f0a52-8b1c-4c55-9e0f-6a7b8c9d0e1f"
    start = threading.Barrier(4)
    ids: list[int] = []

    def submit(_):
        with app_obj.app_context():
            try:
                clerk = db.session.get(User, clerk_id)
                unit = db.session.get(OrgUnit, clerk.unit_id)
                procedure = db.session.get(Procedure, procedure_id)
                calendar = calendar_for(db.session, app_obj.config)
                db.session.commit()
                start.wait()
                dossier = intake.accept(
                    db.session, clerk=clerk, unit=unit, procedure=procedure,
                    applicant=applicant(), documents=["d1"], calendar=calendar,
                    idempotency_key=key,
                )
                ids.append(dossier.id)
                db.session.commit()
            finally:
                db.session.remove()

    assert _run_threads(submit, 4) == []
    assert len(set(ids)) == 1
    assert db.session.scalar(select(func.count()).select_from(Dossier)) == 1
    assert db.session.scalar(select(func.count()).select_from(Event)) == 1
