"""A manifest's lines as items are checked in, and the manifest's status that follows them.

Scans confirm lines (scans.py) and manifests are built and closed (manifests.py) with these.
"""

from __future__ import annotations

from datetime import datetime

from postal.models import LineStatus, Manifest, ManifestLine, ManifestStatus

CLOSED = (ManifestStatus.RECEIVED, ManifestStatus.DISCREPANCY)


def refresh_status(manifest: Manifest, *, picked_up: bool = False) -> None:
    """The manifest's status from its lines: in transit once taken, received when every line
    is confirmed, a discrepancy once checked with missing or extra items."""
    lines = manifest.lines
    if manifest.status in CLOSED or any(ln.status == LineStatus.MISSING for ln in lines):
        bad = any(ln.status in (LineStatus.MISSING, LineStatus.EXTRA) for ln in lines)
        manifest.status = ManifestStatus.DISCREPANCY if bad else ManifestStatus.RECEIVED
    elif lines and all(ln.status == LineStatus.CONFIRMED for ln in lines):
        manifest.status = ManifestStatus.RECEIVED
    elif picked_up and manifest.status == ManifestStatus.OPEN:
        manifest.status = ManifestStatus.IN_TRANSIT


def confirm_line(line: ManifestLine, at: datetime) -> None:
    """The receiving unit has the item in hand (also after it was first reported missing)."""
    if line.status in (LineStatus.LISTED, LineStatus.MISSING):
        line.status, line.confirmed_at = LineStatus.CONFIRMED, at
        refresh_status(line.manifest)
