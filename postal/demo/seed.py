"""Seeding the demo (placeholder until the full generator lands)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from postal.domain import accounts
from postal.domain.catalogue import upsert_procedure
from postal.domain.reference import add_unit, load_reference_units
from postal.models import OrgUnit, UnitKind

PASSWORD = "postal-demo"


def seed(session: Session, *, dossiers: int, seed_value: int, progress=None) -> str:
    load_reference_units(session)
    province = session.scalar(select(OrgUnit).where(OrgUnit.code == "42"))
    commune = session.scalar(select(OrgUnit).where(OrgUnit.code == "18304"))
    centre = add_unit(session, code="TTHCC-42", name="Trung tâm Phục vụ hành chính công tỉnh Hà Tĩnh",
                      kind=UnitKind.CENTRE, parent=province, ident_code="000.00.42.H26",
                      lat=18.3428, lon=105.9057)
    agency = add_unit(session, code="STP-42", name="Sở Tư pháp tỉnh Hà Tĩnh", kind=UnitKind.AGENCY,
                      parent=province)
    upsert_procedure(session, code="2.000635", name="Cấp bản sao trích lục hộ tịch",
                     field="Hộ tịch", agency=agency, processing_days=0, same_day=True, fee=8000,
                     documents=[{"name": "Tờ khai theo mẫu", "required": True}])
    for username, role, unit in [("clerk", "clerk", centre), ("courier", "courier", centre),
                                 ("agency", "agency", agency), ("manager", "manager", province),
                                 ("admin", "admin", province)]:
        accounts.create_user(session, username, PASSWORD, role, unit)
    _ = commune
    return "demo seeded"
