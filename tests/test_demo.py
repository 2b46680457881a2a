"""`postal demo`: Hà Tĩnh's units, a real catalogue, staff, a consistent reproducible history."""

from __future__ import annotations

import hashlib
import os
import re
from collections import Counter, defaultdict
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select, update

from postal.core.codes import is_valid_s10, parse_dossier_code
from postal.core.errors import ValidationFailed
from postal.core.sequences import next_item_number, next_value
from postal.core.time import TZ
from postal.deadlines.calendar import shift_for_pause, timeliness
from postal.deadlines.office import calendar_for
from postal.demo import demo_logins, seed_demo
from postal.demo.world import PASSWORD
from postal.dossiers.intake import due_for
from postal.dossiers.lifecycle import RESOLVED_STATES, State, next_state
from postal.extensions import db
from postal.models import (
    Applicant,
    DailySequence,
    Dossier,
    Event,
    Item,
    ItemKind,
    Leg,
    OrgUnit,
    Procedure,
    ReturnMethod,
    Role,
    UnitKind,
    User,
)
from tests.conftest import csrf_from

NOW = datetime(2025, 11, 14, 3, 30, tzinfo=UTC)  # a Friday, 10:30 in Hà Tĩnh
S = State


@pytest.fixture(autouse=True)
def _forget_commune_positions(app):
    """The demo gives Hà Tĩnh's reference communes coordinates; PostgreSQL keeps reference
    units between tests, so put them back as they were."""
    unplaced = list(db.session.scalars(select(OrgUnit.id).where(
        OrgUnit.kind == UnitKind.COMMUNE, OrgUnit.lat.is_(None))))
    db.session.commit()
    yield
    db.session.rollback()
    db.session.execute(update(OrgUnit).where(OrgUnit.id.in_(unplaced)).values(lat=None, lon=None))
    db.session.commit()


@pytest.fixture
def cli(app):
    """The CLI's `db upgrade` step on a schema made by create_all() needs an alembic stamp."""
    if os.environ.get("POSTAL_TEST_CREATE_ALL"):
        from flask_migrate import stamp

        stamp()
    return app.test_cli_runner()


def seeded(dossiers=300, seed=3, now=NOW):
    summary = seed_demo(db.session, dossiers=dossiers, seed=seed, now=now)
    db.session.commit()
    return summary


def test_every_role_can_log_in_and_land_on_its_home(app):
    seeded(dossiers=0)
    homes = {"clerk": "/counter", "clerk2": "/counter", "courier": "/courier",
             "agency": "/agency", "manager": "/office", "admin": "/admin"}
    for username, home in homes.items():
        client = app.test_client()
        page = client.get("/login")
        response = client.post("/login", data={"username": username, "password": PASSWORD,
                                               "csrf_token": csrf_from(page)},
                               follow_redirects=True)
        assert response.status_code == 200, username
        assert response.request.path.startswith(home), (username, response.request.path)
    logins = demo_logins(db.session)
    assert {role for _, role, _ in logins} == {r.value for r in Role}
    assert len(logins) >= 20


def test_units_are_real_hatinh_communes_with_centres_and_agencies(app):
    seeded(dossiers=0)
    units = db.session.scalars(select(OrgUnit).where(OrgUnit.path.startswith("/42/"))).all()
    by_kind = defaultdict(list)
    for unit in units:
        by_kind[unit.kind].append(unit)
    assert len(by_kind[UnitKind.CENTRE]) == 7
    assert len(by_kind[UnitKind.AGENCY]) >= 15
    assert len(by_kind[UnitKind.POST_OFFICE]) >= 1
    communes = {u.code: u for u in by_kind[UnitKind.COMMUNE]}
    assert communes["18073"].name == "Phường Thành Sen"
    for centre in by_kind[UnitKind.CENTRE]:
        parse_dossier_code(f"{centre.dossier_prefix}-251114-0001")  # usable in dossier codes
        parent_code = centre.path.strip("/").split("/")[-2]
        assert parent_code == "42" or parent_code in communes  # under a real commune
    for unit in units:  # everything has a position near Hà Tĩnh (18.34 N, 105.90 E)
        if unit.kind != UnitKind.PROVINCE:
            assert 17.8 < unit.lat < 18.9 and 105.1 < unit.lon < 106.6, unit


