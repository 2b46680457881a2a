"""Chain of custody: items, manifests, scans and the legs built from them (issue 4).

Modules: scans (recording field events), judging (what a scan may do, before anything is
written), legs (custody as a fold over scans), progress (how scans move a dossier), writer (a
batch in a few statements), lookup (what a batch needs from the database), manifests, timeline
(the process control sheet), alerts (overdue transit).
"""

from postal.custody.alerts import TransitAlert, overdue_transit
from postal.custody.scans import Scan, ScanResult, record_batch, record_scan

__all__ = ["Scan", "ScanResult", "TransitAlert", "overdue_transit", "record_batch", "record_scan"]
