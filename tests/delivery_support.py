"""Helpers of the delivery tests: a centre with its staff and a few wards, and dossiers whose
result is back at the centre, made directly with the models (independent of intake and of the
agency's decisions).

Bind the fixtures in a test module by name: `town = delivery_support.town`.
"""

from __future__ import annotations

import base64
import io
import itertools
import secrets
import struct
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from postal.core.codes import format_dossier_code, make_s10
from postal.core.text import fold
from postal.core.time import TZ
from postal.dossiers.lifecycle import State
from postal.extensions import db
from postal.models import (
    Applicant,
    Channel,
    Dossier,
    Event,
    Item,
    ItemKind,
    OrgUnit,
    ReturnMethod,
    UnitKind,
)

_serial = itertools.count(70_000_001)
_seq = itertools.count(1)
ID_NUMBER = "042190001234"


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def today():
    return now().astimezone(TZ).date()


def png(width: int = 4, height: int = 2) -> bytes:
    """A real (tiny, black) PNG, as a canvas would send."""
    raw = b"".join(b"\x00" + b"\x00\x00\x00\xff" * width for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw))
            + chunk(b"IEND", b""))


def jpeg() -> bytes:
    """A JPEG as a phone camera would send (made by Pillow, a test-only dependency)."""
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (16, 16), (200, 30, 30)).save(out, format="JPEG")
    return out.getvalue()


def data_url(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode()


@dataclass
class Town:
    centre: object
    agency: object
    clerk: object
    courier: object
    courier2: object
    manager: object
    procedure: object
    wards: list = field(default_factory=list)  # communes of Hà Tĩnh, the first two with coords
    other_courier: object = None  # at another centre
    officer: object = None  # of the agency that decides the town's dossiers

    def dossier(self, *, state=State.AWAITING_RETURN, return_method=ReturnMethod.HOME,
                ward=None, street="12 Nguyễn Du", name="Nguyễn Thị Hồng Nhung",
                id_number=ID_NUMBER, phone="0912345678", cod_amount=0, unit=None,
                result=True, resolved_at=None) -> Dossier:
        """A dossier whose result is ready (held at the centre unless `state` says otherwise)."""
        unit = unit or self.centre
        ward = ward if ward is not None else self.wards[0]
        received = (resolved_at or now()) - timedelta(days=5)
        resolved = resolved_at or now() - timedelta(days=1)
        applicant = Applicant(full_name=name, id_number=id_number, phone=phone, street=street,
                              ward=ward, search_key=fold(f"{name} {street} {ward.name}"))
        code = format_dossier_code(unit.dossier_prefix, received.astimezone(TZ).date(),
                                   next(_seq))
        dossier = Dossier(
            code=code, token=secrets.token_hex(16), unit=unit, agency_id=self.agency.id,
            procedure=self.procedure, applicant=applicant, clerk=self.clerk, state=state,
            channel=Channel.COUNTER, return_method=return_method, delivery_street=street,
            delivery_ward=ward, cod_amount=cod_amount, created_at=received, received_at=received,
            due_at=resolved + timedelta(days=2), resolved_at=resolved if result else None)
        items = [Item(number=make_s10("RH", next(_serial)), dossier=dossier,
                      kind=ItemKind.FOLDER, created_at=received, holder_unit_id=self.agency.id,
                      held_since=received)]
        if result:
            items.append(Item(number=make_s10("RK", next(_serial)), dossier=dossier,
                              kind=ItemKind.RESULT, created_at=resolved, held_since=resolved,
                              holder_unit=unit if state == State.AWAITING_RETURN
                              else self.agency))
        db.session.add_all([dossier, *items])
        db.session.flush()
        db.session.add(Event(kind="accepted", dossier_id=dossier.id, item=items[0], at=received,
                             recorded_at=received, user=self.clerk, unit=unit,
                             data={"code": code}))
        if result:
            db.session.add(Event(kind="result_ready", dossier_id=dossier.id, item=items[1],
                                 at=resolved, recorded_at=resolved, unit=self.agency,
                                 data={"result": items[1].number}))
        db.session.flush()
        return dossier

    @staticmethod
    def result(dossier: Dossier) -> Item:
        return next(i for i in dossier.items if i.kind == ItemKind.RESULT)


@pytest.fixture
def town(app, centre, agency, make_unit, make_user, make_procedure) -> Town:
    wards = db.session.scalars(select(OrgUnit).where(
        OrgUnit.kind == UnitKind.COMMUNE, OrgUnit.path.startswith("/42/"))
        .order_by(OrgUnit.code).limit(4)).all()
    wards[0].lat, wards[0].lon = 18.3560, 105.8870
    wards[1].lat, wards[1].lon = 18.3000, 105.9500
    other = make_unit(UnitKind.CENTRE, code="TTHCC-KHAC", name="Trung tâm HCC khác",
                      ident_code="000.00.99.H26", lat=18.5, lon=105.7)
    t = Town(centre=centre, agency=agency, clerk=make_user("clerk", username="clerk1"),
             courier=make_user("courier", username="courier1"),
             courier2=make_user("courier", username="courier2"),
             manager=make_user("manager", username="manager1"), procedure=make_procedure(),
             wards=list(wards), other_courier=make_user("courier", unit=other,
                                                        username="courier9"),
             officer=make_user("agency", unit=agency, username="officer1"))
    db.session.commit()
    return t


def fresh(obj):
    """Re-read an object after a request (each request has its own session)."""
    db.session.expire_all()
    return db.session.get(type(obj), obj.id)


# -- senders for `postal notify-worker` run as a separate process (NOTIFY_SENDER=module:factory)

class FileSender:
    """Appends each message as a line to $POSTAL_TEST_SENT (what a gateway would deliver)."""

    def __init__(self, config):
        import os

        self.path = os.environ["POSTAL_TEST_SENT"]

    def send(self, to, subject, body):
        with open(self.path, "a", encoding="utf-8") as out:
            out.write(f"{to}\t{body}\n")


class HangingSender:
    """Says it has begun ($POSTAL_TEST_MARKER), then never finishes: killed mid-send."""

    def __init__(self, config):
        import os

        self.marker = os.environ["POSTAL_TEST_MARKER"]

    def send(self, to, subject, body):
        import time

        with open(self.marker, "w", encoding="utf-8") as out:
            out.write(to)
        time.sleep(120)

