"""API: scans (see shared/interfaces.md)."""

from apiflask import APIBlueprint

bp = APIBlueprint("api_scans", __name__, url_prefix="/api/v1", tag="scans")
