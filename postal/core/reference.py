"""Reference data: every province and commune/ward of the `vietnam-provinces` package.

Codes are the official ones, zero-padded as the General Statistics Office writes them
(provinces two digits, communes five: Hà Tĩnh is 42, Xã Đức Đồng 18304, Phường Ba Đình 00004).
"""

from __future__ import annotations

from sqlalchemy import insert, select
from sqlalchemy.orm import Session
from vietnam_provinces import Province, Ward

from postal.core.text import fold
from postal.models import OrgUnit, UnitKind


def province_code(code: int) -> str:
    return f"{int(code):02d}"


def ward_code(code: int) -> str:
    return f"{int(code):05d}"


def normalise_admin_code(code: str) -> list[str]:
    """Candidate stored codes for a code as people type it ('4' may mean ward '00004')."""
    code = code.strip()
    if not code.isdigit():
        return [code]
    return list(dict.fromkeys([code, f"{int(code):02d}", f"{int(code):05d}"]))


def load_reference_units(session: Session) -> int:
    """Insert the provinces and communes that are missing; returns how many were added."""
    existing = set(session.scalars(select(OrgUnit.code)))
    added = 0
    provinces = {}
    for p in Province.iter_all():
        code = province_code(p.code)
        provinces[int(p.code)] = code
        if code not in existing:
            session.execute(insert(OrgUnit), [{
                "code": code, "name": p.name, "name_key": fold(p.name),
                "kind": UnitKind.PROVINCE, "path": f"/{code}/",
            }])
            added += 1
    ids = dict(session.execute(select(OrgUnit.code, OrgUnit.id).where(
        OrgUnit.kind == UnitKind.PROVINCE)).all())
    rows = []
    for w in Ward.iter_all():
        code = ward_code(w.code)
        if code in existing:
            continue
        parent = provinces[int(w.province_code)]
        rows.append({
            "code": code, "name": w.name, "name_key": fold(w.name), "kind": UnitKind.COMMUNE,
            "parent_id": ids[parent], "path": f"/{parent}/{code}/",
        })
    if rows:
        session.execute(insert(OrgUnit), rows)
        added += len(rows)
    session.flush()
    return added


def add_unit(
    session: Session, *, code: str, name: str, kind: UnitKind, parent: OrgUnit | None,
    ident_code: str | None = None, lat: float | None = None, lon: float | None = None,
    address: str | None = None,
) -> OrgUnit:
    """A centre, agency or post office under `parent` (codes must not contain '/')."""
    from postal.core.errors import Conflict, ValidationFailed
    from postal.core.text import clean

    code = clean(code)
    if not code or "/" in code:
        raise ValidationFailed("unit code must be non-empty and contain no '/'", field="code")
    if session.scalar(select(OrgUnit.id).where(OrgUnit.code == code)):
        raise Conflict(f"unit {code!r} already exists", field="code")
    name = clean(name)
    unit = OrgUnit(
        code=code, name=name, name_key=fold(name), kind=kind, parent=parent,
        path=f"{parent.path if parent else '/'}{code}/", ident_code=ident_code,
        lat=lat, lon=lon, address=address,
    )
    session.add(unit)
    session.flush()
    return unit
