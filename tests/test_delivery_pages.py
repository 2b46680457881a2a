"""The delivery pages without a browser: planning a run, the run page, the door page's plain
form posts, the counter return with its ID check, the end-of-day cash, and who may open what."""

from __future__ import annotations

import io

import delivery_support
import pytest
from conftest import csrf_from
from delivery_support import ID_NUMBER, fresh, jpeg, now, today
from sqlalchemy import func, select

from postal.delivery import runs
from postal.dossiers.lifecycle import State
from postal.extensions import db
from postal.models import DeliveryAttempt, DeliveryRun, ReturnMethod, RunStatus

town = delivery_support.town


def _count(model) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


def _out(t, *dossiers):
    run = runs.plan_run(db.session, t.clerk, courier="courier1", day=today(), now=now(),
                        config={}, codes=[d.code for d in dossiers])
    runs.start_run(db.session, t.courier, run, now())
    db.session.commit()
    return run


def test_a_clerk_plans_a_run_from_the_queue_page(town, client, login):
    t = town
    a, b, c = t.dossier(), t.dossier(street="2 Hà Huy Tập"), t.dossier(street="3 Hà Huy Tập")
    login(t.clerk)
    page = client.get("/delivery/runs")
    html = page.get_data(as_text=True)
    assert all(d.code in html for d in (a, b, c)) and 'value="courier1"' in html
    token = csrf_from(page)
    bad = client.post("/delivery/runs", data={"csrf_token": token, "courier": "nobody",
                                              "date": today().isoformat(),
                                              "codes": [a.code, b.code]})
    assert bad.status_code == 422 and "nobody" in bad.get_data(as_text=True)
    assert _count(DeliveryRun) == 0
    r = client.post("/delivery/runs", data={"csrf_token": token, "courier": "courier1",
                                            "date": today().isoformat(),
                                            "codes": [a.code, b.code]})
    assert r.status_code == 303
    run = db.session.scalars(select(DeliveryRun)).one()
    assert r.headers["Location"].endswith(f"/delivery/runs/{run.id}")
    assert {s.dossier_id for s in run.stops} == {a.id, b.id}
    shown = client.get(f"/delivery/runs/{run.id}").get_data(as_text=True)
    assert f"/api/v1/runs/{run.id}/sheet.pdf" in shown and "a6-4up" in shown
    assert "Huỷ chuyến" in shown and "start-run" not in shown
    assert c.code in client.get("/delivery/runs").get_data(as_text=True)


def test_the_courier_starts_the_run_and_opens_each_door_page(town, client, login):
    t = town
    d = t.dossier(cod_amount=25000)
    run = runs.plan_run(db.session, t.clerk, courier="courier1", day=today(), now=now(),
                        config={}, codes=[d.code])
    db.session.commit()
    login(t.courier)
    listing = client.get("/delivery/courier").get_data(as_text=True)
    assert f"/delivery/runs/{run.id}" in listing
    page = client.get(f"/delivery/runs/{run.id}")
    assert "start-run" in page.get_data(as_text=True)
    r = client.post(f"/delivery/runs/{run.id}/start", data={"csrf_token": csrf_from(page)})
    assert r.status_code == 303
    assert fresh(run).status == RunStatus.OUT and fresh(d).state == State.OUT_FOR_DELIVERY
    door = client.get(f"/delivery/stops/{d.code}").get_data(as_text=True)
    assert "signature-pad" in door and "25.000 đ" in door and "Không có người nhận" in door


def test_the_door_form_takes_a_photo_without_javascript(town, client, login):
    t = town
    d = t.dossier()
    run = _out(t, d)
    login(t.courier)
    page = client.get(f"/delivery/stops/{d.code}")
    token = csrf_from(page)
    bad = client.post(f"/delivery/stops/{d.code}/deliver", content_type="multipart/form-data",
                      data={"csrf_token": token, "recipient_name": "Lê Văn Minh",
                            "relation": "self", "photo": (io.BytesIO(b"not an image" * 9),
                                                          "x.jpg")})
    assert bad.status_code == 422 and "không phải ảnh" in bad.get_data(as_text=True)
    assert _count(DeliveryAttempt) == 0 and fresh(d).state == State.OUT_FOR_DELIVERY
    r = client.post(f"/delivery/stops/{d.code}/deliver", content_type="multipart/form-data",
                    data={"csrf_token": token, "recipient_name": "Lê Văn Minh",
                          "relation": "self", "run": str(run.id), "lat": "", "lon": "",
                          "at": now().isoformat(), "photo": (io.BytesIO(jpeg()), "x.jpg")})
    assert r.status_code == 303 and r.headers["Location"].endswith(f"/delivery/runs/{run.id}")
    attempt = db.session.scalars(select(DeliveryAttempt)).one()
    assert attempt.photo_type == "image/jpeg"
    # the evidence is there for staff of the unit, not for others
    client.post("/logout", data={"csrf_token": token})
    login(t.clerk)
    shown = client.get(f"/delivery/attempts/{attempt.id}/photo")
    assert shown.status_code == 200 and shown.mimetype == "image/jpeg"
    assert client.get(f"/delivery/attempts/{attempt.id}/signature").status_code == 404