def test_catalogue_has_forty_real_procedures_with_checklists(app):
    seeded(dossiers=0)
    procedures = db.session.scalars(select(Procedure)).all()
    assert len(procedures) >= 40
    assert {"2.000635", "2.000815", "1.001193", "1.001612"} <= {p.code for p in procedures}
    for p in procedures:
        assert re.fullmatch(r"[123]\.\d{6}", p.code), p.code
        assert p.agency is not None and p.agency.kind == UnitKind.AGENCY
        assert any(d["required"] for d in p.documents), p.code
        assert len({d["id"] for d in p.documents}) == len(p.documents)
        assert p.fee >= 0
        if p.same_day:
            assert p.cutoff is not None and p.processing_days == 0
    assert any(p.processing_hours for p in procedures)
    assert any(not p.home_return for p in procedures)
    fields = {p.field for p in procedures}
    assert {"Hộ tịch", "Chứng thực", "Đất đai", "Hoạt động xây dựng", "Lao động"} <= fields


def _replay(events) -> State:
    state = S.NEW
    for event in events:
        if "action" in event.data:
            state = next_state(state, event.data["action"])
    return state


def test_every_dossier_is_consistent_with_its_history(app):
    seeded(dossiers=300)
    calendar = calendar_for(db.session, {})
    units = {u.id: u for u in db.session.scalars(select(OrgUnit))}
    couriers = set(db.session.scalars(select(User.id).where(User.role == Role.COURIER)))
    events, items, legs = defaultdict(list), defaultdict(list), defaultdict(list)
    for e in db.session.scalars(select(Event).order_by(Event.id)):
        events[e.dossier_id].append(e)
    for i in db.session.scalars(select(Item).order_by(Item.id)):
        items[i.dossier_id].append(i)
    for leg in db.session.scalars(select(Leg).order_by(Leg.id)):
        legs[leg.item_id].append(leg)
    dossiers = db.session.scalars(select(Dossier)).all()
    assert len(dossiers) == 300
    for d in dossiers:
        evs = events[d.id]
        assert [e.at for e in evs] == sorted(e.at for e in evs), d.code
        assert all(e.at <= NOW for e in evs)
        assert _replay(evs) == d.state, d.code
        moments = [d.received_at, d.resolved_at, d.returned_at, d.closed_at, d.paused_at,
                   d.resumed_at, d.rated_at]
        assert all(m <= NOW for m in moments if m is not None)
        assert units[d.unit_id].kind == UnitKind.CENTRE
        assert units[d.agency_id].kind == UnitKind.AGENCY
        if d.state in (S.INCOMPLETE, S.REJECTED):
            assert d.code is None and d.received_at is None and not items[d.id]
            assert d.reason and (d.missing_documents or d.state == S.REJECTED)
            continue
        assert d.code and evs[0].kind == "accepted" and evs[0].at == d.received_at
        due = due_for(calendar, d.procedure, units[d.unit_id], d.received_at)
        if d.resumed_at is not None:
            due = shift_for_pause(calendar, due, d.paused_at, d.resumed_at)
        assert d.due_at == due.replace(microsecond=0), d.code
        kinds = [i.kind for i in items[d.id]]
        assert kinds[0] == ItemKind.FOLDER
        resolved = d.state in RESOLVED_STATES
        assert (d.resolved_at is not None) == resolved
        assert (ItemKind.RESULT in kinds) == resolved
        if resolved:
            assert d.received_at <= d.resolved_at
            assert d.timeliness == timeliness(d.resolved_at, d.due_at)
        else:
            assert d.timeliness is None
        assert (d.returned_at is not None) == (d.state == S.RETURNED)
        if d.returned_at is not None:
            assert d.resolved_at <= d.returned_at and d.returned_via and d.collected_by
            assert d.returned_via == ReturnMethod.COUNTER or d.return_method == ReturnMethod.HOME
        assert (d.closed_at is not None) == (d.state in (S.WITHDRAWN, S.REFUSED))
        if d.state == S.WAITING_SUPPLEMENT:
            assert d.paused_at is not None and d.resumed_at is None
        if d.resumed_at is not None:
            assert d.paused_at <= d.resumed_at
        home = d.return_method == ReturnMethod.HOME
        assert (d.delivery_ward_id is not None) == home == (d.delivery_lat is not None)
        if d.state == S.OUT_FOR_DELIVERY or d.delivery_attempts:
            assert home and d.delivery_attempts >= 1
        if d.rating is not None:
            assert 1 <= d.rating <= 5 and d.rated_at >= d.returned_at
        if d.appointment_at is not None:
            assert d.appointment_at > d.due_at and d.timeliness in (None, "late")
        for item in items[d.id]:
            for leg in legs[item.id]:
                assert leg.custodian_id in couriers
                assert leg.ended_at is None or leg.started_at <= leg.ended_at
                assert leg.start_event_id in {e.id for e in evs}


