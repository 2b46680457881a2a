"""What one batch of scans needs from the database, fetched in a few queries up front."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from functools import lru_cache

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload, selectinload

from postal.core.codes import classify_barcode
from postal.core.db import among
from postal.custody.legs import CUSTODY_KINDS, LegSpec, scan_key, stored_legs
from postal.custody.progress import RETURN_ACTIONS, TERMINAL_EVENTS
from postal.models import (
    Dossier,
    Event,
    Item,
    ItemKind,
    Manifest,
    ManifestLine,
    OrgUnit,
    Pickup,
)

_CUSTODY = (Dossier, Item, Manifest, ManifestLine, Pickup)  # what a batch judges and changes
_RETURN_KINDS = ("handover", "out_for_delivery", "delivery_failed", "delivered", "collected")
_RETURN_ACTION_NAMES = frozenset(a.value for a in RETURN_ACTIONS)


@lru_cache(maxsize=4096)  # a batch reads each code three times: lock, load, judge
def normalise(barcode: str) -> tuple[str, str | None]:
    """(the code as stored, its kind); S10 numbers are matched in upper case."""
    text = (barcode or "").strip()
    kind = classify_barcode(text)
    if kind is None and classify_barcode(text.upper()) == "s10":
        return text.upper(), "s10"
    return (text.upper(), kind) if kind == "s10" else (text, kind)


def by_kind(scans) -> dict[str | None, set[str]]:
    """The scans' codes as stored, grouped by kind (s10, dossier, manifest, None)."""
    wanted: dict[str | None, set[str]] = defaultdict(set)
    for x in scans:
        text, kind = normalise(x.barcode)
        wanted[kind].add(text)
    return wanted


def _item_options():
    # what judging and writing a scan read (a dossier has some forty columns), and the status
    # and dates its events announce to other systems (outbox.events.dossier_view)
    dossier = joinedload(Item.dossier).load_only(
        Dossier.id, Dossier.code, Dossier.state, Dossier.unit_id, Dossier.agency_id,
        Dossier.created_at, Dossier.received_at, Dossier.delivery_attempts,
        Dossier.returned_at, Dossier.returned_via, Dossier.collected_by)
    # a few units stand behind hundreds of dossiers: fetched once each (procedures, read only
    # when an event is announced, come from the identity map after the first)
    return dossier.selectinload(Dossier.unit), dossier.selectinload(Dossier.agency)


def lock(session: Session, scans) -> None:
    """Lock the rows a batch will change, in one order for every batch: its dossiers by id,
    then its manifests, then its pickups (SELECT … FOR UPDATE; PostgreSQL only, as SQLite lets
    one writer in at a time anyway). Two batches that share a dossier then run one after the
    other, and the second judges what the first stored, whatever order the scans came in."""
    if session.get_bind().dialect.name != "postgresql":
        return
    wanted = by_kind(scans)
    dossiers: set[int] = set()
    manifests: set[int] = set()
    pickups: set[int] = set()
    if wanted["s10"]:
        items = dict(session.execute(
            select(Item.number, Item.dossier_id)
            .where(among(session, Item.number, wanted["s10"]))).all())
        dossiers |= set(items.values())
        labels = wanted["s10"] - set(items)  # a number that is no item is a pickup's label
        if labels:
            for pickup_id, dossier_id in session.execute(
                    select(Pickup.id, Pickup.dossier_id)
                    .where(among(session, Pickup.number, labels))):
                pickups.add(pickup_id)
                if dossier_id is not None:
                    dossiers.add(dossier_id)
    if wanted["dossier"]:
        dossiers |= set(session.scalars(
            select(Dossier.id).where(among(session, Dossier.code, wanted["dossier"]))))
    if wanted["manifest"]:
        for manifest_id, dossier_id in session.execute(
                select(Manifest.id, Item.dossier_id)
                .join(ManifestLine, ManifestLine.manifest_id == Manifest.id)
                .join(Item, Item.id == ManifestLine.item_id)
                .where(among(session, Manifest.code, wanted["manifest"]))):
            manifests.add(manifest_id)
            dossiers.add(dossier_id)
    for model, ids in ((Dossier, dossiers), (Manifest, manifests), (Pickup, pickups)):
        if ids:
            session.execute(select(model.id).where(among(session, model.id, sorted(ids)))
                            .order_by(model.id).with_for_update())
    # what the session read before it waited for the locks may have changed since: read again
    for obj in list(session.identity_map.values()):
        if isinstance(obj, _CUSTODY):
            session.expire(obj)


