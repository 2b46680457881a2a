"""Intake in the domain: accepting, due dates through intake, the two other outcomes, bad input."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from postal.core.codes import parse_s10
from postal.core.errors import Conflict, NotFound, ValidationFailed
from postal.core.time import TZ
from postal.deadlines.calendar import WorkCalendar
from postal.deadlines.office import add_override, calendar_for, remove_override
from postal.dossiers import intake
from postal.dossiers.applicants import (
    normalise_id_number,
    normalise_phone,
    parse_cccd_qr,
    split_address,
)
from postal.dossiers.lifecycle import State
from postal.dossiers.view import dossier_by_ref, dossier_dict
from postal.extensions import db
from postal.models import (
    Applicant,
    AuditEntry,
    CalendarOverride,
    DailySequence,
    Dossier,
    Event,
    Item,
    OrgUnit,
    OverrideKind,
    Procedure,
    UnitKind,
)
from tests.intake_factories import ID_NUMBER, NAME, accept, applicant, local

TABLES = (Dossier, Applicant, Event, Item, AuditEntry, DailySequence)


def counts():
    return {t.__name__: db.session.scalar(select(func.count()).select_from(t)) for t in TABLES}


@pytest.fixture
def clerk(make_user):
    return make_user("clerk")


@pytest.fixture
def procedure(make_procedure):
    return make_procedure(code="1.000001", processing_days=3, fee=8000)


def test_accept_fixes_code_due_date_fees_item_event_and_audit(clerk, procedure, agency):
    dossier = accept(clerk, procedure, now=local(2026, 3, 2, 9))  # a Monday
    db.session.commit()
    assert dossier.code == "000.00.42.H26-260302-0001"
    assert dossier.state == State.ACCEPTED
    assert dossier.due_at == local(2026, 3, 5, 17)  # three working days: Tue, Wed, Thu
    assert dossier.received_at == local(2026, 3, 2, 9)
    assert dossier.agency_id == agency.id and dossier.unit_id == clerk.unit_id
    assert dossier.fee == 8000 and dossier.postal_fee == 0
    assert [d["id"] for d in dossier.documents] == ["d1"]
    assert len(dossier.token) >= 20
    assert dossier.applicant.full_name == NAME and dossier.applicant.ward.code == "18304"
    [item] = dossier.items
    assert parse_s10(item.number).service == "RH" and item.holder_unit_id == clerk.unit_id
    [event] = db.session.scalars(select(Event).where(Event.dossier_id == dossier.id)).all()
    assert event.kind == "accepted" and event.item_id == item.id and event.user_id == clerk.id
    audit = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "dossier_accept"))
    assert audit.object_id == dossier.code and audit.user_id == clerk.id


def test_codes_count_up_per_day_and_restart_the_next_day(clerk, procedure):
    first = accept(clerk, procedure, now=local(2026, 3, 2, 9))
    second = accept(clerk, procedure, now=local(2026, 3, 2, 10))
    next_day = accept(clerk, procedure, now=local(2026, 3, 3, 8))
    assert [first.code[-4:], second.code[-4:]] == ["0001", "0002"]
    assert next_day.code == "000.00.42.H26-260303-0001"
    numbers = {i.number for d in (first, second, next_day) for i in d.items}
    assert len(numbers) == 3


def test_the_code_date_is_the_local_day_not_the_utc_day(clerk, procedure):
    dossier = accept(clerk, procedure, now=local(2026, 3, 3, 6, 30))  # 23:30 UTC on the 2nd
    assert dossier.code.split("-")[1] == "260303"


def test_units_number_their_dossiers_separately(clerk, procedure, make_unit, make_user):
    other_centre = make_unit(UnitKind.CENTRE, code="C2", ident_code="000.00.42.X1")
    other = make_user("clerk", unit=other_centre)
    a = accept(clerk, procedure, now=local(2026, 3, 2))
    b = accept(other, procedure, now=local(2026, 3, 2))
    assert a.code.endswith("-0001") and b.code == "000.00.42.X1-260302-0001"


# -- due dates through intake -----------------------------------------------------------------


def test_due_date_skips_tet_2027(clerk, procedure):
    # Wed 3 Feb 2027 is the last working day before Tết (4–10 Feb); counting resumes on the 11th
    dossier = accept(clerk, procedure, now=local(2027, 2, 3, 10))
    assert dossier.due_at == local(2027, 2, 15, 17)  # Thu 11, Fri 12, Mon 15


def test_accepted_on_the_eve_of_tet_with_one_day_is_due_the_first_day_back(clerk, make_procedure):
    one_day = make_procedure(code="1.000002", processing_days=1)
    assert accept(clerk, one_day, now=local(2027, 2, 3, 16)).due_at == local(2027, 2, 11, 17)


def test_due_date_uses_the_make_up_saturday_before_national_day_2026(clerk, make_procedure):
    two_days = make_procedure(code="1.000003", processing_days=2)
    # Thu 20 Aug 2026 + 2 working days: Fri 21, Sat 22 (worked in exchange for Mon 31 Aug)
    assert accept(clerk, two_days, now=local(2026, 8, 20)).due_at == local(2026, 8, 22, 17)


def test_due_date_skips_the_national_day_2026_holidays_and_the_substituted_monday(clerk, procedure):
    # Fri 28 Aug 2026: Mon 31 Aug (substituted), 1 and 2 Sep are off → Thu 3, Fri 4, Mon 7
    assert accept(clerk, procedure, now=local(2026, 8, 28, 15)).due_at == local(2026, 9, 7, 17)


@pytest.fixture
def same_day(make_procedure):
    return make_procedure(code="2.000635", processing_days=0, same_day=True)


@pytest.mark.parametrize(("hh", "mm", "due_day"),
                         [(14, 59, 2), (15, 0, 2), (15, 1, 3), (16, 30, 3)])
def test_same_day_procedure_uses_the_settings_cutoff(clerk, same_day, hh, mm, due_day):
    dossier = accept(clerk, same_day, now=local(2026, 3, 2, hh, mm))
    assert dossier.due_at == local(2026, 3, due_day, 17)


def test_same_day_cutoff_of_the_procedure_beats_the_unit_and_the_settings(clerk, same_day):
    clerk.unit.same_day_cutoff = time(10, 0)
    same_day.cutoff = time(11, 30)
    assert accept(clerk, same_day, now=local(2026, 3, 2, 11, 30)).due_at == local(2026, 3, 2, 17)
    assert accept(clerk, same_day, now=local(2026, 3, 2, 11, 31)).due_at == local(2026, 3, 3, 17)


def test_same_day_cutoff_of_the_unit_beats_the_settings(clerk, same_day):
    clerk.unit.same_day_cutoff = time(10, 0)
    assert accept(clerk, same_day, now=local(2026, 3, 2, 10, 1)).due_at == local(2026, 3, 3, 17)


def test_same_day_after_the_cutoff_on_the_eve_of_tet_is_due_after_tet(clerk, same_day):
    assert accept(clerk, same_day, now=local(2027, 2, 3, 15, 30)).due_at == local(2027, 2, 11, 17)


def test_period_in_working_hours_skips_lunch_and_the_night(clerk, make_procedure):
    four_hours = make_procedure(code="1.000004", processing_hours=4)
    assert accept(clerk, four_hours, now=local(2026, 3, 2, 10)).due_at == local(2026, 3, 2, 16)
    assert accept(clerk, four_hours, now=local(2026, 3, 2, 16)).due_at == local(2026, 3, 3, 10, 30)


def test_manager_day_off_pushes_the_due_date(clerk, procedure, make_user):
    manager = make_user("manager")
    add_override(db.session, manager, day=date(2026, 3, 4), kind=OverrideKind.DAY_OFF,
                 note="Bầu cử", calendar=calendar_for(db.session, {}))
    assert accept(clerk, procedure, now=local(2026, 3, 2)).due_at == local(2026, 3, 6, 17)


def test_manager_make_up_saturday_counts_as_a_working_day(clerk, procedure, make_user):
    manager = make_user("manager")
    add_override(db.session, manager, day="2026-03-07", kind="working_day", note="",
                 calendar=calendar_for(db.session, {}))
    assert accept(clerk, procedure, now=local(2026, 3, 5)).due_at == local(2026, 3, 9, 17)


def test_calendar_overrides_that_change_nothing_or_repeat_are_refused(make_user):
    manager = make_user("manager")
    cal = calendar_for(db.session, {})
    with pytest.raises(ValidationFailed, match="vốn đã là ngày nghỉ"):
        add_override(db.session, manager, day="2026-03-07", kind="day_off", note="", calendar=cal)
    with pytest.raises(ValidationFailed, match="vốn đã là ngày làm việc"):
        add_override(db.session, manager, day="2026-03-06", kind="working_day", note="",
                     calendar=cal)
    with pytest.raises(ValidationFailed) as bad_day:
        add_override(db.session, manager, day="06/03/2026", kind="day_off", note="", calendar=cal)
    assert bad_day.value.field == "day"
    with pytest.raises(ValidationFailed) as bad_kind:
        add_override(db.session, manager, day="2026-03-06", kind="holiday", note="", calendar=cal)
    assert bad_kind.value.field == "kind"
    row = add_override(db.session, manager, day="2026-03-06", kind="day_off", note="", calendar=cal)
    with pytest.raises(Conflict):
        add_override(db.session, manager, day="2026-03-06", kind="day_off", note="", calendar=cal)
    remove_override(db.session, manager, row.id)
    assert db.session.scalar(select(func.count()).select_from(CalendarOverride)) == 0
    with pytest.raises(NotFound):
        remove_override(db.session, manager, row.id)


def test_office_hours_come_from_the_settings(clerk, procedure):
    cal = calendar_for(db.session, {"OFFICE_HOURS": "08:00-12:00,13:00-16:30"})
    dossier = intake.accept(db.session, clerk=clerk, unit=clerk.unit, procedure=procedure,
                            applicant=applicant(), documents=["d1"], now=local(2026, 3, 2),
                            calendar=cal)
    assert dossier.due_at == local(2026, 3, 5, 16, 30)


# -- the other outcomes ---------------------------------------------------------------------


def test_ask_supplement_lists_the_missing_required_papers_and_fixes_no_code(clerk, procedure):
    dossier = intake.ask_supplement(
        db.session, clerk=clerk, unit=clerk.unit, procedure=procedure,
        applicant={"full_name": "Lê Văn Tám"}, documents=["d2"],
        extra_missing=["Bản sao sổ hộ khẩu"], reason="Tờ khai chưa ký", now=local(2026, 3, 2),
    )
    assert dossier.code is None and dossier.received_at is None and dossier.due_at is None
    assert dossier.state == State.INCOMPLETE
    assert dossier.missing_documents == ["Tờ khai", "Bản sao sổ hộ khẩu"]
    assert dossier.reason == "Tờ khai chưa ký"
    kinds = db.session.scalars(select(Event.kind).where(Event.dossier_id == dossier.id)).all()
    assert kinds == ["incomplete"]
    assert not dossier.items
    assert db.session.scalar(select(func.count()).select_from(DailySequence)) == 0


def test_ask_supplement_with_nothing_missing_is_refused(clerk, procedure):
    with pytest.raises(ValidationFailed) as err:
        intake.ask_supplement(db.session, clerk=clerk, unit=clerk.unit, procedure=procedure,
                              applicant={"full_name": "Lê Văn Tám"}, documents=["d1"])
    assert err.value.field == "documents"


def test_refuse_needs_a_reason_and_keeps_it(clerk, procedure):
    kw = {"clerk": clerk, "unit": clerk.unit, "procedure": procedure,
          "applicant": {"full_name": "Lê Văn Tám", "phone": "0987654321"}}
    with pytest.raises(ValidationFailed) as err:
        intake.refuse(db.session, reason="  ", **kw)
    assert err.value.field == "reason"
    dossier = intake.refuse(db.session, reason="Không thuộc thẩm quyền", **kw)
    assert dossier.state == State.REJECTED and dossier.code is None
    assert dossier.reason == "Không thuộc thẩm quyền"


def test_the_same_idempotency_key_gives_back_the_first_dossier(clerk, procedure):
    first = accept(clerk, procedure, idempotency_key="6f1c2e4a-0000-4000-8000-000000000001")
    before = counts()
    again = accept(clerk, procedure, idempotency_key="6f1c2e4a-0000-4000-8000-000000000001")
    assert again.id == first.id and counts() == before
    other = accept(clerk, procedure, idempotency_key="6f1c2e4a-0000-4000-8000-000000000002")
    assert other.code != first.code


def test_another_units_idempotency_key_is_a_conflict_not_its_dossier(clerk, procedure,
                                                                     make_user, make_unit):
    key = "6f1c2e4a-0000-4000-8000-000000000003"
    accept(clerk, procedure, idempotency_key=key)
    stranger = make_user("clerk", unit=make_unit(UnitKind.CENTRE, code="C4"))
    with pytest.raises(Conflict) as err:
        accept(stranger, procedure, idempotency_key=key)
    assert err.value.field == "idempotency_key"


def test_a_malformed_idempotency_key_is_refused(clerk, procedure):
    with pytest.raises(ValidationFailed) as err:
        accept(clerk, procedure, idempotency_key="<script>")
    assert err.value.field == "idempotency_key"


# -- bad input writes nothing -----------------------------------------------------------------


@pytest.mark.parametrize(("change", "field"), [
    ({"applicant": applicant(id_number="12345")}, "applicant.id_number"),
    ({"applicant": applicant(id_number="003190001234")}, "applicant.id_number"),  # no province 003
    ({"applicant": applicant(phone="0241234567")}, "applicant.phone"),  # a landline
    ({"applicant": applicant(phone="")}, "applicant.phone"),
    ({"applicant": applicant(full_name=" ")}, "applicant.full_name"),
    ({"applicant": applicant(address={"street": "x", "ward_code": "99999"})},
     "applicant.address.ward_code"),
    ({"applicant": applicant(address={"street": "x", "ward_code": "42"})},  # a province
     "applicant.address.ward_code"),
    ({"documents": ()}, "documents"),
    ({"documents": ("d2",)}, "documents"),
    ({"documents": ("d1", "Giấy khai sinh")}, "documents"),
    ({"return_method": "drone"}, "return_method"),
    ({"channel": "fax"}, "channel"),
    ({"return_method": "home", "delivery": {"street": "Số 1", "ward_code": "00000"}},
     "delivery_address.ward_code"),
    ({"return_method": "home", "delivery": {"street": "", "ward_code": "18304"}},
     "delivery_address.street"),
    ({"fees": {"postal_fee": 20000}}, "fees.postal_fee"),
    ({"return_method": "home", "fees": {"postal_fee": -1}}, "fees.postal_fee"),
    ({"fees": {"fee": "nhiều"}}, "fees.fee"),
])
def test_bad_input_is_refused_on_its_field_and_writes_nothing(clerk, procedure, change, field):
    before = counts()
    with pytest.raises(ValidationFailed) as err:
        accept(clerk, procedure, **change)
    assert err.value.field == field and err.value.status == 422
    assert counts() == before


def test_home_return_is_refused_for_a_procedure_that_does_not_allow_it(clerk, make_procedure):
    counter_only = make_procedure(code="1.000005", home_return=False)
    with pytest.raises(ValidationFailed) as err:
        accept(clerk, counter_only, return_method="home")
    assert err.value.field == "return_method"


def test_home_return_defaults_to_the_applicant_address(clerk, procedure):
    dossier = accept(clerk, procedure, return_method="home", fees={"postal_fee": 25000})
    assert dossier.delivery_street == "Thôn Trung Sơn" and dossier.delivery_ward.code == "18304"
    assert dossier.postal_fee == 25000


def test_an_unknown_or_inactive_procedure_is_refused(clerk, procedure):
    with pytest.raises(ValidationFailed) as err:
        intake.procedure_for(db.session, "9.999999")
    assert err.value.field == "procedure_code"
    procedure.active = False
    with pytest.raises(ValidationFailed):
        intake.procedure_for(db.session, procedure.code)
    with pytest.raises(ValidationFailed):
        accept(clerk, procedure)


def test_a_unit_code_unusable_in_dossier_codes_is_a_clear_conflict(procedure, make_unit, make_user):
    clerk = make_user("clerk", unit=make_unit(UnitKind.CENTRE, code="BAD-CODE"))
    before = counts()
    with pytest.raises(Conflict, match="mã định danh"):
        accept(clerk, procedure)
    assert counts() == before


# -- reading a dossier ---------------------------------------------------------------------------


def test_dossier_dict_has_the_timeline_items_and_applicant(clerk, procedure):
    dossier = accept(clerk, procedure, now=local(2026, 3, 2, 9), return_method="home")
    data = dossier_dict(dossier)
    assert data["code"] == dossier.code and data["status"] == "accepted"
    assert data["applicant"]["id_number"] == ID_NUMBER
    assert data["delivery_address"]["ward_code"] == "18304"
    assert data["documents"] == ["Tờ khai"]
    assert [e["kind"] for e in data["timeline"]] == ["accepted"]
    assert data["items"][0]["number"] == dossier.items[0].number
    assert data["legs"] == []
    assert data["due_at"].astimezone(TZ) == local(2026, 3, 5, 17)


def test_dossier_by_ref_finds_codes_and_intake_numbers_within_scope(clerk, procedure, make_user,
                                                                    make_unit):
    accepted = accept(clerk, procedure)
    refused = intake.refuse(db.session, clerk=clerk, unit=clerk.unit, procedure=procedure,
                            applicant={"full_name": "A"}, reason="x")
    assert dossier_by_ref(db.session, clerk, accepted.code) is accepted
    assert dossier_by_ref(db.session, clerk, str(refused.id)) is refused
    stranger = make_user("clerk", unit=make_unit(UnitKind.CENTRE, code="C3"))
    with pytest.raises(NotFound):
        dossier_by_ref(db.session, stranger, accepted.code)
    with pytest.raises(NotFound):
        dossier_by_ref(db.session, stranger, str(refused.id))


def test_acceptance_time_defaults_to_now(clerk, procedure):
    from postal.models import utcnow

    dossier = accept(clerk, procedure)
    assert abs(dossier.received_at - utcnow()) < timedelta(seconds=5)


# -- applicants: ID numbers, phones, the CCCD QR code, addresses ----------------------------


@pytest.mark.parametrize("value", ["042190001234", " 0421 9000 1234 ", "001305012345"])
def test_valid_citizen_id_numbers(value):
    assert normalise_id_number(value, today=date(2026, 1, 1)) == value.replace(" ", "")


@pytest.mark.parametrize("value", ["04219000123", "0421900012345", "04219000123A", "",
                                   "003190001234",  # no province 003
                                   "042327001234"])  # born in 2027
def test_invalid_citizen_id_numbers(value):
    with pytest.raises(ValidationFailed) as err:
        normalise_id_number(value, today=date(2026, 1, 1))
    assert err.value.field == "applicant.id_number"


@pytest.mark.parametrize(("value", "expected"), [
    ("0912345678", "0912345678"), ("+84 912 345 678", "0912345678"),
    ("84912345678", "0912345678"), ("091.234.5678", "0912345678"), ("0358-123-456", "0358123456"),
])
def test_mobile_numbers_are_normalised(value, expected):
    assert normalise_phone(value) == expected


@pytest.mark.parametrize("value", ["0241234567", "091234567", "09123456789", "0112345678", "abc"])
def test_landlines_and_malformed_numbers_are_refused(value):
    with pytest.raises(ValidationFailed):
        normalise_phone(value)


def test_the_cccd_qr_text_is_read_field_by_field():
    card = parse_cccd_qr(f"{ID_NUMBER}||{NAME}|15031990|Nữ|Thôn 5, Xã Đức Đồng, Hà Tĩnh|20042021")
    assert card.id_number == ID_NUMBER and card.old_id_number == "" and card.full_name == NAME
    assert card.birth_date == date(1990, 3, 15) and card.issued_on == date(2021, 4, 20)
    assert card.sex == "Nữ" and card.address.startswith("Thôn 5")
    for bad in ("", "012345678901", "abc|def|ghi|jkl|mno|pqr", f"{ID_NUMBER}|x|y"):
        with pytest.raises(ValidationFailed):
            parse_cccd_qr(bad)


def test_address_split_finds_the_ward_after_the_street(app):
    street, ward = split_address(db.session, "Thôn Trung Sơn, Xã Đức Đồng, Tỉnh Hà Tĩnh")
    assert street == "Thôn Trung Sơn" and ward.code == "18304"
    street, ward = split_address(db.session, "Số 12 Hà Huy Tập, phuong thanh sen, Ha Tinh")
    assert street == "Số 12 Hà Huy Tập" and ward.code == "18073"


def test_a_ward_name_shared_by_provinces_is_settled_by_the_province_named(app, centre):
    _, in_hanoi = split_address(db.session, "Thôn 1, Xã Hương Sơn, Thành phố Hà Nội")
    assert in_hanoi.code == "10489"
    _, near_us = split_address(db.session, "Thôn 1, Xã Hương Sơn", near=centre)  # a Hà Tĩnh centre
    assert near_us.code == "18133"
    street, none = split_address(db.session, "Thôn 1, Xã Bình Minh")  # five provinces
    assert none is None and street == "Thôn 1, Xã Bình Minh"


def test_an_address_without_a_known_ward_stays_whole(app):
    assert split_address(db.session, "Tổ 3, Phường Không Có, Hà Tĩnh") == (
        "Tổ 3, Phường Không Có, Hà Tĩnh", None)


# -- the due moment of any procedure, for any acceptance (property-based) -----------------------

_CAL = WorkCalendar()
_MOMENTS = st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 1),
                        timezones=st.just(TZ))
_PROCEDURES = st.one_of(
    st.builds(lambda d: Procedure(processing_days=d, same_day=False), st.integers(1, 15)),
    st.builds(lambda c: Procedure(processing_days=0, same_day=True, cutoff=c),
              st.sampled_from([None, time(11, 30), time(15, 0)])),
    st.builds(lambda h: Procedure(processing_hours=h), st.integers(1, 40)),
)


@settings(max_examples=200, deadline=None)
@given(_PROCEDURES, _MOMENTS, _MOMENTS)
def test_any_due_moment_is_in_office_hours_on_a_working_day_and_keeps_order(proc, a, b):
    unit = OrgUnit(same_day_cutoff=None)
    first, second = sorted((a, b))
    due_first = intake.due_for(_CAL, proc, unit, first, time(15, 0))
    due_second = intake.due_for(_CAL, proc, unit, second, time(15, 0))
    for due, accepted in ((due_first, first), (due_second, second)):
        local_due = due.astimezone(TZ)
        assert _CAL.is_working_day(local_due.date())
        assert _CAL.holiday_name(local_due.date()) is None
        assert any(s <= local_due.time() <= e for s, e in _CAL.hours.sessions)
        assert due > accepted
    assert due_first <= due_second
