"""Chain of custody in the domain: scans, legs, the dossier's path, order independence."""

from __future__ import annotations

from datetime import timedelta

import pytest
from custody_support import NOW, at, scan
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from postal.custody import lookup, record_batch
from postal.dossiers import decisions as decisions
from postal.dossiers.lifecycle import State
from postal.extensions import db
from postal.models import Event, Item, Leg, ReturnMethod

pytest_plugins = ["custody_factories"]


def _legs(item):
    return db.session.scalars(select(Leg).where(Leg.item_id == item.id)
                              .order_by(Leg.started_at, Leg.id)).all()


def _events(dossier) -> int:
    return db.session.scalar(select(func.count()).select_from(Event)
                             .where(Event.dossier_id == dossier.id))


def _ok(results):
    assert [r.status for r in results] == ["accepted"] * len(results), \
        [r.as_dict() for r in results]


def test_the_whole_path_counter_agency_counter_citizen(world):
    w = world
    d = w.dossier()
    folder = w.folder(d)
    # the courier takes the folder at the counter and hands it to the agency, which confirms
    _ok(record_batch(db.session, w.courier, [scan(folder.number, "pickup", at(8, 9)),
                                             scan(folder.number, "handover", at(8, 10))], NOW))
    assert d.state == State.PROCESSING
    _ok(record_batch(db.session, w.officer, [scan(folder.number, "handover", at(8, 10, 5))], NOW))
    (leg,) = _legs(folder)
    assert (leg.from_unit_id, leg.to_unit_id) == (w.centre.id, w.agency.id)
    assert (leg.custodian_id, leg.receiver_id) == (w.courier.id, w.officer.id)
    assert (leg.started_at, leg.ended_at) == (at(8, 9), at(8, 10))
    assert (folder.holder_unit_id, folder.holder_user_id) == (w.agency.id, w.officer.id)
    # the agency decides; a courier brings the result back to the counter
    result = decisions.mark_result_ready(db.session, w.officer, d, now=at(9, 14))
    assert d.state == State.RESULT_READY and d.timeliness.value == "early"
    assert result.holder_unit_id == w.agency.id and result.number.startswith("RK")
    _ok(record_batch(db.session, w.courier2, [
        scan(result.number, "pickup", at(9, 15), item_kind="result"),
        scan(d.code, "handover", at(9, 16), item_kind="result")], NOW))
    assert d.state == State.AWAITING_RETURN
    assert result.holder_unit_id == w.centre.id and result.holder_user_id is None
    # the citizen collects at the counter
    _ok(record_batch(db.session, w.clerk, [
        scan(result.number, "collected", at(10, 8), recipient="Nguyễn Thị Hồng Nhung")], NOW))
    assert d.state == State.RETURNED and d.returned_via == ReturnMethod.COUNTER
    assert d.returned_at == at(10, 8) and d.collected_by == "Nguyễn Thị Hồng Nhung"
    assert result.holder_unit_id is None and result.holder_user_id is None
    db.session.commit()
    assert _events(d) == 8  # accepted, 3 folder scans, result ready, 2 result scans, collected


def test_home_delivery_counts_attempts_and_ends_returned_home(world):
    w = world
    d = w.at_agency(w.dossier(return_method=ReturnMethod.HOME))
    result = decisions.mark_result_ready(db.session, w.officer, d, now=at(8, 14))
    number = result.number
    _ok(record_batch(db.session, w.courier, [
        scan(number, "pickup", at(8, 15)), scan(number, "handover", at(8, 16)),
        scan(number, "out_for_delivery", at(9, 8)), scan(number, "delivery_failed", at(9, 9)),
        scan(number, "delivered", at(9, 15), recipient="Trần Văn Bình", lat=18.34, lon=105.9),
    ], NOW))
    assert d.state == State.RETURNED and d.returned_via == ReturnMethod.HOME
    assert d.delivery_attempts == 2 and d.returned_at == at(9, 15)
    legs = _legs(result)
    assert [(g.from_unit_id, g.to_unit_id) for g in legs] == [(w.agency.id, w.centre.id),
                                                             (w.centre.id, None)]
    assert legs[1].ended_at == at(9, 15)