def test_the_door_form_records_a_failed_attempt(town, client, login):
    t = town
    d = t.dossier()
    run = _out(t, d)
    login(t.courier)
    token = csrf_from(client.get(f"/delivery/stops/{d.code}"))
    missing = client.post(f"/delivery/stops/{d.code}/fail", data={"csrf_token": token})
    assert missing.status_code == 422 and 'id="failed-panel"' in missing.get_data(as_text=True)
    r = client.post(f"/delivery/stops/{d.code}/fail",
                    data={"csrf_token": token, "reason": "unreachable", "run": str(run.id)})
    assert r.status_code == 303
    assert fresh(d).delivery_attempts == 1 and fresh(d).state == State.AWAITING_RETURN


def test_the_counter_finds_checks_and_hands_over_then_asks_for_a_rating(town, client, login):
    t = town
    d = t.dossier(name="Đỗ Thị Hương", return_method=ReturnMethod.COUNTER)
    t.dossier(name="Đỗ Văn Hùng", return_method=ReturnMethod.COUNTER)
    login(t.clerk)
    both = client.get("/delivery/counter?q=do")
    assert both.status_code == 200 and "Đỗ Văn Hùng" in both.get_data(as_text=True)
    one = client.get("/delivery/counter?q=huong")
    assert one.status_code == 303 and one.headers["Location"].endswith(f"/delivery/counter/"
                                                                       f"{d.code}")
    page = client.get(f"/delivery/counter/{d.code}")
    token = csrf_from(page)
    wrong = client.post(f"/delivery/counter/{d.code}", data={
        "csrf_token": token, "id_number": "001099012345", "collected_by": "Người lạ"})
    assert wrong.status_code == 422 and "uỷ quyền" in wrong.get_data(as_text=True)
    assert fresh(d).state == State.AWAITING_RETURN
    qr = f"{ID_NUMBER}|123456789|Đỗ Thị Hương|01011990|Nữ|Hà Tĩnh|01012022"
    r = client.post(f"/delivery/counter/{d.code}", data={"csrf_token": token, "id_number": qr,
                                                        "collected_by": ""})
    assert r.status_code == 303 and r.headers["Location"].endswith(f"/delivery/rate/{d.code}")
    d = fresh(d)
    assert (d.state, d.collected_by, d.returned_via) == (State.RETURNED, "Đỗ Thị Hương",
                                                         ReturnMethod.COUNTER)


def test_end_of_day_cash_page_records_what_a_courier_hands_in(town, client, login):
    t = town
    d = t.dossier(cod_amount=40000)
    _out(t, d)
    from postal.delivery import proof

    proof.record_delivery(db.session, t.courier, d, proof.Proof(
        "A", "self", signature=delivery_support.png(), cod_collected=40000), now())
    db.session.commit()
    login(t.clerk)
    page = client.get(f"/delivery/cod?date={today().isoformat()}")
    assert 'id="cod-courier1"' in page.get_data(as_text=True)
    token = csrf_from(page)
    bad = client.post("/delivery/cod", data={"csrf_token": token, "date": today().isoformat(),
                                             "courier": "courier1", "amount": "abc"})
    assert bad.status_code == 422
    r = client.post("/delivery/cod", data={"csrf_token": token, "date": today().isoformat(),
                                           "courier": "courier1", "amount": "40000"})
    assert r.status_code == 303
    assert "Đã khớp" in client.get(f"/delivery/cod?date={today().isoformat()}").get_data(
        as_text=True)


@pytest.mark.parametrize("role, url, status", [
    ("courier", "/delivery/runs", 403), ("courier", "/delivery/counter", 403),
    ("courier", "/delivery/cod", 403), ("clerk", "/delivery/courier", 403),
    ("manager", "/delivery/counter", 403), ("agency", "/delivery/runs", 403),
])
def test_each_page_is_for_its_role(town, client, login, make_user, role, url, status):
    user = {"courier": town.courier, "clerk": town.clerk, "manager": town.manager}.get(role) \
        or make_user(role, unit=town.agency)
    login(user)
    assert client.get(url).status_code == status


def test_pages_need_a_login(client):
    for url in ("/delivery/runs", "/delivery/courier", "/delivery/counter"):
        r = client.get(url)
        assert r.status_code == 302 and "/login" in r.headers["Location"]
