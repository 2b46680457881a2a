"""Chain of custody: items, manifests, scans and the legs built from them (issue 4).

Modules: scans (recording field events), judging (what a scan may do, before anything is
written), legs (custody as a fold over scans), progress (how scans move a dossier), writer (the
fold's results as rows of the session), lookup (what a batch needs from the database, and its
locks), manifests and manifest_lines, pickups, door (reasons and relations at the door),
control_sheet (the process control sheet), alerts (overdue transit).
"""

from postal.custody.alerts import TransitAlert, overdue_transit
from postal.custody.scans import Scan, ScanResult, record_batch, record_scan

__all__ = ["Scan", "ScanResult", "TransitAlert", "overdue_transit", "record_batch", "record_scan"]