def test_a_handover_before_its_pickup_ends_with_the_same_leg_once_the_pickup_arrives(world):
    w = world
    d = w.dossier()
    folder = w.folder(d)
    _ok(record_batch(db.session, w.officer, [scan(folder.number, "handover", at(8, 10))], NOW))
    (implicit,) = _legs(folder)
    assert implicit.custodian_id is None and implicit.receiver_id == w.officer.id
    assert d.state == State.PROCESSING
    # the courier's phone syncs later: its pickup is earlier in time
    _ok(record_batch(db.session, w.courier, [scan(folder.number, "pickup", at(8, 9))], NOW))
    (leg,) = _legs(folder)
    assert (leg.from_unit_id, leg.to_unit_id) == (w.centre.id, w.agency.id)
    assert (leg.custodian_id, leg.receiver_id) == (w.courier.id, w.officer.id)
    assert (leg.started_at, leg.ended_at) == (at(8, 9), at(8, 10))
    assert (folder.holder_unit_id, folder.held_since) == (w.agency.id, at(8, 10))


def test_the_same_id_twice_is_stored_once(world):
    w = world
    folder = w.folder(w.dossier())
    first = scan(folder.number, "pickup", at(8, 9))
    results = record_batch(db.session, w.courier, [first, first], NOW)
    assert [r.status for r in results] == ["accepted", "duplicate"]
    assert record_batch(db.session, w.courier, [first], NOW)[0].status == "duplicate"
    db.session.commit()
    n = db.session.scalar(select(func.count()).select_from(Event)
                          .where(Event.client_id == first.id))
    assert n == 1


def test_a_concurrent_twin_is_answered_duplicate_and_the_rest_is_kept(world, monkeypatch):
    """Another request stored one of the ids between our look-up and our write."""
    w = world
    a, b = w.folder(w.dossier()), w.folder(w.dossier())
    twin = scan(a.number, "pickup", at(8, 9))
    _ok(record_batch(db.session, w.courier, [twin], NOW))
    db.session.commit()
    load = lookup.Lookup.load

    def blind_load(self, scans):  # as if the twin had not been committed yet
        load(self, scans)
        self.stored_ids.clear()

    monkeypatch.setattr(lookup.Lookup, "load", blind_load)
    results = record_batch(db.session, w.courier, [twin, scan(b.number, "pickup", at(8, 9))], NOW)
    assert [r.status for r in results] == ["duplicate", "accepted"]
    db.session.commit()
    assert b.holder_user_id == w.courier.id and len(_legs(b)) == 1 and len(_legs(a)) == 1


def test_bad_events_are_refused_one_by_one_and_write_nothing(world):
    w = world
    d, elsewhere = w.dossier(), w.dossier(unit=w.other_centre)
    folder = w.folder(d)
    before = db.session.scalar(select(func.count()).select_from(Event))
    results = record_batch(db.session, w.courier, [
        scan("RR000000000XX", "pickup", at(8, 9)),
        scan(folder.number, "teleport", at(8, 9)),
        scan(folder.number, "pickup", NOW + timedelta(hours=1)),
        scan(w.folder(elsewhere).number, "pickup", at(8, 9)),
        scan(elsewhere.code, "pickup", at(8, 9)),
        scan(folder.number, "collected", at(8, 9)),
        scan(folder.number, "out_for_delivery", at(8, 9)),
        scan(folder.number, "pickup", at(8, 9), unit_code="NO-SUCH-UNIT"),
        scan(folder.number, "pickup", at(8, 9)),
    ], NOW)
    codes = [r.error for r in results]
    assert codes == ["unknown_barcode", "unknown_event", "future_time", "wrong_unit",
                     "wrong_unit", "wrong_role", "not_ready", "unknown_unit", None]
    assert all(r.message for r in results[:-1])
    assert results[-1].status == "accepted"
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(Event)) == before + 1
    assert w.folder(elsewhere).holder_unit_id == w.other_centre.id


