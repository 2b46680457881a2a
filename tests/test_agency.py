"""The agency's decisions: result ready, supplements, extension with apology, stop, withdrawal."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from conftest import csrf_from
from custody_support import DUE, at, committing_client
from flask import current_app
from sqlalchemy import func, select

from postal.core.errors import InvalidTransition, ValidationFailed
from postal.core.time import TZ
from postal.deadlines.office import calendar_for
from postal.dossiers import decisions
from postal.dossiers.lifecycle import State
from postal.extensions import db
from postal.models import Event, ItemKind, utcnow

pytest_plugins = ["custody_factories"]


@pytest.fixture
def client(app):
    return committing_client(app)


def _calendar():
    return calendar_for(db.session, current_app.config)


def _events(dossier) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(Event)
                             .where(Event.dossier_id == dossier.id))


@pytest.mark.parametrize("when, expected", [
    (at(9, 16), "early"), (at(10, 16), "on_time"), (at(11, 9), "late")])
def test_a_result_is_an_item_where_it_was_decided_and_is_judged_against_the_due_date(
        world, when, expected):
    w = world
    d = w.at_agency(w.dossier())
    item = decisions.mark_result_ready(db.session, w.officer, d, now=when)
    assert d.state == State.RESULT_READY and d.resolved_at == when
    assert d.timeliness.value == expected
    assert item.kind == ItemKind.RESULT and item.holder_unit_id == w.agency.id
    event = db.session.scalar(select(Event).where(Event.kind == "result_ready"))
    assert event.item_id == item.id and event.data["to"] == "result_ready"


def test_a_supplement_pauses_the_clock_and_its_receipt_moves_the_due_date(world):
    w = world
    d = w.dossier()
    decisions.request_supplement(db.session, w.officer, d, reason="Thiếu bản sao CCCD",
                              documents=["Bản sao CCCD", " "], now=at(8, 9))
    assert d.state == State.WAITING_SUPPLEMENT and d.paused_at == at(8, 9)
    assert d.missing_documents == ["Bản sao CCCD"]
    # Tue 09:00 → Fri 09:00 is three full office days: the due moment moves three working days
    decisions.receive_supplement(db.session, w.clerk, d, now=at(11, 9), calendar=_calendar())
    assert d.state == State.PROCESSING and d.resumed_at == at(11, 9)
    assert d.due_at.astimezone(TZ).date() == date(2025, 7, 15)
    event = db.session.scalar(select(Event).where(Event.kind == "supplement_received"))
    assert event.data["old_due_at"] == DUE.isoformat()
    assert event.data["new_due_at"] == d.due_at.isoformat()


def test_an_extension_keeps_the_dossier_late(world):
    w = world
    d = w.at_agency(w.dossier())
    decisions.extend(db.session, w.officer, d, new_date="2025-07-14", reason="Chờ xác minh",
                  now=at(10, 15), calendar=_calendar())
    assert d.appointment_at.astimezone(TZ).date() == date(2025, 7, 14)
    decisions.mark_result_ready(db.session, w.officer, d, now=at(14, 10))
    assert d.timeliness.value == "late"


@pytest.mark.parametrize("new_date, message", [
    ("2025-07-09", "sau ngày hẹn"), ("2025-07-12", "không phải ngày làm việc"),
    ("not a date", "không hợp lệ")])
def test_an_extension_needs_a_later_working_day(world, new_date, message):
    w = world
    d = w.dossier()
    with pytest.raises(ValidationFailed, match=message) as exc:
        decisions.extend(db.session, w.officer, d, new_date=new_date, reason="x", now=at(8, 9),
                      calendar=_calendar())
    assert exc.value.field == "new_date" and d.appointment_at is None


def test_stop_and_withdraw_close_the_dossier(world):
    w = world
    stopped, withdrawn = w.dossier(), w.dossier()
    decisions.stop(db.session, w.officer, stopped, reason="Không đủ điều kiện", now=at(9, 9))
    decisions.withdraw(db.session, w.clerk, withdrawn, reason=None, now=at(9, 10))
    assert (stopped.state, stopped.closed_at) == (State.REFUSED, at(9, 9))
    assert withdrawn.state == State.WITHDRAWN and withdrawn.reason == "công dân rút hồ sơ"
    with pytest.raises(InvalidTransition):
        decisions.mark_result_ready(db.session, w.officer, stopped, now=at(9, 11))


# -- the API --------------------------------------------------------------------------------
def _working_day_ahead(days: int) -> date:
    calendar, day = _calendar(), utcnow().astimezone(TZ).date() + timedelta(days=days)
    while not calendar.is_working_day(day):
        day += timedelta(days=1)
    return day


def test_the_decisions_through_the_api(client, api_token, world):
    w = world
    d = w.at_agency(w.dossier())
    code = d.code
    officer = api_token(w.officer)
    r = client.post(f"/api/v1/dossiers/{code}/supplement", headers=officer,
                    json={"reason": "Thiếu giấy tờ", "documents": ["Bản sao CCCD"]})
    assert r.status_code == 200 and r.get_json()["status"] == "waiting_supplement"
    r = client.post(f"/api/v1/dossiers/{code}/supplement/received", headers=api_token(w.clerk),
                    json={})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["status"] == "processing" and r.get_json()["previous_due_at"]
    new_date = _working_day_ahead(7)
    r = client.post(f"/api/v1/dossiers/{code}/extend", headers=officer,
                    json={"new_date": new_date.isoformat(), "reason": "Chờ xác minh"})
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["appointment_at"].startswith(new_date.isoformat()[:4])
    pdf = client.get(body["apology_url"], headers=officer)
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert pdf.data.startswith(b"%PDF")
    r = client.post(f"/api/v1/dossiers/{code}/result", headers=officer, json={"note": "Đã ký"})
    assert r.status_code == 200 and r.get_json()["timeliness"] == "late"
    assert r.get_json()["result_item"].startswith("RK")


@pytest.mark.parametrize("path, body, status, field", [
    ("stop", {}, 422, "reason"),
    ("extend", {"new_date": "2020-01-06", "reason": "x"}, 422, "new_date"),
    ("extend", {"new_date": "someday", "reason": "x"}, 422, "new_date"),
    ("supplement/received", {}, 409, None),
    ("result", {"note": "x" * 501}, 422, "note"),
])
def test_bad_decisions_are_refused_and_write_nothing(client, api_token, world, path, body,
                                                     status, field):
    w = world
    d = w.dossier()
    before = _events(d)
    r = client.post(f"/api/v1/dossiers/{d.code}/{path}", headers=api_token(w.officer), json=body)
    assert r.status_code == status, r.get_json()
    assert r.get_json()["error"].get("field") == field
    assert _events(d) == before


@pytest.mark.parametrize("who, status", [("courier", 403), ("stranger", 404)])
def test_decisions_belong_to_the_deciding_agency(client, api_token, world, make_user,
                                                 make_unit, who, status):
    w = world
    d = w.dossier()
    user = w.courier if who == "courier" else make_user("agency", unit=make_unit("agency"))
    r = client.post(f"/api/v1/dossiers/{d.code}/result", headers=api_token(user), json={})
    assert r.status_code == status
    assert _events(d) == 1


def test_the_apology_needs_an_extension(client, api_token, world):
    d = world.dossier()
    r = client.get(f"/api/v1/dossiers/{d.code}/apology.pdf", headers=api_token(world.officer))
    assert r.status_code == 409


# -- the desk -------------------------------------------------------------------------------
def test_the_desk_lists_what_the_agency_holds_and_decides_from_a_button(client, login, world):
    w = world
    d = w.at_agency(w.dossier())
    code = d.code
    before = _events(d)
    login(w.officer)
    desk = client.get("/agency/")
    assert desk.status_code == 200 and code in desk.get_data(as_text=True)
    page = client.get(f"/agency/dossiers/{code}")
    html = page.get_data(as_text=True)
    assert 'id="form-result"' in html and 'id="form-stop"' in html
    r = client.post(f"/agency/dossiers/{code}/stop", data={"csrf_token": csrf_from(page)})
    assert r.status_code == 422 and "nhập lý do" in r.get_data(as_text=True)
    assert _events(d) == before
    r = client.post(f"/agency/dossiers/{code}/result", data={"csrf_token": csrf_from(page)})
    assert r.status_code == 303
    page = client.get(f"/agency/dossiers/{code}")
    assert "result_ready" in page.get_data(as_text=True)
    assert 'id="form-result"' not in page.get_data(as_text=True)


def test_a_clerk_sees_only_the_counter_decisions(client, login, world):
    w = world
    code = w.dossier().code
    login(w.clerk)
    html = client.get(f"/agency/dossiers/{code}").get_data(as_text=True)
    assert 'id="form-withdraw"' in html and 'id="form-stop"' not in html
    page = client.get(f"/agency/dossiers/{code}")
    r = client.post(f"/agency/dossiers/{code}/stop", data={"csrf_token": csrf_from(page),
                                                          "reason": "x"})
    assert r.status_code == 403


def test_the_held_list_is_newest_first_paginated_searchable_with_its_true_total(
        client, login, world):
    from tests.factories import make_dossier

    w = world
    base = utcnow() - timedelta(days=30)
    made = []
    for n in range(55):
        d = make_dossier(w.centre, w.procedure, state=State.PROCESSING,
                         code=f"{w.centre.dossier_prefix}-250303-{n + 1:04d}", commit=False)
        db.session.flush()
        d.items[0].held_since = base + timedelta(hours=n)
        made.append(d)
    db.session.commit()
    login(w.officer)
    html = client.get("/agency/").get_data(as_text=True)
    held = html[html.index('id="held"'):]
    assert 'id="held-total">55<' in held
    newest, oldest = made[-1].items[0].number, made[0].items[0].number
    assert newest in held and oldest not in held  # 50 a page, newest first
    assert held.index(newest) < held.index(made[-2].items[0].number)
    second = client.get("/agency/?page=2").get_data(as_text=True)
    assert oldest in second[second.index('id="held"'):]
    found = client.get("/agency/", query_string={"q": made[3].code[-9:]}).get_data(as_text=True)
    found = found[found.index('id="held"'):]
    assert 'id="held-total">1<' in found and made[3].items[0].number in found