class Lookup:
    """Barcodes, units and each item's custody so far, for one batch; kept up to date as the
    batch is applied so later scans of the same item see the earlier ones."""

    def __init__(self, session: Session):
        self.session = session
        self.stored_ids: set[str] = set()
        self.items: dict[str, Item] = {}
        self.pickups: dict[str, Pickup] = {}
        self.dossiers: dict[str, Dossier] = {}
        self.manifests: dict[str, Manifest] = {}
        self.units: dict[str, OrgUnit] = {}
        self.last_at: dict[int, datetime] = {}  # latest custody scan of an item
        self.last_leg: dict[int, LegSpec] = {}
        self.terminal: dict[int, tuple] = {}  # scan key of the delivery / collection, per item
        self.return_key: dict[int, tuple] = {}  # latest return-side scan, per dossier
        self.lines: dict[int, list[ManifestLine]] = defaultdict(list)  # per item
        self._loaded: set[int] = set()

    def load(self, scans) -> None:
        s = self.session
        ids = [x.id for x in scans if x.id]
        if ids:
            stored = select(Event.client_id).where(among(s, Event.client_id, ids))
            self.stored_ids |= set(s.scalars(stored))
        wanted = by_kind(scans)
        units = {x.unit_code.strip() for x in scans if x.unit_code and x.unit_code.strip()}
        if units:
            stmt = select(OrgUnit).where(among(s, OrgUnit.code, units))
            self.units.update((u.code, u) for u in s.scalars(stmt))
        found: list[Item] = []
        if wanted["s10"]:
            stmt = (select(Item).where(among(s, Item.number, wanted["s10"]))
                    .options(*_item_options()))
            for item in s.scalars(stmt):
                self.items[item.number] = item
                found.append(item)
            rest = wanted["s10"] - set(self.items)
            if rest:
                stmt = select(Pickup).where(among(s, Pickup.number, rest))
                self.pickups.update((p.number, p) for p in s.scalars(stmt))
        if wanted["dossier"]:
            stmt = select(Dossier).where(among(s, Dossier.code, wanted["dossier"])).options(
                joinedload(Dossier.unit), joinedload(Dossier.agency), selectinload(Dossier.items))
            for d in s.scalars(stmt):
                self.dossiers[d.code] = d
                found.extend(d.items)
        if wanted["manifest"]:
            line_item = selectinload(Manifest.lines).joinedload(ManifestLine.item)
            stmt = select(Manifest).where(among(s, Manifest.code, wanted["manifest"])).options(
                joinedload(Manifest.from_unit), joinedload(Manifest.to_unit),
                line_item.joinedload(Item.dossier).joinedload(Dossier.unit),
                line_item.joinedload(Item.dossier).joinedload(Dossier.agency))
            for m in s.scalars(stmt):
                self.manifests[m.code] = m
                found.extend(line.item for line in m.lines)
        self._custody([i for i in found if i.id not in self._loaded])

    def _custody(self, items: list[Item]) -> None:
        if not items:
            return
        s = self.session
        ids = [i.id for i in items]
        self._loaded.update(ids)
        scans = (among(s, Event.item_id, ids), Event.kind.in_(CUSTODY_KINDS),
                 Event.client_id.is_not(None))
        stmt = select(Event.item_id, func.max(Event.at)).where(*scans).group_by(Event.item_id)
        self.last_at.update((i, t) for i, t in s.execute(stmt))
        for item_id, spec in stored_legs(s, ids):
            self.last_leg[item_id] = spec
        results = [i.id for i in items if i.kind == ItemKind.RESULT]
        if results:
            stmt = select(Event.kind, Event.at, Event.client_id, Event.item_id, Event.dossier_id,
                          Event.data).where(among(s, Event.item_id, results),
                                            Event.kind.in_(_RETURN_KINDS),
                                            Event.client_id.is_not(None))
            for kind, at, client_id, item_id, dossier_id, data in s.execute(stmt):
                self.note_return(kind, scan_key(kind, at, client_id), item_id, dossier_id,
                                 (data or {}).get("action"))
        stmt = select(ManifestLine).where(among(s, ManifestLine.item_id, ids)).options(
            joinedload(ManifestLine.manifest).selectinload(Manifest.lines))
        for line in s.scalars(stmt):
            self.lines[line.item_id].append(line)

    def note_return(self, kind: str, key: tuple, item_id: int, dossier_id: int,
                    action: str | None) -> None:
        """Remember a return-side or terminal scan of a result."""
        if kind in TERMINAL_EVENTS:
            self.terminal[item_id] = key
        if action in _RETURN_ACTION_NAMES:
            if dossier_id not in self.return_key or key > self.return_key[dossier_id]:
                self.return_key[dossier_id] = key