def test_a_scan_after_the_return_is_refused_as_already_delivered(world):
    w = world
    d = w.at_agency(w.dossier())
    result = decisions.mark_result_ready(db.session, w.officer, d, now=at(8, 9))
    _ok(record_batch(db.session, w.clerk, [scan(result.number, "collected", at(8, 10),
                                                recipient="Nguyễn Thị Hồng Nhung")], NOW))
    late = record_batch(db.session, w.courier, [scan(result.number, "pickup", at(8, 11))], NOW)
    assert late[0].error == "already_delivered"
    again = record_batch(db.session, w.clerk, [scan(result.number, "collected", at(8, 9, 30),
                                                    recipient="Nguyễn Thị Hồng Nhung")], NOW)
    assert again[0].error == "already_delivered"
    assert d.state == State.RETURNED


def test_the_result_of_a_dossier_not_yet_decided_is_not_ready(world):
    w = world
    d = w.dossier()
    r = record_batch(db.session, w.courier, [scan(d.code, "pickup", at(8, 9),
                                                  item_kind="result")], NOW)
    assert r[0].error == "not_ready" and "chưa có kết quả" in r[0].message


# -- any order, any repetition ------------------------------------------------------------------
def _history(w):
    """A consistent history of scans over four dossiers, in batches per scanner, plus scans
    that are wrong whatever the order."""
    from postal.custody.manifests import build_manifest

    # d1 is for home delivery: its failed attempt ends at the counter
    d1, d2, d3, d4 = (w.dossier(return_method=ReturnMethod.HOME if i == 0 else
                                ReturnMethod.COUNTER) for i in range(4))
    elsewhere = w.dossier(unit=w.other_centre)
    r1 = decisions.mark_result_ready(db.session, w.officer, w.at_agency(d1), now=at(9, 13)).number
    f2, f3 = w.folder(d2).number, w.folder(d3).number
    m = build_manifest(db.session, w.clerk, to_unit_code=w.agency.code,
                       barcodes=[f3, d4.code], now=at(8, 8))
    db.session.commit()
    s = {k: scan(*v[:3], **(v[3] if len(v) > 3 else {})) for k, v in {
        "e1": (f2, "pickup", at(8, 9)), "e2": (f2, "handover", at(8, 9, 30)),
        "e3": (f2, "handover", at(8, 9, 40)),
        "e4": (r1, "pickup", at(9, 14)), "e5": (r1, "handover", at(9, 14, 30)),
        "e6": (r1, "handover", at(9, 14, 35)), "e7": (r1, "out_for_delivery", at(9, 15)),
        "e8": (r1, "delivery_failed", at(9, 15, 30)), "e9": (r1, "handover", at(9, 16)),
        "e10": (r1, "collected", at(10, 8, 30), {"recipient": "Nguyễn Văn An"}),
        "e11": (m.code, "pickup", at(8, 9, 5)), "e12": (m.code, "handover", at(8, 9, 35)),
        "e13": (f3, "handover", at(8, 9, 45)),
        "b1": ("RR000000000XX", "pickup", at(8, 9)),
        "b2": (f2, "pickup", NOW + timedelta(hours=1)), "b3": (f3, "teleport", at(8, 9)),
        "b4": (f2, "pickup", at(8, 9)), "b5": (elsewhere.code, "pickup", at(8, 9)),
    }.items()}
    batches = [
        (w.courier, ["e1", "e11", "b1"]), (w.courier, ["e2", "e12", "e7", "b2"]),
        (w.officer, ["e3", "e13", "b3"]), (w.courier2, ["e4", "e5"]),
        (w.clerk, ["e6", "b4"]), (w.courier, ["e8", "e9", "b5"]), (w.clerk, ["e10"]),
        (w.courier, ["e2", "e7"]),
    ]
    return [(user, [s[k] for k in keys]) for user, keys in batches], [d1, d2, d3, d4, elsewhere], m


