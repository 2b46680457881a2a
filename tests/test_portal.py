"""National portal sync (DVCQG): a dossier mapped to the portal's fields, pushed by the worker
after each change, checked field by field by a fake portal; the status mapping is data."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from config import ConfigError, load
from postal.core.time import TZ
from postal.extensions import db
from postal.models import DeliveryStatus, Dossier, LinkDelivery, utcnow
from postal.outbox import links, portal
from postal.outbox.portal import FIELDS, PortalClient
from tests import links_support
from tests.intake_factories import NAME, applicant
from tests.links_support import Clock, FakeServer

links_switched_on = links_support.links_switched_on
client = links_support.client
world = links_support.world

TOKEN = "portal-token"
STAMP = re.compile(r"^\d{14}$")


def problems(record: dict) -> list[str]:
    """What the portal refuses in a sync record (its published field rules)."""
    found = []
    if set(record) != set(FIELDS):
        found.append(f"fields {sorted(set(record) ^ set(FIELDS))}")
        return found
    for name in ("MaHoSo", "MaTTHC", "TenTTHC", "ChuHoSo", "TrichYeuHoSo", "DonViXuLy"):
        if not isinstance(record[name], str) or not record[name]:
            found.append(f"{name} empty")
    if not isinstance(record["MaLinhVuc"], str):
        found.append("MaLinhVuc")
    if record["LoaiDoiTuong"] not in ("1", "2", "3"):
        found.append("LoaiDoiTuong")
    for name in ("NgayTiepNhan", "NgayHenTra"):
        if not STAMP.match(record[name]):
            found.append(f"{name} {record[name]!r}")
    if record["NgayTra"] and not STAMP.match(record["NgayTra"]):
        found.append("NgayTra")
    if record["TrangThaiHoSo"] not in {str(n) for n in range(1, 11)}:
        found.append("TrangThaiHoSo")
    if record["HinhThuc"] not in ("0", "1"):
        found.append("HinhThuc")
    for fee in record["DanhSachLePhi"]:
        if set(fee) != {"TenPhiLePhi", "MaPhiLePhi", "HinhThucThu", "Gia", "LoaiPhiLePhi"} \
                or not isinstance(fee["Gia"], int) or fee["Gia"] <= 0:
            found.append(f"DanhSachLePhi {fee}")
    for asked in record["DanhSachHoSoBoSung"]:
        if set(asked) != {"HoSoBoSungId", "NgayYeuCauBoSung", "NoiDungBoSung",
                          "DanhSachGiayToBoSung", "NgayTiepNhanBoSung"} \
                or not STAMP.match(asked["NgayYeuCauBoSung"]) \
                or (asked["NgayTiepNhanBoSung"] and not STAMP.match(asked["NgayTiepNhanBoSung"])):
            found.append(f"DanhSachHoSoBoSung {asked}")
    return found


def strict_portal(seen):
    if seen.headers.get("Authorization") != f"Bearer {TOKEN}" or not seen.headers.get(
            "X-Postal-Delivery"):
        return 401, {"error_code": 401, "message": "unauthorised"}
    try:
        [record] = seen.json()["data"]
    except (ValueError, KeyError, TypeError):
        return 400, {"error_code": 400, "message": "malformed"}
    errors = problems(record)
    return (200, {"error_code": 0}) if not errors else (400, {"error_code": 1,
                                                             "message": errors})


@pytest.fixture
def fake_portal():
    server = FakeServer(answers=[strict_portal])
    yield server
    server.close()


def accept_home(client, headers) -> str:
    answer = client.post("/api/v1/dossiers", headers=headers, json={
        "procedure_code": "1.000001", "applicant": applicant(), "channel": "counter",
        "return_method": "home", "documents": ["d1"], "fees": {"postal_fee": 25000},
        "delivery_address": {"street": "Số 5 Hà Huy Tập", "ward_code": "18073"}})
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()["code"]


def test_every_field_reaches_the_portal_as_its_contract_says(client, world, fake_portal):
    code = accept_home(client, world["clerk"])
    asked = client.post(f"/api/v1/dossiers/{code}/supplement", headers=world["officer"],
                        json={"reason": "Thiếu bản sao CCCD", "documents": ["Bản sao CCCD"]})
    assert asked.status_code == 200, asked.get_json()
    assert client.post(f"/api/v1/dossiers/{code}/supplement/received",
                       headers=world["clerk"], json={}).status_code == 200
    assert client.post(f"/api/v1/dossiers/{code}/result", headers=world["officer"],
                       json={}).status_code == 200
    config = links.Links(portal=PortalClient(fake_portal.url + "/sync", TOKEN))
    sent, failed = links.send_due(db.session, config, clock=utcnow)
    assert (sent, failed) == (3, 0), [d.last_error for d in db.session.scalars(
        select(LinkDelivery))]  # accepted, supplement requested, result ready
    record = fake_portal.seen[-1].json()["data"][0]
    dossier = db.session.scalars(select(Dossier).where(Dossier.code == code)).one()
    assert record["MaHoSo"] == code and record["MaTTHC"] == "1.000001"
    assert record["ChuHoSo"] == NAME and record["DonViXuLy"] == "Sở Tư pháp"
    assert record["MaLinhVuc"] == "Hộ tịch" and record["LoaiDoiTuong"] == "1"
    assert record["HinhThuc"] == "1"  # the result returns by post
    assert record["TrangThaiHoSo"] == "9" and record["NgayTra"] == ""
    received = datetime.strptime(record["NgayTiepNhan"], "%Y%m%d%H%M%S").replace(tzinfo=TZ)
    assert abs(received - dossier.received_at) < timedelta(seconds=1)  # local time
    assert record["NgayHenTra"] == dossier.due_at.astimezone(TZ).strftime("%Y%m%d%H%M%S")
    assert sorted(f["Gia"] for f in record["DanhSachLePhi"]) == [8000, 25000]
    [supplement] = record["DanhSachHoSoBoSung"]
    assert supplement["NoiDungBoSung"] == "Thiếu bản sao CCCD"
    assert supplement["DanhSachGiayToBoSung"] == ["Bản sao CCCD"]
    assert supplement["NgayTiepNhanBoSung"]
    assert len({s.headers["X-Postal-Delivery"] for s in fake_portal.seen}) == 3


def test_the_status_mapping_is_data(client, world):
    code = accept_home(client, world["clerk"])
    dossier = db.session.scalars(select(Dossier).where(Dossier.code == code)).one()
    assert portal.record(db.session, dossier)["TrangThaiHoSo"] == "2"
    assert portal.record(db.session, dossier, {"accepted": "1"})["TrangThaiHoSo"] == "1"
    settings = load({"TESTING": True}, environ={"PORTAL_STATUSES": '{"accepted": 1}'})
    assert settings["PORTAL_STATUSES"] == {"accepted": "1"}
    assert links.build_links(settings).portal is None  # no URL: off
    with pytest.raises(ConfigError):
        load({"TESTING": True}, environ={"PORTAL_STATUSES": "[1, 2]"})


def test_without_a_portal_url_nothing_is_queued_for_it(client, world, fake_portal):
    accept_home(client, world["clerk"])
    assert links.send_due(db.session, links.build_links({}), clock=utcnow) == (0, 0)
    assert db.session.scalars(select(LinkDelivery)).all() == [] and fake_portal.seen == []


@pytest.mark.parametrize("answer", [(200, {"error_code": 5, "message": "sai mã"}),
                                    (200, b"not json"), (500, b"down")])
def test_a_refusal_or_bad_answer_is_retried_then_dead_lettered(client, world, fake_portal,
                                                               answer):
    fake_portal.answers = [answer]
    accept_home(client, world["clerk"])
    clock = Clock(utcnow())
    config = links.Links(portal=PortalClient(fake_portal.url, TOKEN), max_attempts=2)
    assert links.send_due(db.session, config, clock=clock) == (0, 1)
    [delivery] = db.session.scalars(select(LinkDelivery)).all()
    assert delivery.status == DeliveryStatus.PENDING
    clock.at += timedelta(hours=1)
    assert links.send_due(db.session, config, clock=clock) == (0, 1)
    db.session.refresh(delivery)
    assert delivery.status == DeliveryStatus.DEAD and delivery.last_error
    fake_portal.answers = [strict_portal]
    links.replay(db.session, delivery.id, now=clock())
    db.session.commit()
    assert links.send_due(db.session, config, clock=clock) == (1, 0)
