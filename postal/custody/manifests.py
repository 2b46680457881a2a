"""Handover manifests (bảng kê bàn giao): built per destination, carried in one scan, checked
item by item on arrival; missing and extra items stay flagged on the manifest for both sides."""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, joinedload, selectinload

from postal.core import audit
from postal.core.access import sees_unit
from postal.core.codes import format_manifest_code
from postal.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from postal.core.sequences import next_value
from postal.core.time import TZ
from postal.custody.lookup import normalise
from postal.custody.manifest_lines import CLOSED, confirm_line, refresh_status
from postal.custody.progress import within
from postal.custody.scans import Scan, record_scan
from postal.dossiers.lifecycle import State
from postal.models import (
    Dossier,
    Event,
    Item,
    ItemKind,
    LineStatus,
    Manifest,
    ManifestLine,
    ManifestStatus,
    OrgUnit,
    Role,
    User,
)

MANIFEST_SCOPE = "manifest"
MAX_LINES = 500
ACTIVE = (ManifestStatus.OPEN, ManifestStatus.IN_TRANSIT)
# dossier states in which each kind of item still has somewhere to go
_MOVING = {
    ItemKind.FOLDER: (State.ACCEPTED, State.PROCESSING, State.WAITING_SUPPLEMENT),
    ItemKind.RESULT: (State.RESULT_READY, State.AWAITING_RETURN),
}


def destination(item: Item) -> OrgUnit | None:
    """Where an item is meant to go next: the folder to the agency, the result to the centre."""
    return item.dossier.agency if item.kind == ItemKind.FOLDER else item.dossier.unit


def code_prefix(unit: OrgUnit) -> str:
    """The unit's identifier code as manifest codes can carry it (dot-separated letters and
    digits): agencies without an identifier code use their own code, '-' read as '.'."""
    for candidate in (unit.dossier_prefix, re.sub(r"[^0-9A-Za-z]+", ".", unit.code).strip(".")):
        try:
            format_manifest_code(candidate, date(2000, 1, 1), 1)
        except ValueError:
            continue
        return candidate
    raise Conflict(f"mã đơn vị {unit.code!r} không dùng được trong mã bảng kê", field="unit")


def manifest_by_code(session: Session, user: User, code: str) -> Manifest:
    """The manifest if `user` is on either end of it; otherwise NotFound."""
    manifest = session.scalar(select(Manifest).where(Manifest.code == (code or "").strip()))
    if manifest is None or not (sees_unit(user, manifest.from_unit)
                                or sees_unit(user, manifest.to_unit)):
        raise NotFound(f"no manifest {code!r}")
    return manifest


def _active_lines(session: Session, item_ids: list[int]) -> dict[int, Manifest]:
    stmt = (select(ManifestLine).join(Manifest).options(joinedload(ManifestLine.manifest))
            .where(ManifestLine.item_id.in_(item_ids), Manifest.status.in_(ACTIVE),
                   ManifestLine.status == LineStatus.LISTED))
    return {line.item_id: line.manifest for line in session.scalars(stmt)}


def _resolve(session: Session, user: User, barcode: str) -> Item:
    text, kind = normalise(barcode)
    item = None
    if kind == "s10":
        item = session.scalar(select(Item).where(Item.number == text))
    elif kind == "dossier":
        dossier = session.scalar(select(Dossier).where(Dossier.code == text))
        held = [i for i in (dossier.items if dossier else [])
                if i.holder_unit is not None and sees_unit(user, i.holder_unit)]
        item = next((i for i in held if i.kind == ItemKind.RESULT), held[0] if held else None)
    if item is None or not sees_unit(user, item.holder_unit):
        raise ValidationFailed(f"{barcode!r}: không có bưu gửi này tại đơn vị", field="barcodes")
    return item


def build_manifest(session: Session, user: User, *, to_unit_code: str, barcodes: list[str],
                   now: datetime) -> Manifest:
    """A manifest from the user's unit to `to_unit_code` listing the items scanned or picked."""
    to_unit = session.scalar(select(OrgUnit).where(OrgUnit.code == (to_unit_code or "").strip()))
    if to_unit is None:
        raise ValidationFailed(f"không có đơn vị mã {to_unit_code!r}", field="to_unit")
    from_unit = user.unit
    if within(to_unit, from_unit) and within(from_unit, to_unit):
        raise ValidationFailed("đơn vị nhận phải khác đơn vị giao", field="to_unit")
    wanted = list(dict.fromkeys(b.strip() for b in barcodes or [] if b and b.strip()))
    if not wanted:
        raise ValidationFailed("quét hoặc chọn ít nhất một bưu gửi", field="barcodes")
    if len(wanted) > MAX_LINES:
        raise ValidationFailed(f"tối đa {MAX_LINES} bưu gửi một bảng kê", field="barcodes")
    items = list({i.id: i for i in (_resolve(session, user, b) for b in wanted)}.values())
    taken = _active_lines(session, [i.id for i in items])
    for item in items:
        if item.id in taken:
            raise ValidationFailed(f"{item.number} đã có trong bảng kê {taken[item.id].code}",
                                   field="barcodes")
        goes_to = destination(item)
        if goes_to is not None and not within(goes_to, to_unit):
            raise ValidationFailed(f"{item.number} (hồ sơ {item.dossier.code}) chuyển đến "
                                   f"{goes_to.name}, không phải {to_unit.name}", field="barcodes")
    day = now.astimezone(TZ).date()
    prefix = code_prefix(from_unit)
    code = format_manifest_code(prefix, day, next_value(session, from_unit, MANIFEST_SCOPE, day))
    manifest = Manifest(code=code, from_unit=from_unit, to_unit=to_unit, created_by=user,
                        created_at=now, status=ManifestStatus.OPEN)
    manifest.lines = [ManifestLine(item=item) for item in items]
    session.add(manifest)
    session.flush()
    audit.record(session, user, "manifest_create", "manifest", code, to_unit=to_unit.code,
                 items=[i.number for i in items])
    return manifest