def _snapshot(dossiers, manifest) -> dict:
    s: Session = db.session
    s.expire_all()
    ids = [d.id for d in dossiers]
    items = s.scalars(select(Item).where(Item.dossier_id.in_(ids))).all()
    name = {i.id: i.number for i in items}
    events = s.scalars(select(Event).where(Event.dossier_id.in_(ids))).all()
    client = {e.id: e.client_id for e in events}
    legs = s.scalars(select(Leg).where(Leg.item_id.in_(list(name)))).all()
    return {
        "dossiers": sorted(((d.code, d.state.value, d.returned_at, d.returned_via,
                             d.delivery_attempts, d.collected_by) for d in dossiers), key=repr),
        "items": sorted(((i.number, i.holder_unit_id, i.holder_user_id, i.held_since)
                         for i in items), key=repr),
        "legs": sorted(((name[g.item_id], g.from_unit_id, g.to_unit_id, g.custodian_id,
                         g.receiver_id, g.started_at, g.ended_at, client.get(g.start_event_id),
                         client.get(g.end_event_id)) for g in legs), key=repr),
        "events": sorted(((e.client_id or "", e.kind, name.get(e.item_id), e.unit_id, e.at)
                          for e in events), key=repr),
        "manifest": (manifest.status.value, sorted((ln.item.number, ln.status.value)
                                                   for ln in manifest.lines)),
    }


@st.composite
def _orders(draw, n: int) -> list[int]:
    """Every batch at least once, some twice, in any order."""
    extra = draw(st.lists(st.integers(0, n - 1), max_size=n))
    return draw(st.permutations(list(range(n)) + extra))


def _run(batches, order) -> list:
    outcome = []
    for i in order:
        user, scans = batches[i]
        outcome.append(record_batch(db.session, user, scans, NOW))
    return outcome


