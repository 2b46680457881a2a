"""API: the org-unit tree."""

from apiflask import APIBlueprint
from sqlalchemy import select
from sqlalchemy.orm import aliased

from postal.api.schemas import UnitOut, UnitQuery
from postal.core.text import fold
from postal.extensions import db
from postal.http.security import roles_required
from postal.models import OrgUnit, Role

bp = APIBlueprint("api_units", __name__, url_prefix="/api/v1", tag="units")


@bp.get("/units")
@bp.input(UnitQuery, location="query", arg_name="query")
@bp.output(UnitOut(many=True))
@bp.doc(responses=[401, 422])
@roles_required(*Role)
def list_units(query):
    """Org units (provinces, communes, centres, agencies, post offices), filterable."""
    parent = aliased(OrgUnit)
    stmt = select(OrgUnit, parent.code).outerjoin(parent, OrgUnit.parent_id == parent.id)
    if query["kind"]:
        stmt = stmt.where(OrgUnit.kind == query["kind"])
    if query["parent"]:
        stmt = stmt.where(parent.code == query["parent"])
    if query["q"]:
        stmt = stmt.where(OrgUnit.name_key.contains(fold(query["q"]), autoescape=True))
    rows = db.session.execute(stmt.order_by(OrgUnit.path).limit(query["limit"]))
    return [
        {"code": u.code, "name": u.name, "kind": u.kind.value, "parent_code": parent_code,
         "lat": u.lat, "lon": u.lon}
        for u, parent_code in rows
    ]