def _check_receiver(user: User, manifest: Manifest) -> None:
    staff = user.role in (Role.AGENCY, Role.CLERK, Role.ADMIN)
    if not staff or not sees_unit(user, manifest.to_unit):
        raise Forbidden(f"chỉ đơn vị nhận ({manifest.to_unit.name}) kiểm nhận bảng kê này")


def receive_items(session: Session, user: User, manifest: Manifest, barcodes: list[str],
                  now: datetime) -> list[dict]:
    """The receiving unit checks items against the manifest, one scan each; an item that is
    not listed is recorded as extra. One answer per barcode."""
    _check_receiver(user, manifest)
    answers = []
    for barcode in [b.strip() for b in barcodes or [] if b and b.strip()][:MAX_LINES]:
        text, _ = normalise(barcode)
        line = next((ln for ln in manifest.lines
                     if text in (ln.item.number, ln.item.dossier.code)), None)
        if line is not None and line.status in (LineStatus.CONFIRMED, LineStatus.EXTRA):
            answers.append({"barcode": barcode, "status": "already", "item": line.item.number})
            continue
        result = record_scan(session, user, Scan(
            id=str(uuid.uuid4()), barcode=line.item.number if line else text, event="handover",
            at=now, unit_code=manifest.to_unit.code), now)
        if result.status != "accepted":
            answers.append({"barcode": barcode, "status": "rejected", "message": result.message})
            continue
        item = result.events[0].item
        if line is None:
            line = ManifestLine(manifest=manifest, item=item, status=LineStatus.EXTRA,
                                confirmed_at=now)
            session.add(line)
            refresh_status(manifest)
            answers.append({"barcode": barcode, "status": "extra", "item": item.number})
        else:
            confirm_line(line, now)  # already done by the scan when it was listed
            answers.append({"barcode": barcode, "status": "confirmed", "item": item.number})
    session.flush()
    return answers


def close_manifest(session: Session, user: User, manifest: Manifest, now: datetime) -> Manifest:
    """The check is over: what was listed but not found is missing."""
    _check_receiver(user, manifest)
    if manifest.status in CLOSED:
        raise Conflict(f"bảng kê {manifest.code} đã kiểm nhận xong")
    for line in manifest.lines:
        if line.status == LineStatus.LISTED:
            line.status = LineStatus.MISSING
            session.add(Event(kind="missing", dossier_id=line.item.dossier_id, item=line.item,
                              manifest_id=manifest.id, at=now, recorded_at=now, user_id=user.id,
                              unit_id=manifest.to_unit_id, data={"manifest": manifest.code}))
    manifest.status = ManifestStatus.RECEIVED
    refresh_status(manifest)
    session.flush()
    audit.record(session, user, "manifest_close", "manifest", manifest.code,
                 status=manifest.status.value, missing=count(manifest, LineStatus.MISSING),
                 extra=count(manifest, LineStatus.EXTRA))
    return manifest


def count(manifest: Manifest, status: LineStatus) -> int:
    return sum(1 for ln in manifest.lines if ln.status == status)


def manifests_for(session: Session, user: User, *, direction: str | None = None,
                  limit: int = 100) -> list[Manifest]:
    """Manifests leaving (`out`) or reaching (`in`) the user's unit, newest first."""
    mine = user.unit.path
    from_here = Manifest.from_unit.has(OrgUnit.path.startswith(mine, autoescape=True))
    to_here = Manifest.to_unit.has(OrgUnit.path.startswith(mine, autoescape=True))
    stmt = select(Manifest).options(selectinload(Manifest.lines), joinedload(Manifest.from_unit),
                                    joinedload(Manifest.to_unit))
    if user.role != Role.ADMIN or direction:
        where = {"out": from_here, "in": to_here}.get(direction or "", or_(from_here, to_here))
        stmt = stmt.where(where)
    return list(session.scalars(stmt.order_by(Manifest.created_at.desc(), Manifest.id.desc())
                                .limit(limit)))


def items_waiting(session: Session, unit: OrgUnit) -> list[Item]:
    """Items held at `unit` that are meant to go elsewhere and are on no active manifest."""
    items = list(session.scalars(
        select(Item).where(Item.holder_unit_id == unit.id).options(
            joinedload(Item.dossier).joinedload(Dossier.agency),
            joinedload(Item.dossier).joinedload(Dossier.unit))
        .order_by(Item.held_since).limit(2000)))
    taken = _active_lines(session, [i.id for i in items]) if items else {}
    return [i for i in items if i.id not in taken and i.dossier.state in _MOVING[i.kind]
            and (dest := destination(i)) is not None and not within(unit, dest)]


def manifest_dict(manifest: Manifest) -> dict:
    return {
        "code": manifest.code,
        "from_unit": manifest.from_unit.code,
        "to_unit": manifest.to_unit.code,
        "status": manifest.status.value,
        "created_at": manifest.created_at,
        "created_by": manifest.created_by.username if manifest.created_by else None,
        "counts": {s.value: count(manifest, s) for s in LineStatus},
        "items": [
            {"number": ln.item.number, "kind": ln.item.kind.value,
             "dossier_code": ln.item.dossier.code, "status": ln.status.value,
             "confirmed_at": ln.confirmed_at}
            for ln in manifest.lines
        ],
    }
