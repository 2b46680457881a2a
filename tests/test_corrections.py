"""A correction of recorded times or of the timeliness class is new history: the column changes,
an Event "correction" keeps old and new with reason and author, and the audit log says so."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from postal.database import AppendOnlyViolation
from postal.domain import closing, corrections, metrics
from postal.domain.errors import Conflict, Forbidden, ValidationFailed
from postal.domain.lifecycle import State
from postal.extensions import db
from postal.models import AuditEntry, Dossier, Event, Timeliness, UnitKind
from tests.public_factories import local, make_dossier

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


def counts():
    return (db.session.scalar(select(func.count()).select_from(Event).where(
                Event.kind == "correction")),
            db.session.scalar(select(func.count()).select_from(AuditEntry)))


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
    before = counts()
    with pytest.raises(error) as caught:
        corrections.record_correction(db.session, manager, late, field, value, reason, NOW)
    assert caught.value.field == names
    db.session.rollback()
    assert counts() == before
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
    assert counts()[0] == 1


def test_only_the_declared_columns_are_correctable():
    assert corrections.CORRECTABLE == ("received_at", "due_at", "resolved_at", "returned_at",
                                       "closed_at", "timeliness")
    assert all(hasattr(Dossier, f) for f in corrections.CORRECTABLE)
