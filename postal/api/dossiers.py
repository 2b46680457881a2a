"""API: dossiers (intake, details, receipts)."""

from apiflask import APIBlueprint

bp = APIBlueprint("api_dossiers", __name__, url_prefix="/api/v1", tag="dossiers")
