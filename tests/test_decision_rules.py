"""Decisions belong to the deciding unit, need the folder in hand, and keep dates sensible."""

from __future__ import annotations

from datetime import timedelta

import pytest
from conftest import csrf_from
from custody_support import NOW, at, committing_client, scan
from flask import current_app
from sqlalchemy import func, select

from postal.core.errors import Conflict, Forbidden, ValidationFailed
from postal.core.time import TZ
from postal.custody import record_batch
from postal.custody.manifests import build_manifest, close_manifest, receive_items
from postal.deadlines.office import calendar_for
from postal.dossiers import decisions
from postal.dossiers.lifecycle import State
from postal.extensions import db
from postal.models import Event, utcnow

pytest_plugins = ["custody_factories"]


@pytest.fixture
def client(app):
    return committing_client(app)


def _events(dossier) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(Event)
                             .where(Event.dossier_id == dossier.id))


def test_a_counter_clerk_records_no_result_for_another_units_dossier(client, api_token, login,
                                                                     world):
    w = world
    d = w.at_agency(w.dossier())
    db.session.commit()
    before = _events(d)
    answer = client.post(f"/api/v1/dossiers/{d.code}/result", json={},
                         headers=api_token(w.clerk))
    assert answer.status_code == 403
    assert answer.get_json()["error"]["code"] == "not_the_deciding_unit"
    assert _events(d) == before
    login(w.clerk)
    page = client.get(f"/agency/dossiers/{d.code}")
    assert 'id="form-result"' not in page.get_data(as_text=True)
    refused = client.post(f"/agency/dossiers/{d.code}/result",
                          data={"csrf_token": csrf_from(page)})
    assert refused.status_code == 403 and _events(d) == before


def test_a_centre_that_decides_its_own_dossiers_records_their_results(world):
    w = world
    d = w.dossier()
    d.agency_id = w.centre.id  # a procedure the centre itself settles
    db.session.flush()
    db.session.refresh(d)
    item = decisions.mark_result_ready(db.session, w.clerk, d, now=at(8, 9))
    assert d.state == State.RESULT_READY and item.holder_unit_id == w.centre.id


@pytest.mark.parametrize("decide", [
    lambda w, d: decisions.request_supplement(db.session, w.clerk, d, reason="Thiếu giấy",
                                              now=at(8, 9)),
    lambda w, d: decisions.stop(db.session, w.clerk, d, reason="Không đủ điều kiện",
                                now=at(8, 9)),
])
def test_only_the_deciding_unit_asks_for_supplements_or_stops(world, decide):
    w = world
    d = w.at_agency(w.dossier())
    with pytest.raises(Forbidden):
        decide(w, d)
    assert d.state == State.PROCESSING


def test_a_result_waits_for_its_folder(world):
    w = world
    d = w.dossier()  # accepted a moment ago: the folder is still at the counter
    with pytest.raises(Conflict, match="chưa đến") as refused:
        decisions.mark_result_ready(db.session, w.officer, d, now=at(8, 9))
    assert refused.value.code == "folder_not_received" and d.state == State.ACCEPTED
    w.at_agency(d)
    decisions.mark_result_ready(db.session, w.officer, d, now=at(8, 9))
    assert d.state == State.RESULT_READY


def test_a_folder_the_manifest_found_missing_gets_no_result(world):
    w = world
    here, lost = w.dossier(), w.dossier()
    m = build_manifest(db.session, w.clerk, to_unit_code=w.agency.code,
                       barcodes=[here.code, lost.code], now=at(7, 10))
    record_batch(db.session, w.courier, [scan(m.code, "pickup", at(7, 11)),
                                         scan(m.code, "handover", at(7, 12))], NOW)
    receive_items(db.session, w.officer, m, [here.code], at(7, 13))
    close_manifest(db.session, w.officer, m, at(7, 14))
    with pytest.raises(Conflict, match="thiếu trên bảng kê"):
        decisions.mark_result_ready(db.session, w.officer, lost, now=at(8, 9))
    decisions.mark_result_ready(db.session, w.officer, here, now=at(8, 9))
    # found later and scanned in: then it may be decided
    record_batch(db.session, w.officer, [scan(w.folder(lost).number, "handover", at(8, 10))], NOW)
    decisions.mark_result_ready(db.session, w.officer, lost, now=at(8, 11))
    assert lost.state == State.RESULT_READY


def test_an_agency_whose_policy_allows_it_decides_without_the_folder(world):
    w = world
    w.agency.results_without_folder = True
    d = w.dossier()
    decisions.mark_result_ready(db.session, w.officer, d, now=at(8, 9))
    assert d.state == State.RESULT_READY


def test_a_dossier_filed_without_paper_needs_no_folder(world):
    from tests.factories import make_dossier

    w = world
    d = make_dossier(w.centre, w.procedure, state=State.PROCESSING, with_items=False)
    decisions.mark_result_ready(db.session, w.officer, d, now=at(8, 9))
    assert d.state == State.RESULT_READY


@pytest.mark.parametrize("new_date", ["9999-12-31", "2027-12-31"])
def test_an_extension_is_at_most_a_year_ahead(client, api_token, world, new_date):
    w = world
    d = w.at_agency(w.dossier())
    db.session.commit()
    answer = client.post(f"/api/v1/dossiers/{d.code}/extend", headers=api_token(w.officer),
                         json={"new_date": new_date, "reason": "Chờ xác minh"})
    assert answer.status_code == 422
    assert answer.get_json()["error"]["field"] == "new_date"
    db.session.expire_all()
    assert db.session.get(type(d), d.id).appointment_at is None


def test_an_extension_within_the_year_is_taken(world):
    w = world
    d = w.at_agency(w.dossier())
    now = utcnow()
    calendar = calendar_for(db.session, current_app.config)
    day = (now + timedelta(days=300)).astimezone(TZ).date()
    while not calendar.is_working_day(day):
        day -= timedelta(days=1)
    decisions.extend(db.session, w.officer, d, new_date=day, reason="Chờ xác minh", now=now,
                     calendar=calendar)
    assert d.appointment_at.astimezone(TZ).date() == day
    with pytest.raises(ValidationFailed):
        decisions.extend(db.session, w.officer, d, new_date=day + timedelta(days=100),
                         reason="Chờ xác minh", now=now, calendar=calendar)
