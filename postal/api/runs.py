"""API: runs (see shared/interfaces.md)."""

from apiflask import APIBlueprint

bp = APIBlueprint("api_runs", __name__, url_prefix="/api/v1", tag="runs")
