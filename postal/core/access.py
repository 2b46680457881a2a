"""Who may see what: every user sees only its own unit's subtree (admins see everything)."""

from __future__ import annotations

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import aliased

from postal.core.errors import NotFound
from postal.models import Dossier, OrgUnit, Role, User


def sees_unit(user: User, unit: OrgUnit | None) -> bool:
    if user.role == Role.ADMIN:
        return True
    return unit is not None and unit.path.startswith(user.unit.path)


def scope_dossiers(query: Select, user: User) -> Select:
    """Restrict a query over Dossier to what `user` may see.

    Counter staff, couriers and managers see the dossiers received in their subtree; an agency
    officer sees those its agency (or one below it) decides.
    """
    if user.role == Role.ADMIN:
        return query
    received = aliased(OrgUnit)
    deciding = aliased(OrgUnit)
    prefix = user.unit.path
    query = query.join(received, Dossier.unit_id == received.id).outerjoin(
        deciding, Dossier.agency_id == deciding.id
    )
    if user.role == Role.AGENCY:
        return query.where(deciding.path.startswith(prefix, autoescape=True))
    return query.where(
        or_(
            received.path.startswith(prefix, autoescape=True),
            deciding.path.startswith(prefix, autoescape=True),
        )
    )


def dossier_for(session, user: User, code: str) -> Dossier:
    """The dossier with this code if `user` may see it; otherwise NotFound (never 403, so
    codes of other units cannot be probed)."""
    dossier = session.scalar(scope_dossiers(select(Dossier).where(Dossier.code == code), user))
    if dossier is None:
        raise NotFound(f"no dossier {code!r}")
    return dossier


def scope_units(query: Select, user: User) -> Select:
    if user.role == Role.ADMIN:
        return query
    return query.where(OrgUnit.path.startswith(user.unit.path, autoescape=True))
