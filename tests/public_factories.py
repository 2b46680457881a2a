"""Dossiers for the public, hardening and correction tests, inserted straight through the models."""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime

from postal.core.time import TZ
from postal.deadlines.calendar import timeliness
from postal.dossiers.lifecycle import State
from postal.extensions import db
from postal.models import Applicant, Dossier, Event, Item, ItemKind


def local(month, day, hour=9, minute=0, year=2025):
    return datetime(year, month, day, hour, minute, tzinfo=TZ)


def make_dossier(unit, procedure, *, code=None, state=State.PROCESSING, phone="0905123456",
                 name="Nguyễn Văn An", street="12 Trần Phú", return_method="counter",
                 received=None, due=None, resolved=None, returned=None, appointment=None,
                 attempts=0, with_items=True):
    """One accepted dossier of `unit` (code, token, applicant, its folder item)."""
    received = received or local(3, 3, 8)
    due = due or local(3, 6, 17)
    code = code or f"{unit.dossier_prefix}-250303-{uuid.uuid4().int % 10_000:04d}"
    applicant = Applicant(full_name=name, phone=phone, street=street, search_key=name.lower())
    dossier = Dossier(
        code=code, token=secrets.token_urlsafe(16), unit_id=unit.id, procedure_id=procedure.id,
        agency_id=procedure.agency_id, applicant=applicant, state=state, channel="counter",
        return_method=return_method, delivery_street=street if return_method == "home" else None,
        received_at=received, due_at=due, appointment_at=appointment, resolved_at=resolved,
        timeliness=timeliness(resolved, due) if resolved else None, returned_at=returned,
        returned_via=return_method if returned else None, delivery_attempts=attempts,
        documents=[], missing_documents=[],
    )
    db.session.add(dossier)
    db.session.flush()
    if with_items:
        db.session.add(Item(number=f"RR{uuid.uuid4().int % 10**8:08d}0VN", dossier=dossier,
                            kind=ItemKind.FOLDER, created_at=received, holder_unit_id=unit.id,
                            held_since=received))
    db.session.add(Event(kind="accepted", dossier_id=dossier.id, at=received,
                         recorded_at=received, unit_id=unit.id,
                         data={"from": "new", "to": "accepted"}))
    db.session.commit()
    return dossier
