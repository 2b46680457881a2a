"""API: the procedure catalogue."""

from apiflask import APIBlueprint

from postal.api.schemas import ProcedureOut, ProcedureQuery
from postal.dossiers.catalogue import procedure_dict, search_procedures
from postal.extensions import db
from postal.http.security import roles_required
from postal.models import Role

bp = APIBlueprint("api_procedures", __name__, url_prefix="/api/v1", tag="procedures")


@bp.get("/procedures")
@bp.input(ProcedureQuery, location="query", arg_name="query")
@bp.output(ProcedureOut(many=True))
@bp.doc(responses=[401, 422])
@roles_required(*Role)
def list_procedures(query):
    """Search the catalogue by code or words, accent-insensitively."""
    found = search_procedures(db.session, query["q"], limit=query["limit"])
    return [procedure_dict(p) for p in found]