def test_any_order_and_repetition_of_the_same_batches_ends_in_the_same_state(world):
    batches, dossiers, manifest = _history(world)
    outer = db.session.begin_nested()
    first = _run(batches, range(len(batches)))
    statuses = {r.id: r.status for results in first for r in results}
    assert {k for k, v in statuses.items() if v == "rejected"} == {
        s.id for _, scans in batches for s in scans if s.barcode == "RR000000000XX"
        or s.event == "teleport" or s.at > NOW or s.id in _bad_ids(batches)}
    reference = _snapshot(dossiers, manifest)
    outer.rollback()
    assert reference["dossiers"][0][1] == "returned" or any(
        d[1] == "returned" for d in reference["dossiers"])

    @settings(max_examples=40, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(order=_orders(len(batches)))
    def check(order):
        savepoint = db.session.begin_nested()
        try:
            _run(batches, order)
            assert _snapshot(dossiers, manifest) == reference
        finally:
            savepoint.rollback()

    check()


def _bad_ids(batches) -> set[str]:
    """The clerk's pickup (wrong role) and the other centre's dossier (wrong unit)."""
    return {s.id for user, scans in batches for s in scans
            if (user.role.value == "clerk" and s.event == "pickup")
            or s.barcode.startswith("000.00.99")}


@pytest.mark.parametrize("kind", ["handover", "pickup"])
def test_scans_of_a_dossier_code_move_its_folder_until_a_result_exists(world, kind):
    w = world
    d = w.dossier()
    _ok(record_batch(db.session, w.courier, [scan(d.code, kind, at(8, 9))], NOW))
    assert _legs(w.folder(d))


# -- manifests ----------------------------------------------------------------------------------
def test_a_manifest_is_taken_in_one_scan_and_checked_item_by_item(world):
    from postal.custody import manifests

    w = world
    d1, d2, d3, stray = (w.dossier() for _ in range(4))
    f1, f3 = w.folder(d1).number, w.folder(d3).number
    m = manifests.build_manifest(db.session, w.clerk, to_unit_code=w.agency.code,
                                 barcodes=[f1, d2.code, f3, f1], now=at(8, 8))
    assert m.code == "BK-000.00.42.H26-250708-001" and len(m.lines) == 3
    assert m.status.value == "open"
    # the courier takes the whole bundle with one scan, and hands it over with another
    _ok(record_batch(db.session, w.courier, [scan(m.code, "pickup", at(8, 9))], NOW))
    assert m.status.value == "in_transit"
    assert {ln.item.holder_user_id for ln in m.lines} == {w.courier.id}
    _ok(record_batch(db.session, w.courier, [scan(m.code, "handover", at(8, 10))], NOW))
    assert {d.state for d in (d1, d2, d3)} == {State.PROCESSING}
    assert {ln.item.holder_unit_id for ln in m.lines} == {w.agency.id}
    # the agency checks item by item: two listed, one not listed (extra), one never found
    answers = manifests.receive_items(db.session, w.officer, m,
                                      [f1, d2.code, w.folder(stray).number], at(8, 10, 10))
    assert [a["status"] for a in answers] == ["confirmed", "confirmed", "extra"]
    assert manifests.receive_items(db.session, w.officer, m, [f1], NOW)[0]["status"] == "already"
    manifests.close_manifest(db.session, w.officer, m, at(8, 11))
    assert m.status.value == "discrepancy"
    assert sorted(ln.status.value for ln in m.lines) == ["confirmed", "confirmed", "extra",
                                                         "missing"]
    missing = db.session.scalar(select(Event).where(Event.kind == "missing"))
    assert missing.item.number == f3 and missing.manifest_id == m.id
    # both ends see the flags
    assert manifests.manifests_for(db.session, w.clerk, direction="out") == [m]
    assert manifests.manifests_for(db.session, w.officer, direction="in") == [m]
    # found later after all: the line is confirmed, the extra item still stands out
    assert manifests.receive_items(db.session, w.officer, m, [f3], NOW)[0]["status"] == \
        "confirmed"
    assert m.status.value == "discrepancy"
    second = manifests.build_manifest(db.session, w.clerk, to_unit_code=w.agency.code,
                                      barcodes=[w.folder(w.dossier()).number], now=at(8, 15))
    assert second.code.endswith("-250708-002")


def test_results_come_back_on_a_manifest(world):
    from postal.custody import manifests

    w = world
    dossiers = [w.at_agency(w.dossier()) for _ in range(3)]
    for d in dossiers:
        decisions.mark_result_ready(db.session, w.officer, d, now=at(9, 10))
    m = manifests.build_manifest(db.session, w.officer, to_unit_code=w.centre.code,
                                 barcodes=[d.code for d in dossiers], now=at(9, 11))
    assert {ln.item.kind.value for ln in m.lines} == {"result"}
    _ok(record_batch(db.session, w.courier, [scan(m.code, "pickup", at(9, 12)),
                                             scan(m.code, "handover", at(9, 13))], NOW))
    assert {d.state for d in dossiers} == {State.AWAITING_RETURN}
    answers = manifests.receive_items(db.session, w.clerk, m, [d.code for d in dossiers], NOW)
    assert {a["status"] for a in answers} == {"confirmed"}
    assert m.status.value == "received"


@pytest.mark.parametrize("case", ["unknown_unit", "empty", "unknown_barcode", "not_here",
                                  "taken", "wrong_destination", "same_unit"])
def test_building_a_manifest_refuses_bad_input_and_writes_nothing(world, case):
    from postal.core.errors import ValidationFailed
    from postal.custody import manifests
    from postal.models import DailySequence, Manifest

    w = world
    d = w.dossier()
    folder = w.folder(d).number
    to, barcodes = w.agency.code, [folder]
    if case == "unknown_unit":
        to = "NO-SUCH"
    elif case == "empty":
        barcodes = [" "]
    elif case == "unknown_barcode":
        barcodes = [folder, "RR000000000XX"]
    elif case == "not_here":
        barcodes = [w.folder(w.dossier(unit=w.other_centre)).number]
    elif case == "taken":
        manifests.build_manifest(db.session, w.clerk, to_unit_code=to, barcodes=[folder],
                                 now=at(8, 8))
    elif case == "wrong_destination":
        to = w.other_centre.code
    elif case == "same_unit":
        to = w.centre.code
    db.session.commit()
    before = db.session.scalar(select(func.count()).select_from(Manifest))
    with pytest.raises(ValidationFailed) as exc:
        manifests.build_manifest(db.session, w.clerk, to_unit_code=to, barcodes=barcodes,
                                 now=at(8, 9))
    assert exc.value.field in ("to_unit", "barcodes") and exc.value.message
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Manifest)) == before
    assert db.session.scalar(select(func.count()).select_from(DailySequence)) == before


