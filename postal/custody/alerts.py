"""Items in transit too long: open legs older than the configured limit (TRANSIT_ALERT_HOURS)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, aliased, joinedload

from postal.models import Dossier, Item, Leg, OrgUnit


@dataclass(frozen=True)
class TransitAlert:
    leg: Leg
    item: Item
    dossier: Dossier
    hours: float  # in transit so far


def overdue_transit(session: Session, unit: OrgUnit, now: datetime, *, hours: float = 24
                    ) -> list[TransitAlert]:
    """Open legs started more than `hours` ago, of dossiers received or decided in `unit`'s
    subtree or leaving from it; the longest first."""
    received, deciding, origin = aliased(OrgUnit), aliased(OrgUnit), aliased(OrgUnit)
    prefix = unit.path
    stmt = (
        select(Leg).join(Item, Leg.item_id == Item.id).join(Dossier, Item.dossier_id == Dossier.id)
        .join(received, Dossier.unit_id == received.id)
        .outerjoin(deciding, Dossier.agency_id == deciding.id)
        .outerjoin(origin, Leg.from_unit_id == origin.id)
        .where(Leg.ended_at.is_(None), Leg.started_at < now - timedelta(hours=hours))
        .where(or_(received.path.startswith(prefix, autoescape=True),
                   deciding.path.startswith(prefix, autoescape=True),
                   origin.path.startswith(prefix, autoescape=True)))
        .options(joinedload(Leg.item).joinedload(Item.dossier), joinedload(Leg.custodian),
                 joinedload(Leg.from_unit))
        .order_by(Leg.started_at).limit(500)
    )
    return [TransitAlert(leg, leg.item, leg.item.dossier,
                         (now - leg.started_at).total_seconds() / 3600)
            for leg in session.scalars(stmt)]
