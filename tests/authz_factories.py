"""Two centres with their agencies, one user of each role, and one object of each kind on each
side: the world the authorization matrix (test_authz_matrix.py) asks every route about."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date

from postal.core import accounts
from postal.core.reference import add_unit
from postal.dossiers.lifecycle import State
from postal.extensions import db
from postal.models import (
    DeliveryRun,
    Manifest,
    ManifestStatus,
    OrgUnit,
    Pickup,
    Procedure,
    Role,
    RunStop,
    UnitKind,
    User,
)
from tests.factories import make_dossier

ROLES = tuple(r.value for r in Role)
# sessions are set directly in the tests: no password is ever checked, so no slow hashing
NO_PASSWORD = "!disabled"


@dataclass
class Side:
    """One centre, its agency and the objects that belong to them."""

    centre: OrgUnit
    agency: OrgUnit
    users: dict[str, User] = field(default_factory=dict)
    dossier: str = ""
    token: str = ""  # the dossier's receipt token
    manifest: str = ""
    pickup: str = ""
    run: int = 0
    procedure: str = ""


def _user(role: str, unit: OrgUnit) -> User:
    user = User(username=f"{role}-{uuid.uuid4().hex[:6]}", password_hash=NO_PASSWORD,
                role=Role(role), unit=unit, full_name=role)
    db.session.add(user)
    return user


def _side(province: OrgUnit, tag: str) -> Side:
    centre = add_unit(db.session, code=f"C-{tag}", name=f"Trung tâm {tag}",
                      kind=UnitKind.CENTRE, parent=province, ident_code=f"000.00.{tag}.H26",
                      lat=18.34, lon=105.9)
    agency = add_unit(db.session, code=f"A-{tag}", name=f"Sở {tag}", kind=UnitKind.AGENCY,
                      parent=province)
    side = Side(centre, agency)
    for role in ROLES:
        if role != "admin":
            side.users[role] = _user(role, agency if role == "agency" else centre)
    procedure = Procedure(code=f"P-{tag}", name=f"Thủ tục {tag}", search_key=f"thu tuc {tag}",
                          agency=agency, processing_days=3,
                          documents=[{"id": "d1", "name": "Tờ khai", "required": True}])
    db.session.add(procedure)
    db.session.flush()
    side.procedure = procedure.code
    dossier = make_dossier(centre, procedure, code=f"{centre.dossier_prefix}-250303-0001",
                           state=State.PROCESSING, return_method="home")
    side.dossier, side.token = dossier.code, dossier.token
    manifest = Manifest(code=f"BK-{tag}-250303-0001", from_unit_id=centre.id,
                        to_unit_id=agency.id, status=ManifestStatus.OPEN,
                        created_by_id=side.users["clerk"].id)
    pickup = Pickup(number=f"PU{uuid.uuid4().int % 10**8:08d}0VN", unit_id=centre.id,
                    courier_id=side.users["courier"].id, applicant_name="Trần Thị B",
                    phone="0912345678", street="1 Lê Lợi")
    run = DeliveryRun(unit_id=centre.id, courier_id=side.users["courier"].id,
                      day=date(2025, 3, 10), depot_lat=18.34, depot_lon=105.9)
    run.stops.append(RunStop(dossier_id=dossier.id, position=1, lat=18.35, lon=105.91,
                             geo_source="ward"))
    db.session.add_all([manifest, pickup, run])
    db.session.flush()
    side.manifest, side.pickup, side.run = manifest.code, pickup.number, run.id
    return side


@dataclass
class World:
    mine: Side
    other: Side
    users: dict[str, User]  # one per role, on my side (the admin at the province)
    tokens: dict[str, str]


def build_world(province: OrgUnit) -> World:
    mine, other = _side(province, "11"), _side(province, "22")
    users = dict(mine.users, admin=_user("admin", province))
    db.session.flush()
    tokens = {role: accounts.issue_token(db.session, user, hours=1)[0]
              for role, user in users.items()}
    db.session.commit()
    return World(mine, other, users, tokens)