def test_codes_follow_the_format_and_the_daily_counters(app):
    seeded(dossiers=300)
    codes = db.session.execute(select(Dossier.code, Dossier.unit_id, Dossier.received_at)
                               .where(Dossier.code.is_not(None))).all()
    assert len({c for c, _, _ in codes}) == len(codes)
    highest = Counter()
    units = {u.id: u for u in db.session.scalars(select(OrgUnit))}
    for code, unit_id, received_at in codes:
        prefix, day, seq = parse_dossier_code(code)
        assert prefix == units[unit_id].dossier_prefix
        assert day == received_at.astimezone(TZ).date()
        highest[(unit_id, day)] = max(highest[(unit_id, day)], seq)
    stored = {(s.unit_id, s.day): s.last for s in db.session.scalars(select(DailySequence))}
    assert stored == dict(highest)
    # numbers of a day run 1..n without gaps
    per_day = Counter((unit_id, received_at.astimezone(TZ).date()) for _, unit_id, received_at
                      in codes)
    assert per_day == highest


def test_items_carry_valid_unique_s10_numbers_and_live_intake_continues(app):
    seeded(dossiers=300)
    numbers = db.session.scalars(select(Item.number)).all()
    assert numbers and all(is_valid_s10(n) for n in numbers)
    assert len(set(numbers)) == len(numbers)
    live = next_item_number(db.session)
    assert live not in numbers and int(live[2:10]) == len(numbers) + 1


def test_the_mix_looks_like_a_provincial_year(app):
    seeded(dossiers=2000, seed=5)
    dossiers = db.session.scalars(select(Dossier)).all()
    states = Counter(d.state for d in dossiers)
    returned = [d for d in dossiers if d.returned_at is not None]
    home = sum(d.returned_via == ReturnMethod.HOME for d in returned)
    assert 0.08 <= home / len(returned) <= 0.30
    for state in (S.INCOMPLETE, S.REJECTED, S.PROCESSING, S.WAITING_SUPPLEMENT, S.WITHDRAWN,
                  S.REFUSED, S.AWAITING_RETURN):
        assert states[state] > 0, state
    timely = Counter(d.timeliness for d in dossiers if d.timeliness)
    assert timely["early"] > timely["late"] > 0 and timely["on_time"] > 0
    ratings = Counter(d.rating for d in dossiers if d.rating)
    assert sum(ratings.values()) > 0.6 * len(returned)
    assert ratings[4] + ratings[5] > 0.7 * sum(ratings.values()) and ratings[1] > 0
    assert {d.channel for d in dossiers} == {"counter", "online", "home_pickup"}
    assert any(d.appointment_at for d in dossiers)  # extensions with a letter of apology
    first = min(d.created_at for d in dossiers)
    assert (NOW - first).days >= 330  # spread over the last year
    assert db.session.scalar(select(func.count()).select_from(Applicant)) < len(dossiers)


