"""The persistent model, one entity a module; importing this package registers every table."""

from postal.models.applicant import Applicant
from postal.models.audit import AuditEntry
from postal.models.base import Base, UTCDateTime, utcnow
from postal.models.calendar import CalendarOverride, OverrideKind
from postal.models.dossier import Channel, Dossier, ReturnMethod, Timeliness
from postal.models.event import Event
from postal.models.item import Item, ItemKind
from postal.models.leg import Leg
from postal.models.manifest import LineStatus, Manifest, ManifestLine, ManifestStatus
from postal.models.procedure import Procedure
from postal.models.report_closure import ReportClosure
from postal.models.sequence import DailySequence
from postal.models.serial import SerialCounter
from postal.models.unit import OrgUnit, UnitKind
from postal.models.user import ApiToken, Role, User

__all__ = [
    "ApiToken", "Applicant", "AuditEntry", "Base", "CalendarOverride", "Channel",
    "DailySequence", "Dossier", "Event", "Item", "ItemKind", "Leg", "LineStatus", "Manifest",
    "ManifestLine", "ManifestStatus", "OrgUnit", "OverrideKind", "Procedure", "ReportClosure",
    "ReturnMethod", "Role", "SerialCounter", "Timeliness", "UnitKind", "User", "UTCDateTime",
    "utcnow",
]
