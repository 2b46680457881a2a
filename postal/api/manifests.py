"""API: manifests (see shared/interfaces.md)."""

from apiflask import APIBlueprint

bp = APIBlueprint("api_manifests", __name__, url_prefix="/api/v1", tag="manifests")
