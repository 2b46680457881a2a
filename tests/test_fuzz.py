"""The scan API against random deliveries of one small history (hypothesis, through the Flask
test client): the same scans, valid and invalid, sent with random duplicates, in random order and
cut into random batches, end exactly as sending each batch once in order did; no answer is a 5xx.

Requests commit in their own sessions, so a savepoint cannot undo them: every example builds
fresh dossiers (and ids) from the same template, and the snapshot names rows by their place in
the template, never by id or code. Scan times are after each item existed and in the past.
"""

from __future__ import annotations

import itertools
from collections import Counter

from custody_support import NOW, at, scan
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from postal.custody import record_batch
from postal.custody.manifests import build_manifest
from postal.dossiers import decisions
from postal.extensions import db
from postal.models import Event, Item, Leg, Manifest, ReturnMethod

pytest_plugins = ["custody_factories"]

_examples = itertools.count(1)

# scanner, then its batch of scans, in the order they are sent once for the reference; every
# scan is (key, what it names, event, time, extra fields). Places: d1 (home delivery, its
# result r1 ready), d2, d3 and d4 (at the counter; d3's folder and d4 travel on manifest m),
# x (another centre's dossier).
BATCHES = [
    ("courier", [("e1", "d2.folder", "pickup", at(8, 9)), ("e11", "m", "pickup", at(8, 9, 5)),
                 ("b1", "RR000000000XX", "pickup", at(8, 9))]),
    ("courier", [("e2", "d2.folder", "handover", at(8, 9, 30)),
                 ("e12", "m", "handover", at(8, 9, 35)),
                 ("e7", "d1.result", "out_for_delivery", at(9, 15))]),
    ("officer", [("e3", "d2.folder", "handover", at(8, 9, 40)),
                 ("e13", "d3.folder", "handover", at(8, 9, 45)),
                 ("b3", "d3.folder", "teleport", at(8, 9))]),
    ("courier2", [("e4", "d1.result", "pickup", at(9, 14)),
                  ("e5", "d1.result", "handover", at(9, 14, 30))]),
    ("clerk", [("e6", "d1.result", "handover", at(9, 14, 35)),
               ("b4", "d2.folder", "pickup", at(8, 9))]),  # a clerk does not pick up
    ("courier", [("e8", "d1.result", "delivery_failed", at(9, 15, 30)),
                 ("e9", "d1.result", "handover", at(9, 16)),
                 ("b5", "x", "pickup", at(8, 9))]),  # another centre's dossier
    ("clerk", [("e10", "d1.result", "collected", at(10, 8, 30), {"recipient": "Nguyễn Văn An"})]),
    ("courier", [("e2", "d2.folder", "handover", at(8, 9, 30)),
                 ("e7", "d1.result", "out_for_delivery", at(9, 15))]),  # a phone's resend
]
BAD = {"b1", "b3", "b4", "b5"}
SCANS = {s[0]: s for _, scans in BATCHES for s in scans}
# every scan of the history once, with its scanner (a key sent twice above is one scan)
EVENTS = list({s[0]: (who, s[0]) for who, scans in BATCHES for s in scans}.values())


def _fresh(world, tag: str) -> dict:
    """New dossiers, result and manifest of the template; place -> row."""
    w = world
    d1 = w.dossier(return_method=ReturnMethod.HOME)
    d2, d3, d4 = (w.dossier() for _ in range(3))
    x = w.dossier(unit=w.other_centre)
    # d1's folder reaches the agency first: its result is decided there
    f1 = w.folder(d1).number
    record_batch(db.session, w.courier, [scan(f1, "pickup", at(8, 8), id=f"{tag}-s1"),
                                         scan(f1, "handover", at(8, 8, 30), id=f"{tag}-s2")],
                 NOW)
    record_batch(db.session, w.officer, [scan(f1, "handover", at(8, 8, 40), id=f"{tag}-s3")],
                 NOW)
    r1 = decisions.mark_result_ready(db.session, w.officer, d1, now=at(9, 13))
    m = build_manifest(db.session, w.clerk, to_unit_code=w.agency.code,
                       barcodes=[w.folder(d3).number, d4.code], now=at(8, 8))
    db.session.commit()
    return {"d1": d1, "d2": d2, "d3": d3, "d4": d4, "x": x, "d1.result": r1,
            "d2.folder": w.folder(d2), "d3.folder": w.folder(d3), "m": m}


def _barcode(rows: dict, name: str) -> str:
    row = rows.get(name)
    if row is None:
        return name  # a barcode that names nothing
    return getattr(row, "number", None) or row.code


