"""Recording scans from the field: batches of events, stored once per client id, each judged
on its own (judging.py) so that a refused scan never breaks the rest of its batch.

A refused scan is not stored, so its id stays free: the phone may send it again later. What is
accepted is a fact from the field and is kept whatever order it arrives in: custody is a fold
over each item's scans by their own time (legs.py), the dossier moves by progress.py's rule.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from postal.core import audit
from postal.core.db import retrying
from postal.core.errors import ValidationFailed
from postal.custody import progress
from postal.custody.door import REASONS
from postal.custody.judging import (  # noqa: F401 - part of this module's interface
    CLIENT_ID,
    EVENTS,
    Judge,
    Plan,
    ScanRejected,
    Target,
)
from postal.custody.legs import Fact, Track, rebuild, step
from postal.custody.lookup import Lookup, lock
from postal.custody.manifest_lines import confirm_line, refresh_status
from postal.custody.writer import Writer
from postal.dossiers.lifecycle import next_state
from postal.models import Event, ItemKind, ReturnMethod, User
from postal.outbox.messages import change_kind, notify

MAX_BATCH = 1000


@dataclass(frozen=True)
class Scan:
    """One event as the phone (or any client) reports it."""

    id: str
    barcode: str
    event: str
    at: datetime
    lat: float | None = None
    lon: float | None = None
    unit_code: str | None = None
    note: str | None = None
    recipient: str | None = None  # the citizen who handed over or received the papers
    item_kind: str | None = None  # "folder" or "result": what the scanner means to move
    data: dict = field(default_factory=dict)  # extra details kept on the event


@dataclass
class ScanResult:
    id: str
    status: str  # accepted | duplicate | rejected
    error: str | None = None
    message: str | None = None
    stored: list = field(default_factory=list, repr=False)  # Facts (or Events) written
    session: Session | None = field(default=None, repr=False)

    @property
    def events(self) -> list[Event]:
        """The events this scan stored (one per item; loaded on use, after the batch)."""
        return [x if isinstance(x, Event) else self.session.get(Event, x.id) for x in self.stored]

    def as_dict(self) -> dict:
        out = {"id": self.id, "status": self.status}
        if self.error:
            out["error"] = {"code": self.error, "message": self.message}
        return out


def record_scan(session: Session, user: User, scan: Scan, now: datetime) -> ScanResult:
    """Record one scan (see record_batch); the unit others extend (proof of delivery, ...)."""
    return record_batch(session, user, [scan], now)[0]


def record_batch(session: Session, user: User, scans: list[Scan], now: datetime
                 ) -> list[ScanResult]:
    """Judge and store a batch of scans; one result per scan, in order.

    A batch that loses a race with another (a deadlock, PostgreSQL) is run again from its
    savepoint, so no client sees an ordinary race as an error.
    """
    if len(scans) > MAX_BATCH:
        raise ValidationFailed(f"at most {MAX_BATCH} events per batch", field="events")
    session.flush()  # nothing of the caller's left pending inside our savepoints
    results = retrying(session, lambda: _record(session, user, now, scans))
    counts = {s: sum(r.status == s for r in results) for s in ("accepted", "duplicate", "rejected")}
    if counts["accepted"] or counts["rejected"]:
        audit.record(session, user, "scan_batch", "scan", None, **counts)
    return results


def _record(session: Session, user: User, now: datetime, scans: list[Scan]) -> list[ScanResult]:
    """The batch, its rows locked first; a clash with another request storing the same ids at
    the same moment makes each scan be redone in a savepoint of its own."""
    lock(session, scans)
    # the batch's changes are flushed once, by its writer, not a few objects at every query
    with session.no_autoflush:
        try:
            with session.begin_nested():
                batch = _Batch(session, user, now, scans)
                results = batch.run()
                batch.write()
        except IntegrityError:
            results = _Batch(session, user, now, scans).run(savepoint_each=True)
    return results


class _Batch:
    def __init__(self, session: Session, user: User, now: datetime, scans: list[Scan]):
        self.session, self.user, self.now, self.scans = session, user, now, scans
        self.writer = Writer(session)
        self.seen: set[str] = set()
        # dossier id -> [dossier, state and attempts before the batch, last failed scan]
        self.touched: dict[int, list] = {}
        self._load()

    def _load(self) -> None:
        self.known = Lookup(self.session)
        self.known.load(self.scans)
        self.judge = Judge(self.user, self.now, self.known)

    def write(self) -> None:
        self.writer.flush()

    def run(self, *, savepoint_each: bool = False) -> list[ScanResult]:
        results = []
        for scan in self.scans:
            if not savepoint_each:
                results.append(self.one(scan))
                continue
            try:
                with self.session.begin_nested():
                    result = self.one(scan)
                    self.write()
            except IntegrityError:
                if not self.session.scalar(select(Event.id).where(Event.client_id == scan.id)):
                    raise
                result = ScanResult(scan.id, "duplicate")
                self.writer = Writer(self.session)
                self._load()
            results.append(result)
        self._tell_the_citizens()
        return results

    def one(self, scan: Scan) -> ScanResult:
        if scan.id in self.seen or scan.id in self.known.stored_ids:
            return ScanResult(scan.id, "duplicate")
        try:
            plan = self.judge(scan)
        except ScanRejected as exc:
            return ScanResult(scan.id, "rejected", exc.code, exc.message)
        self.seen.add(scan.id)
        if plan.pickup is not None:
            from postal.custody.pickups import apply_scan

            stored = [apply_scan(self.session, self.user, plan.pickup, scan, plan.unit, self.now)]
        else:
            stored = [self.apply(scan, plan, t) for t in plan.targets]
        return ScanResult(scan.id, "accepted", stored=stored, session=self.session)

    def apply(self, scan: Scan, plan: Plan, target: Target) -> Fact:
        item, dossier, known, unit, writer = (target.item, target.item.dossier, self.known,
                                              plan.unit, self.writer)
        seen = self.touched.setdefault(dossier.id, [dossier, dossier.state,
                                                    dossier.delivery_attempts, None])
        if scan.event == "delivery_failed":
            seen[3] = scan
        data = dict(scan.data or {})
        if plan.receiver:
            data["receiver"] = True
        if scan.recipient:
            data["recipient"] = scan.recipient
        if plan.manifest is not None:
            data["scan"] = scan.id
        if target.action is not None:
            data["action"] = target.action.value
        if target.steps:
            state = dossier.state
            for action in target.steps:
                state = next_state(state, action)
            data["from"], data["to"] = dossier.state.value, state.value
            dossier.state = state
        # only an item scanned on its own confirms its manifest line (not the manifest's code)
        lines = self._lines_to_confirm(item, unit) if plan.receiver and not plan.manifest else []
        manifest = plan.manifest or (lines[0].manifest if lines else None)
        fact = Fact(scan.event, scan.at, target.client_id, self.user.id, unit.id if unit else None,
                    plan.receiver, row={
                        "dossier_id": dossier.id, "item_id": item.id, "recorded_at": self.now,
                        "manifest_id": manifest.id if manifest is not None else None,
                        "lat": scan.lat, "lon": scan.lon, "note": scan.note or None,
                        "data": data})
        writer.event(fact)
        last = known.last_at.get(item.id)
        if last is None or scan.at > last:
            previous = known.last_leg.get(item.id)
            track = Track(item.holder_unit_id, item.holder_user_id, item.held_since,
                          [previous] if previous is not None else [])
            step(track, fact)
            writer.legs(item, track.legs)
            writer.hold(item, track)
            known.last_at[item.id] = scan.at
        else:  # earlier than something stored: the item's custody is folded again
            self.write()
            track = rebuild(self.session, item, writer)
        known.last_leg[item.id] = track.legs[-1] if track.legs else None
        if item.kind == ItemKind.RESULT:
            known.note_return(scan.event, fact.key, item.id, dossier.id, data.get("action"))
            for name, value in progress.return_values(dossier, scan.event, scan.at,
                                                      scan.recipient).items():
                setattr(dossier, name, value)
        self._manifests(scan, item, lines)
        return fact

    def _tell_the_citizens(self) -> None:
        """Queue the message each dossier's change over the whole batch calls for (a phone
        syncing "out for delivery" and "delivered" at once sends one message, the latest
        news): the batch's own explicit message, queued in its transaction."""
        for dossier, state, attempts, failed in self.touched.values():
            kind = change_kind(state, dossier.state, returned_via=dossier.returned_via,
                               attempts_changed=dossier.delivery_attempts != attempts)
            if kind is None:
                continue
            details = {}
            if kind == "delivery_failed":
                # the courier's own note stays internal: only a listed reason reaches the
                # citizen
                reason = ((failed.data or {}).get("reason") or failed.note) if failed else None
                if reason in REASONS:
                    details.update(reason=reason, reason_text=REASONS[reason])
                details["back_to_counter"] = dossier.return_method != ReturnMethod.HOME
            notify(self.session, dossier, kind, **details)
        self.touched = {}

    def _lines_to_confirm(self, item, unit) -> list:
        return [ln for ln in self.known.lines.get(item.id, ())
                if ln.status.value in ("listed", "missing")
                and progress.within(unit, ln.manifest.to_unit)]

    def _manifests(self, scan: Scan, item, lines) -> None:
        for line in lines:
            confirm_line(line, scan.at)
        if scan.event == "pickup":
            for line in self.known.lines.get(item.id, ()):
                refresh_status(line.manifest, picked_up=True)
