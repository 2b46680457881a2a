"""The procedure catalogue: search and upkeep."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from postal.core.text import clean, fold
from postal.models import OrgUnit, Procedure


def search_key(code: str, name: str, field: str) -> str:
    return f"{fold(code)} {fold(name)} {fold(field)}"


def search_procedures(session: Session, q: str | None, *, limit: int = 50) -> list[Procedure]:
    """Procedures whose code, name or field hold every word of `q`, accents ignored."""
    stmt = select(Procedure).options(joinedload(Procedure.agency)).where(Procedure.active)
    words = fold(q).split() if q else []
    for word in words:
        stmt = stmt.where(Procedure.search_key.contains(word, autoescape=True))
    if words:
        exact = clean(q)
        stmt = stmt.order_by((Procedure.code == exact).desc(), Procedure.name)
    else:
        stmt = stmt.order_by(Procedure.name)
    return list(session.scalars(stmt.limit(limit)))


def procedure_by_code(session: Session, code: str) -> Procedure | None:
    return session.scalar(select(Procedure).where(Procedure.code == clean(code)))


def procedure_dict(p: Procedure) -> dict:
    return {
        "code": p.code, "name": p.name, "field": p.field,
        "agency_code": p.agency.code if p.agency else None,
        "processing_days": p.processing_days, "processing_hours": p.processing_hours,
        "same_day": p.same_day, "fee": p.fee, "documents": p.documents,
        "home_return": p.home_return,
    }


def upsert_procedure(
    session: Session, *, code: str, name: str, field: str = "", agency: OrgUnit | None = None,
    processing_days: int = 0, processing_hours: int | None = None, same_day: bool = False,
    fee: int = 0, documents: list | None = None, home_return: bool = True,
) -> Procedure:
    code, name, field = clean(code), clean(name), clean(field)
    proc = procedure_by_code(session, code) or Procedure(code=code)
    proc.name, proc.field, proc.agency = name, field, agency
    proc.processing_days, proc.processing_hours = processing_days, processing_hours
    proc.same_day, proc.fee, proc.home_return = same_day, fee, home_return
    proc.documents = [
        {"id": str(d.get("id") or f"d{i + 1}"), "name": clean(d["name"]),
         "required": bool(d.get("required", True))}
        for i, d in enumerate(documents or [])
    ]
    proc.search_key = search_key(code, name, field)
    session.add(proc)
    session.flush()
    return proc


