"""Demo data: a real province, its centres and agencies, staff, a catalogue and a history."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from postal.models import OrgUnit, Role, User

PROVINCE = "42"  # Hà Tĩnh


def seed_demo(session: Session, *, dossiers: int = 2000, seed: int = 1, progress=None) -> str:
    from postal.demo.seed import seed

    return seed(session, dossiers=dossiers, seed_value=seed, progress=progress)


def demo_logins(session: Session) -> list[tuple[str, str, str]]:
    rows = session.execute(
        select(User.username, User.role, OrgUnit.name).join(OrgUnit, User.unit_id == OrgUnit.id)
        .order_by(User.role, User.username)
    ).all()
    return [(u, r.value if isinstance(r, Role) else r, n) for u, r, n in rows]