# -- transit alerts, the control sheet ---------------------------------------------------------
def test_items_in_transit_too_long_are_flagged_for_the_unit(world):
    from postal.custody import overdue_transit

    w = world
    slow, fast = w.folder(w.dossier()), w.folder(w.dossier())
    elsewhere = w.folder(w.dossier(unit=w.other_centre))
    _ok(record_batch(db.session, w.courier, [scan(slow.number, "pickup", at(8, 9)),
                                             scan(fast.number, "pickup", at(10, 9))], NOW))
    _ok(record_batch(db.session, w.other_courier, [scan(elsewhere.number, "pickup", at(8, 9))],
                     NOW))
    alerts = overdue_transit(db.session, w.centre, NOW, hours=24)
    assert [a.item.number for a in alerts] == [slow.number]
    assert alerts[0].hours == pytest.approx(49)
    # the agency decides the dossiers of both centres: it sees both slow items
    assert sorted(a.item.number for a in overdue_transit(db.session, w.agency, NOW, hours=24)) \
        == sorted([slow.number, elsewhere.number])
    assert len(overdue_transit(db.session, w.centre, NOW, hours=72)) == 0


def test_the_control_sheet_follows_the_dossier_step_by_step(world):
    from postal.custody.control_sheet import control_rows, control_steps

    w = world
    d = w.dossier()
    folder = w.folder(d).number
    _ok(record_batch(db.session, w.courier, [scan(folder, "pickup", at(8, 9)),
                                             scan(folder, "handover", at(8, 10))], NOW))
    _ok(record_batch(db.session, w.officer, [scan(folder, "handover", at(8, 10, 5))], NOW))
    result = decisions.mark_result_ready(db.session, w.officer, d, now=at(9, 14))
    _ok(record_batch(db.session, w.courier, [scan(result.number, "pickup", at(9, 15)),
                                             scan(result.number, "handover", at(9, 16))], NOW))
    _ok(record_batch(db.session, w.clerk, [scan(result.number, "collected", at(10, 8),
                                                recipient="Nguyễn Thị Hồng Nhung")], NOW))
    steps = control_steps(db.session, d)
    assert [s.label for s in steps] == ["Tiếp nhận hồ sơ", "Bàn giao", "Có kết quả giải quyết",
                                        "Bàn giao", "Trả kết quả tại quầy"]
    handover = steps[1]
    assert (handover.from_unit, handover.to_unit) == (w.centre.name, w.agency.name)
    assert (handover.giver, handover.receiver) == ("courier1", "officer1")
    assert steps[-1].receiver == "Nguyễn Thị Hồng Nhung"
    rows = control_rows(db.session, d)
    assert [r.step for r in rows] == [1, 2, 3, 4, 5] and rows[2].outcome is None


def test_a_rolled_back_scan_leaves_nothing_behind_in_memory_either(world):
    w = world
    d = w.dossier()
    folder = w.folder(d)
    db.session.commit()
    savepoint = db.session.begin_nested()
    _ok(record_batch(db.session, w.courier, [scan(folder.number, "pickup", at(8, 9)),
                                             scan(folder.number, "handover", at(8, 10))], NOW))
    assert d.state == State.PROCESSING and folder.holder_unit_id == w.agency.id
    savepoint.rollback()
    assert d.state == State.ACCEPTED and folder.holder_unit_id == w.centre.id
    assert _legs(folder) == []
