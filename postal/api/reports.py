"""API: reports (see shared/interfaces.md)."""

from apiflask import APIBlueprint

bp = APIBlueprint("api_reports", __name__, url_prefix="/api/v1", tag="reports")
