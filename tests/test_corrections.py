"""A correction of recorded times or of the timeliness class is new history: the column changes,
an Event "correction" keeps old and new with reason and author, and the audit log says so; and
through its entry points: the API, the manager's form on the dossier page, the control sheet,
and the report (dashboard, PDF, API) that lists corrections as such."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from postal.core.db import AppendOnlyViolation
from postal.core.errors import Conflict, Forbidden, ValidationFailed
from postal.dossiers import corrections
from postal.dossiers.lifecycle import State
from postal.extensions import db
from postal.models import AuditEntry, Dossier, Event, Timeliness, UnitKind
from postal.reporting import closing, metrics
from tests.conftest import csrf_from
from tests.documents_support import pdf_text
from tests.factories import local, make_dossier

NOW = local(4, 2, 10)


@pytest.fixture
def manager(make_user):
    return make_user("manager")


@pytest.fixture
def late(centre, make_procedure):
    """Resolved a minute after its due moment: late."""
    return make_dossier(centre, make_procedure(), state=State.AWAITING_RETURN,
                        received=local(3, 3, 8), due=local(3, 5, 17),
                        resolved=local(3, 5, 17, 1))


def written() -> tuple[int, int]:
    return (db.session.scalar(select(func.count()).select_from(Event)
                              .where(Event.kind == "correction")),
            db.session.scalar(select(func.count()).select_from(AuditEntry)
                              .where(AuditEntry.action == "dossier_correction")))


def test_a_corrected_resolution_time_keeps_the_old_value_in_a_new_event(manager, late):
    event = corrections.record_correction(
        db.session, manager, late, "resolved_at", "2025-03-05T16:30:00+07:00",
        "kết quả ký lúc 16:30, bưu tá ghi nhận muộn", NOW)
    db.session.commit()
    d = db.session.get(Dossier, late.id)
    assert d.resolved_at == local(3, 5, 16, 30)
    assert d.timeliness == Timeliness.ON_TIME  # re-derived from the corrected moment
    assert event.kind == "correction" and event.user_id == manager.id and event.at == NOW
    assert event.note == "kết quả ký lúc 16:30, bưu tá ghi nhận muộn"
    assert event.data == {
        "field": "resolved_at", "reason": "kết quả ký lúc 16:30, bưu tá ghi nhận muộn",
        "changes": {
            "resolved_at": {"old": "2025-03-05T10:01:00+00:00",
                            "new": "2025-03-05T09:30:00+00:00"},
            "timeliness": {"old": "late", "new": "on_time"},
        },
    }
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "dossier_correction"))
    assert entry.user_id == manager.id and entry.object_id == late.code
    assert entry.details["event_id"] == event.id
    assert entry.details["changes"] == event.data["changes"]
    assert corrections.corrections_of(db.session, d) == [event]


def test_the_report_counts_the_corrected_class(manager, late, centre):
    before = metrics.summary(db.session, centre, date(2025, 3, 1), date(2025, 3, 31))
    assert (before["resolved_late"], before["resolved_on_time"]) == (1, 0)
    corrections.record_correction(db.session, manager, late, "timeliness", "on_time",
                                  "quyết định gia hạn hợp lệ được phê duyệt lại", NOW)
    db.session.commit()
    after = metrics.summary(db.session, centre, date(2025, 3, 1), date(2025, 3, 31))
    assert (after["resolved_late"], after["resolved_on_time"]) == (0, 1)


def test_a_correction_to_a_closed_month_is_reported_as_an_adjustment(manager, late, centre):
    closing.close_month(db.session, manager, centre, date(2025, 3, 1), now=NOW)
    db.session.commit()
    corrections.record_correction(db.session, manager, late, "timeliness", "on_time",
                                  "sai phân loại", NOW)
    db.session.commit()
    official = closing.official(db.session, centre, date(2025, 4, 1), date(2025, 4, 30))
    assert official["adjustments"] == [{"month": "2025-03", "changes": {
        "resolved_on_time": 1, "resolved_late": -1}}]


def test_the_correction_event_itself_cannot_be_rewritten(manager, late):
    event = corrections.record_correction(db.session, manager, late, "timeliness", "on_time",
                                          "sai phân loại", NOW)
    db.session.commit()
    event.data = {"field": "timeliness", "changes": {}}
    with pytest.raises(AppendOnlyViolation):
        db.session.flush()
    db.session.rollback()


def test_two_corrections_chain_old_to_new(manager, late):
    corrections.record_correction(db.session, manager, late, "due_at", "2025-03-06T17:00+07:00",
                                  "ngày hẹn tính sai ngày nghỉ", NOW)
    corrections.record_correction(db.session, manager, late, "due_at", "2025-03-07T17:00+07:00",
                                  "lại sai lịch làm bù", NOW)
    db.session.commit()
    first, second = corrections.corrections_of(db.session, late)
    assert first.data["changes"]["due_at"]["new"] == second.data["changes"]["due_at"]["old"]
    assert "timeliness" in first.data["changes"] and "timeliness" not in second.data["changes"]


@pytest.mark.parametrize(("field", "value", "reason", "error", "names"), [
    ("state", "returned", "x", ValidationFailed, "field"),
    ("rating", 5, "x", ValidationFailed, "field"),
    ("resolved_at", "2025-03-05T16:30+07:00", "   ", ValidationFailed, "reason"),
    ("resolved_at", "2025-03-05T16:30+07:00", "x" * 2001, ValidationFailed, "reason"),
    ("resolved_at", "5/3/2025", "x", ValidationFailed, "new_value"),
    ("resolved_at", None, "x", ValidationFailed, "new_value"),
    ("resolved_at", "2099-01-01T00:00+07:00", "x", ValidationFailed, "new_value"),
    ("resolved_at", "2025-03-02T08:00+07:00", "x", ValidationFailed, "new_value"),  # < received
    ("received_at", "2025-03-06T08:00+07:00", "x", ValidationFailed, "new_value"),  # > resolved
    ("resolved_at", "2025-03-05T17:01+07:00", "x", ValidationFailed, "new_value"),  # unchanged
    ("timeliness", "very_late", "x", ValidationFailed, "new_value"),
    ("returned_at", "2025-03-07T08:00+07:00", "x", Conflict, None),  # never returned
])
def test_bad_corrections_are_refused_and_write_nothing(manager, late, field, value, reason,
                                                       error, names):
    before = written()
    with pytest.raises(error) as caught:
        corrections.record_correction(db.session, manager, late, field, value, reason, NOW)
    assert caught.value.field == names
    db.session.rollback()
    assert written() == before
    d = db.session.get(Dossier, late.id)
    assert d.resolved_at == local(3, 5, 17, 1) and d.timeliness == Timeliness.LATE


def test_only_managers_of_the_dossiers_units_may_correct(make_user, make_unit, late):
    clerk = make_user("clerk")
    elsewhere = make_user("manager", unit=make_unit(UnitKind.CENTRE))
    for user in (clerk, elsewhere):
        with pytest.raises(Forbidden):
            corrections.record_correction(db.session, user, late, "timeliness", "on_time",
                                          "x", NOW)
    admin = make_user("admin")
    corrections.record_correction(db.session, admin, late, "timeliness", "on_time", "x", NOW)
    db.session.commit()
    assert written()[0] == 1


def test_only_the_declared_columns_are_correctable():
    assert corrections.CORRECTABLE == ("received_at", "due_at", "resolved_at", "returned_at",
                                       "closed_at", "timeliness")
    assert all(hasattr(Dossier, f) for f in corrections.CORRECTABLE)


# -- the entry points ---------------------------------------------------------------------

PERIOD = {"from": "2025-03-01", "to": "2025-03-31"}


def fresh(dossier) -> Dossier:
    db.session.expire_all()
    return db.session.get(Dossier, dossier.id)


def test_a_manager_corrects_through_the_api_and_reads_it_back(client, api_token, manager, late):
    headers = api_token(manager)
    response = client.post(f"/api/v1/dossiers/{late.code}/corrections", headers=headers, json={
        "field": "resolved_at", "new_value": "2025-03-05T16:30", "reason": "ký lúc 16:30"})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["code"] == late.code and body["field"] == "resolved_at"
    assert body["author"] == manager.full_name and body["reason"] == "ký lúc 16:30"
    assert body["changes"] == {
        "resolved_at": {"old": "2025-03-05T10:01:00+00:00", "new": "2025-03-05T09:30:00+00:00"},
        "timeliness": {"old": "late", "new": "on_time"}}
    d = fresh(late)
    assert d.resolved_at == local(3, 5, 16, 30) and d.timeliness == Timeliness.ON_TIME

    listed = client.get(f"/api/v1/dossiers/{late.code}/corrections", headers=headers)
    assert listed.status_code == 200
    assert [c["id"] for c in listed.get_json()] == [body["id"]]


@pytest.mark.parametrize(("payload", "status", "field"), [
    ({"field": "state", "new_value": "closed", "reason": "x"}, 422, "field"),
    ({"field": "resolved_at", "new_value": "hôm qua", "reason": "x"}, 422, "new_value"),
    ({"field": "resolved_at", "new_value": "0001-01-01T00:00+07:00", "reason": "x"}, 422,
     "new_value"),
    ({"field": "resolved_at", "new_value": "2099-01-01T00:00", "reason": "x"}, 422, "new_value"),
    ({"field": "resolved_at", "new_value": "2025-03-02T08:00", "reason": "x"}, 422, "new_value"),
    ({"field": "timeliness", "new_value": "sớm", "reason": "x"}, 422, "new_value"),
    ({"field": "timeliness", "new_value": "on_time", "reason": "   "}, 422, "reason"),
    ({"field": "timeliness", "new_value": "on_time"}, 422, "reason"),
    ({"field": "returned_at", "new_value": "2025-03-06T09:00", "reason": "x"}, 409, None),
])
def test_bad_api_corrections_are_refused_and_write_nothing(client, api_token, manager, late,
                                                          payload, status, field):
    response = client.post(f"/api/v1/dossiers/{late.code}/corrections",
                           headers=api_token(manager), json=payload)
    assert response.status_code == status, response.get_json()
    assert field is None or field in str(response.get_json())
    assert written() == (0, 0)
    d = fresh(late)
    assert d.resolved_at == local(3, 5, 17, 1) and d.timeliness == Timeliness.LATE


def test_other_roles_and_other_units_cannot_correct(client, api_token, make_user, make_unit,
                                                   late):
    payload = {"field": "timeliness", "new_value": "on_time", "reason": "x"}
    url = f"/api/v1/dossiers/{late.code}/corrections"
    assert client.post(url, json=payload).status_code == 401
    for role in ("clerk", "courier", "agency"):
        assert client.post(url, headers=api_token(make_user(role)), json=payload
                           ).status_code == 403
    elsewhere = make_user("manager", unit=make_unit())
    assert client.post(url, headers=api_token(elsewhere), json=payload).status_code == 404
    assert client.get(url, headers=api_token(elsewhere)).status_code == 404
    assert written() == (0, 0)


def test_the_manager_corrects_on_the_dossier_page(client, login, manager, late):
    login(manager)
    page = client.get(f"/timeline/{late.code}")
    assert 'id="correction-form"' in page.get_data(as_text=True)
    response = client.post(f"/timeline/{late.code}/corrections", data={
        "csrf_token": csrf_from(page), "field": "timeliness", "new_value": "on_time",
        "reason": "quá hạn do lỗi máy chủ tỉnh ngày 05/03"})
    assert response.status_code == 303
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "quá hạn do lỗi máy chủ tỉnh ngày 05/03" in html
    assert 'id="correction-list"' in html
    assert fresh(late).timeliness == Timeliness.ON_TIME
    # the control sheet lists the correction as a step with old and new
    pdf = client.get(f"/timeline/{late.code}.pdf").data
    text = " ".join(pdf_text(pdf).split())
    assert "Điều chỉnh số liệu" in text and "quá hạn → đúng hạn" in text


def test_a_bad_form_correction_shows_the_error_and_keeps_the_input(client, login, manager,
                                                                  late):
    login(manager)
    page = client.get(f"/timeline/{late.code}")
    response = client.post(f"/timeline/{late.code}/corrections", data={
        "csrf_token": csrf_from(page), "field": "resolved_at",
        "new_value": "2025-03-05T16:30", "reason": ""})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="reason-error"' in html and 'value="2025-03-05T16:30"' in html
    assert written() == (0, 0)
    # without the CSRF token nothing is written either
    response = client.post(f"/timeline/{late.code}/corrections", data={
        "field": "timeliness", "new_value": "on_time", "reason": "x"})
    assert response.status_code == 400
    assert written() == (0, 0)


def test_a_clerk_sees_corrections_but_not_the_form(client, login, make_user, manager, late):
    corrections.record_correction(db.session, manager, late, "timeliness", "on_time",
                                  "lý do A", local(4, 1))
    db.session.commit()
    clerk = make_user("clerk")
    login(clerk)
    page = client.get(f"/timeline/{late.code}")
    html = page.get_data(as_text=True)
    assert "lý do A" in html and 'id="correction-form"' not in html
    response = client.post(f"/timeline/{late.code}/corrections", data={
        "csrf_token": csrf_from(page), "field": "timeliness", "new_value": "late",
        "reason": "x"})
    assert response.status_code == 403
    assert written() == (1, 1)


def test_the_report_lists_the_period_s_corrections(client, login, api_token, manager, late,
                                                  centre):
    corrections.record_correction(db.session, manager, late, "timeliness", "on_time",
                                  "lỗi hệ thống", local(3, 20))
    corrections.record_correction(db.session, manager, late, "due_at", "2025-03-07T17:00",
                                  "hẹn lại sai ngày", local(4, 2))  # another month
    db.session.commit()
    lines = client.get("/api/v1/reports/corrections", headers=api_token(manager),
                       query_string={**PERIOD, "unit": centre.code})
    assert lines.status_code == 200
    assert lines.get_json() == [{
        "at": "2025-03-20T02:00:00+00:00", "code": late.code, "field": "timeliness",
        "old": "late", "new": "on_time", "reason": "lỗi hệ thống",
        "author": manager.full_name}]
    bad = client.get("/api/v1/reports/corrections", headers=api_token(manager),
                     query_string={"from": "2025-03-31", "to": "2025-03-01"})
    assert bad.status_code == 422

    login(manager)
    html = client.get("/office/", query_string=PERIOD).get_data(as_text=True)
    assert 'id="corrections"' in html and "lỗi hệ thống" in html
    assert "hẹn lại sai ngày" not in html
    pdf = client.get("/office/report.pdf", query_string=PERIOD).data
    text = " ".join(pdf_text(pdf).split())
    assert "Điều chỉnh số liệu ghi nhận trong kỳ (1" in text and "lỗi hệ thống" in text
    april = client.get("/office/", query_string={"from": "2025-04-01", "to": "2025-04-30"})
    assert "hẹn lại sai ngày" in april.get_data(as_text=True)