def _payload(rows: dict, tag: str, key: str) -> dict:
    _, name, event, when, *extra = SCANS[key]
    return {"id": f"{tag}-{key}", "barcode": _barcode(rows, name), "event": event,
            "at": when.isoformat(), **(extra[0] if extra else {})}


def _post(client, headers, who: str, payloads: list[dict]) -> list[dict]:
    response = client.post("/api/v1/scans", json=payloads, headers=headers[who])
    assert response.status_code == 200, (response.status_code, response.get_json())
    return response.get_json()


def _snapshot(rows: dict, tag: str) -> dict:
    """The template's rows as values without ids: dossiers' state, items' holders, the events
    (by the template key of their scan), the legs and the manifest's lines."""
    db.session.rollback()
    db.session.expire_all()
    dossiers = {place: rows[place] for place in ("d1", "d2", "d3", "d4", "x")}
    place_of = {d.id: place for place, d in dossiers.items()}
    items = db.session.scalars(select(Item).where(Item.dossier_id.in_(place_of))).all()
    item_name = {i.id: f"{place_of[i.dossier_id]}.{i.kind.value}" for i in items}
    events = db.session.scalars(select(Event).where(Event.dossier_id.in_(place_of))).all()
    # a manifest's scan is stored once per item, as "<id>/<item number>"
    key = {e.id: (e.client_id or "").removeprefix(f"{tag}-").split("/")[0] for e in events}
    legs = db.session.scalars(select(Leg).where(Leg.item_id.in_(item_name))).all()
    manifest = db.session.get(Manifest, rows["m"].id)
    return {
        "dossiers": {place: (d.state.value, d.returned_at, d.returned_via, d.delivery_attempts,
                             d.collected_by) for place, d in dossiers.items()},
        "items": sorted((item_name[i.id], i.holder_unit_id, i.holder_user_id, i.held_since)
                        for i in items),
        "events": sorted(Counter((key[e.id], e.kind, item_name.get(e.item_id), e.unit_id,
                                  e.user_id, e.at) for e in events).items(), key=repr),
        "legs": sorted(((item_name[g.item_id], g.from_unit_id, g.to_unit_id, g.custodian_id,
                         g.receiver_id, g.started_at, g.ended_at, key.get(g.start_event_id),
                         key.get(g.end_event_id)) for g in legs), key=repr),
        "manifest": (manifest.status.value, sorted((item_name[ln.item_id], ln.status.value)
                                                   for ln in manifest.lines)),
    }


@st.composite
def deliveries(draw) -> list[tuple[str, list[str]]]:
    """Every scan at least once, some again, in any order, cut into batches (a batch is one
    scanner's: a cut wherever the scanner changes, and at random places besides)."""
    n = len(EVENTS)
    extra = draw(st.lists(st.integers(0, n - 1), max_size=n))
    order = draw(st.permutations(list(range(n)) + extra))
    cuts = draw(st.lists(st.booleans(), min_size=len(order), max_size=len(order)))
    batches: list[tuple[str, list[str]]] = []
    for i, cut in zip(order, cuts, strict=True):
        who, key = EVENTS[i]
        if batches and batches[-1][0] == who and not cut:
            batches[-1][1].append(key)
        else:
            batches.append((who, [key]))
    return batches


def test_random_duplicates_orders_and_batches_of_scans_end_as_sending_them_once(
        app, world, api_token):
    users = {"courier": world.courier, "courier2": world.courier2, "officer": world.officer,
             "clerk": world.clerk}
    headers = {who: api_token(user) for who, user in users.items()}

    rows = _fresh(world, "reference")
    results = {}
    for who, scans in BATCHES:
        answers = _post(app.test_client(), headers, who,
                        [_payload(rows, "reference", s[0]) for s in scans])
        for answer in answers:
            results.setdefault(answer["id"].removeprefix("reference-"), []).append(answer["status"])
    # the history means something: the bad scans are refused, the rest kept (a resend is a
    # duplicate), and the home delivery ends with the citizen collecting at the counter
    assert {k for k, v in results.items() if "rejected" in v} == BAD
    assert all(v[0] == "accepted" for k, v in results.items() if k not in BAD)
    assert results["e2"] == results["e7"] == ["accepted", "duplicate"]
    reference = _snapshot(rows, "reference")
    assert reference["dossiers"]["d1"][0] == "returned"

    @settings(max_examples=25, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.function_scoped_fixture,
                                     HealthCheck.too_slow])
    @given(plan=deliveries())
    def check(plan):
        tag = f"fz{next(_examples):04d}"
        fresh = _fresh(world, tag)
        client = app.test_client()
        for who, keys in plan:
            _post(client, headers, who, [_payload(fresh, tag, key) for key in keys])
        assert _snapshot(fresh, tag) == reference

    check()
