"""The district office: dashboard, the dossiers behind each figure, reports, import and export."""

from postal.web.office import dashboard, documents, lists, uploads  # noqa: F401 - routes
from postal.web.office.common import bp

__all__ = ["bp"]
