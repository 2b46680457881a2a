"""API: public (see shared/interfaces.md)."""

from apiflask import APIBlueprint

bp = APIBlueprint("api_public", __name__, url_prefix="/api/v1", tag="public")
