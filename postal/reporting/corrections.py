"""The corrections a report period carries: each column a correction changed, as one line."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from postal.dossiers.corrections import KIND
from postal.models import Dossier, Event, OrgUnit
from postal.reporting.metrics import in_units, period_bounds, subtree_ids


@dataclass(frozen=True)
class Line:
    """One column changed by one correction, as reports list it."""

    at: datetime
    code: str
    field: str
    old: str | None
    new: str | None
    reason: str
    author: str


def _lines(event: Event, code: str) -> list[Line]:
    data = event.data or {}
    author = event.user.full_name if event.user is not None else ""
    return [Line(event.at, code, name, change.get("old"), change.get("new"),
                 data.get("reason") or event.note or "", author)
            for name, change in (data.get("changes") or {}).items()]


def recorded_in(session: Session, unit: OrgUnit | None, date_from: date, date_to: date,
                *, limit: int = 500) -> list[Line]:
    """Corrections recorded in the local days date_from..date_to to dossiers of `unit`'s
    subtree (every unit when None), newest first, one line per changed column."""
    start, end = period_bounds(date_from, date_to)
    rows = session.execute(
        select(Event, Dossier.code).join(Dossier, Dossier.id == Event.dossier_id)
        .options(joinedload(Event.user))
        .where(Event.kind == KIND, Event.at >= start, Event.at < end,
               in_units(subtree_ids(session, unit)))
        .order_by(Event.at.desc(), Event.id.desc()).limit(limit))
    return [line for event, code in rows for line in _lines(event, code)]
