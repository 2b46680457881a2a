"""Helpers of the custody tests: fixed times, scans, and accepted dossiers made directly with
the models (independent of the intake code)."""

from __future__ import annotations

import itertools
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from conftest import IsolatedClient

from postal.core.codes import format_dossier_code, make_s10
from postal.core.time import TZ
from postal.custody import Scan
from postal.dossiers.lifecycle import State
from postal.extensions import db
from postal.models import (
    Applicant,
    Channel,
    Dossier,
    Event,
    Item,
    ItemKind,
    ReturnMethod,
)

# Thursday 10 July 2025, 10:00 in Hà Tĩnh: every scan of the tests happens before this
NOW = datetime(2025, 7, 10, 3, 0, tzinfo=UTC)
RECEIVED = datetime(2025, 7, 7, 1, 0, tzinfo=UTC)  # Monday 08:00 local
DUE = datetime(2025, 7, 10, 10, 0, tzinfo=UTC)  # Thursday 17:00 local
_serial = itertools.count(60_000_001)
_seq = itertools.count(1)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A local moment in July 2025, as UTC."""
    return datetime(2025, 7, day, hour, minute, tzinfo=TZ).astimezone(UTC)


def scan(barcode: str, event: str, when: datetime, **kw) -> Scan:
    return Scan(id=kw.pop("id", None) or str(uuid.uuid4()), barcode=barcode, event=event,
                at=when, **kw)


@dataclass
class World:
    centre: object
    agency: object
    other_centre: object
    clerk: object
    courier: object
    courier2: object
    officer: object
    manager: object
    other_courier: object
    procedure: object

    def dossier(self, *, unit=None, state=State.ACCEPTED, received_at=RECEIVED, due_at=DUE,
                return_method=ReturnMethod.COUNTER, channel=Channel.COUNTER) -> Dossier:
        """An accepted dossier with its folder at the receiving unit, as intake leaves it."""
        unit = unit or self.centre
        applicant = Applicant(full_name="Nguyễn Thị Hồng Nhung", phone="0912345678",
                              street="12 Nguyễn Du", search_key="nguyen thi hong nhung")
        code = format_dossier_code(unit.dossier_prefix, received_at.astimezone(TZ).date(),
                                   next(_seq))
        dossier = Dossier(
            code=code, token=secrets.token_urlsafe(16), unit=unit, agency_id=self.agency.id,
            procedure=self.procedure, applicant=applicant, clerk=self.clerk, state=state,
            channel=channel, return_method=return_method, created_at=received_at,
            received_at=received_at, due_at=due_at,
        )
        folder = Item(number=make_s10("RH", next(_serial)), dossier=dossier,
                      kind=ItemKind.FOLDER, created_at=received_at, holder_unit=unit,
                      held_since=received_at)
        db.session.add_all([dossier, folder])
        db.session.flush()
        db.session.add(Event(kind="accepted", dossier_id=dossier.id, item=folder, at=received_at,
                             recorded_at=received_at, user=self.clerk, unit=unit,
                             data={"code": code}))
        db.session.flush()
        return dossier

    def at_agency(self, dossier: Dossier, when: datetime | None = None) -> Dossier:
        """The dossier's folder handed to its agency, the officer scanning it in (what the
        transfer does before any decision): a real handover scan."""
        from postal.custody import record_batch

        when = when or dossier.received_at + timedelta(hours=1)
        [done] = record_batch(db.session, self.officer,
                              [scan(self.folder(dossier).number, "handover", when)], NOW)
        assert done.status == "accepted", done
        return dossier

    @staticmethod
    def folder(dossier: Dossier) -> Item:
        return next(i for i in dossier.items if i.kind == ItemKind.FOLDER)

    @staticmethod
    def result(dossier: Dossier) -> Item:
        return next(i for i in dossier.items if i.kind == ItemKind.RESULT)


class CommittingClient(IsolatedClient):
    """Ends the test's own transaction before each request: on SQLite every transaction takes
    the write lock at BEGIN, so a lazy load in the test would hold it while the request waits."""

    def open(self, *args, **kwargs):
        db.session.commit()
        return super().open(*args, **kwargs)


def committing_client(app):
    """For a test module's own `client` fixture (a module's fixture beats conftest's)."""
    app.test_client_class = CommittingClient
    return app.test_client()


def later(when: datetime, **delta) -> datetime:
    return when + timedelta(**delta)
