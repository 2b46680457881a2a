"""Demo data: a real province, its centres and agencies, staff, a catalogue and a history."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from postal.models import OrgUnit, Role, User

PROVINCE = "42"  # Hà Tĩnh


def seed_demo(session: Session, *, dossiers: int = 2000, seed: int = 1, progress=None,
              now: datetime | None = None, settings: Mapping | None = None) -> str:
    """Fill the database with the demo world and `dossiers` dossiers; returns a summary line.

    `now` (default: the current time) ends the year of history; `settings` (the app config)
    supplies OFFICE_HOURS for the working calendar. Flushes, never commits.
    """
    from postal.demo.seed import seed as run

    return run(session, dossiers=dossiers, seed_value=seed, progress=progress, now=now,
               settings=settings)


def demo_logins(session: Session) -> list[tuple[str, str, str]]:
    rows = session.execute(
        select(User.username, User.role, OrgUnit.name).join(OrgUnit, User.unit_id == OrgUnit.id)
        .order_by(User.role, User.username)
    ).all()
    return [(u, r.value if isinstance(r, Role) else r, n) for u, r, n in rows]
