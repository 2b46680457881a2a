"""The persistent model, one entity a module; importing this package registers every table."""

from postal.models.applicant import Applicant
from postal.models.attempt import CodHandover, DeliveryAttempt, Outcome
from postal.models.audit import AuditEntry
from postal.models.base import Base, UTCDateTime, utcnow
from postal.models.calendar import CalendarOverride, OverrideKind
from postal.models.device import DeviceClock
from postal.models.dossier import Channel, Dossier, ReturnMethod, Timeliness
from postal.models.event import Event
from postal.models.geocache import GeocodeEntry
from postal.models.import_batch import ImportBatch
from postal.models.item import Item, ItemKind
from postal.models.job import Job, JobState
from postal.models.leg import Leg
from postal.models.link import DeliveryStatus, LinkDelivery, LinkEvent, WebhookSubscriber
from postal.models.manifest import LineStatus, Manifest, ManifestLine, ManifestStatus
from postal.models.notification import Notification, NotificationStatus
from postal.models.pickup import OPEN_PICKUP_STATES, Pickup, PickupStatus
from postal.models.procedure import Procedure
from postal.models.report_closure import ReportClosure
from postal.models.run import OPEN_RUN_STATES, DeliveryRun, RunStatus, RunStop, StopStatus
from postal.models.sequence import DailySequence
from postal.models.serial import SerialCounter
from postal.models.sso import SsoIdentity, SsoRule
from postal.models.state import State
from postal.models.unit import OrgUnit, UnitKind
from postal.models.upload import PhotoUpload, PhotoUploadPart
from postal.models.user import ApiToken, LoginSession, Role, User

__all__ = [
    "CodHandover", "DeliveryAttempt", "DeliveryRun", "GeocodeEntry", "Notification",
    "NotificationStatus", "OPEN_RUN_STATES", "Outcome", "RunStatus", "RunStop", "StopStatus",
    "ApiToken", "Applicant", "AuditEntry", "Base", "CalendarOverride", "Channel", "DailySequence",
    "Dossier", "Event", "ImportBatch", "Item", "ItemKind", "Leg", "LineStatus", "LoginSession",
    "Manifest", "ManifestLine",
    "ManifestStatus", "OPEN_PICKUP_STATES", "OrgUnit", "OverrideKind", "Pickup", "PickupStatus",
    "Procedure", "ReportClosure", "ReturnMethod", "Role", "SerialCounter", "State",
    "Timeliness", "UTCDateTime", "UnitKind", "User", "utcnow",
    "DeviceClock", "PhotoUpload", "PhotoUploadPart",
    "Job", "JobState",
    "SsoIdentity", "SsoRule",
    "DeliveryStatus", "LinkDelivery", "LinkEvent", "WebhookSubscriber",
]