def _digest() -> str:
    """A hash of every generated row, with set-up rows named by their natural keys."""
    units = dict(db.session.execute(select(OrgUnit.id, OrgUnit.code)).all())
    users = dict(db.session.execute(select(User.id, User.username)).all())
    procs = dict(db.session.execute(select(Procedure.id, Procedure.code)).all())
    refs = {"unit_id": units, "agency_id": units, "ward_id": units, "delivery_ward_id": units,
            "holder_unit_id": units, "from_unit_id": units, "to_unit_id": units,
            "clerk_id": users, "user_id": users, "custodian_id": users, "receiver_id": users,
            "holder_user_id": users, "procedure_id": procs}
    h = hashlib.sha256()
    for table in (Applicant, Dossier, Item, Event, Leg, DailySequence):
        t = table.__table__
        for row in db.session.execute(select(t).order_by(*t.primary_key.columns)):
            values = {k: refs[k].get(v) if k in refs else v for k, v in row._mapping.items()
                      if k != "token"}  # QR tokens are random whatever the seed
            h.update(repr(sorted(values.items())).encode())
    return h.hexdigest()


def test_same_seed_and_now_give_the_same_rows(app):
    seed_demo(db.session, dossiers=300, seed=3, now=NOW)
    first = _digest()
    db.session.rollback()
    seed_demo(db.session, dossiers=300, seed=3, now=NOW)
    assert _digest() == first
    db.session.rollback()
    seed_demo(db.session, dossiers=300, seed=4, now=NOW)
    assert _digest() != first


def test_demo_qr_tokens_do_not_repeat_across_installs(app):
    seed_demo(db.session, dossiers=50, seed=3, now=NOW)
    first = set(db.session.scalars(select(Dossier.token)))
    db.session.rollback()
    seed_demo(db.session, dossiers=50, seed=3, now=NOW)
    again = set(db.session.scalars(select(Dossier.token)))
    assert first and again and not first & again


def test_demo_command_twice_adds_dossiers_without_collisions(cli):
    for _ in range(2):
        result = cli.invoke(args=["demo", "--dossiers", "300", "--seed", "3"])
        assert result.exit_code == 0, result.output
        assert "100%" in result.output and "300 dossiers" in result.output
    codes = db.session.scalars(select(Dossier.code).where(Dossier.code.is_not(None))).all()
    assert db.session.scalar(select(func.count()).select_from(Dossier)) == 600
    assert len(set(codes)) == len(codes) > 500
    assert db.session.scalar(select(func.count()).select_from(User)) == len(demo_logins(
        db.session))  # staff created once
    # a live intake on a busy demo day continues after the demo's numbers
    unit_id, day, last = db.session.execute(select(
        DailySequence.unit_id, DailySequence.day, DailySequence.last
    ).order_by(DailySequence.last.desc())).first()
    assert next_value(db.session, db.session.get(OrgUnit, unit_id), "dossier", day) == last + 1
    # ids generated by the database (PostgreSQL sequences) continue after the demo's own
    applicant = Applicant(full_name="Nguyễn Văn Mới", search_key="nguyen van moi")
    db.session.add(applicant)
    db.session.flush()
    assert applicant.id > max(db.session.scalars(select(Dossier.applicant_id)))


def test_negative_dossier_count_is_a_usage_error(cli):
    result = cli.invoke(args=["demo", "--dossiers", "-1"])
    assert result.exit_code == 2
    assert "Invalid value for '--dossiers'" in result.output
    assert db.session.scalar(select(func.count()).select_from(User)) == 0
    with pytest.raises(ValidationFailed):
        seed_demo(db.session, dossiers=-1)
