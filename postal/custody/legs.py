"""Legs and the item's holder, derived from its scans as a fold in time order.

The rule that makes arrival order irrelevant: an item's custody is the fold of `step` over its
accepted scans sorted by `scan_key` (the scan's own time, then a fixed rank per kind, then the
client id). A scan later than every scan the item has is applied to the current state (the
usual case); one that lands earlier in time than something already stored makes the item's
legs and holder be recomputed from all its scans (`rebuild`). Gaps are tolerated: a handover
whose pickup has not synced yet closes an implicit leg, replaced once the pickup arrives.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from postal.core.db import among
from postal.models import Event, Item, ItemKind, Leg

OPENING = ("pickup", "out_for_delivery")
CLOSING_TO_CITIZEN = ("delivered", "collected")
CUSTODY_KINDS = ("pickup", "handover", "out_for_delivery", "delivery_failed", "delivered",
                 "collected")
# same-instant scans of one item: taken before handed over, handed over before returned
_RANK = {"pickup": 0, "out_for_delivery": 1, "handover": 2, "delivery_failed": 3,
         "delivered": 4, "collected": 4}
LEG_COLUMNS = ("from_unit_id", "to_unit_id", "custodian_id", "receiver_id", "started_at",
               "ended_at")


def scan_key(kind: str, at: datetime, client_id: str | None) -> tuple:
    """Where a scan sits in its item's history; independent of when it reached the server."""
    return (at, _RANK.get(kind, 9), client_id or "")


@dataclass(eq=False)
class Fact:
    """A custody scan as the fold sees it: stored already (`id` set) or about to be."""

    kind: str
    at: datetime
    client_id: str | None
    user_id: int | None
    unit_id: int | None
    receiver: bool = False  # a handover scanned by the receiving unit's own staff
    id: int | None = None
    row: dict = field(default_factory=dict)  # the rest of the event's columns, to insert

    @property
    def key(self) -> tuple:
        return scan_key(self.kind, self.at, self.client_id)

    @classmethod
    def stored(cls, event_id: int | None) -> Fact | None:
        """A reference to a stored event, for the ends of legs read from the database."""
        return None if event_id is None else cls("", datetime.min, None, None, None, id=event_id)


@dataclass(eq=False)
class LegSpec:
    """A leg as the fold builds it; `id` once stored, `dirty` when it needs writing."""

    from_unit_id: int | None
    to_unit_id: int | None
    custodian_id: int | None
    receiver_id: int | None
    started_at: datetime
    ended_at: datetime | None
    start: Fact | None
    end: Fact | None
    id: int | None = None
    dirty: bool = True

    def row(self, item_id: int) -> dict:
        values = {name: getattr(self, name) for name in LEG_COLUMNS}
        return {"id": self.id, "item_id": item_id, **values,
                "start_event_id": self.start.id if self.start else None,
                "end_event_id": self.end.id if self.end else None}

    @classmethod
    def of(cls, row) -> LegSpec:
        """From a row of the leg table (read with Core: the ORM holds no copy to go stale)."""
        return cls(*(getattr(row, name) for name in LEG_COLUMNS), Fact.stored(row.start_event_id),
                   Fact.stored(row.end_event_id), id=row.id, dirty=False)


def stored_legs(session: Session, item_ids) -> list[tuple[int, LegSpec]]:
    """The items' legs, in fold order (by start)."""
    table = Leg.__table__
    rows = session.execute(select(table).where(among(session, table.c.item_id, list(item_ids)))
                           .order_by(table.c.started_at, table.c.id))
    return [(row.item_id, LegSpec.of(row)) for row in rows]


@dataclass
class Track:
    """Custody at one point of the fold: who holds the item, and its legs so far."""

    unit_id: int | None
    user_id: int | None
    since: datetime | None
    legs: list[LegSpec] = field(default_factory=list)  # the last may be open


def _close(leg: LegSpec, fact: Fact, to_unit_id: int | None, receiver_id: int | None) -> None:
    leg.ended_at, leg.to_unit_id, leg.receiver_id, leg.end = fact.at, to_unit_id, receiver_id, fact
    leg.dirty = True


def step(track: Track, fact: Fact) -> None:
    """Apply one scan to `track`."""
    last = track.legs[-1] if track.legs else None
    open_leg = last if last is not None and last.ended_at is None else None
    kind = fact.kind
    if kind in OPENING:
        if open_leg is not None:
            if open_leg.custodian_id == fact.user_id:
                return  # the holder scanned again (e.g. out for delivery straight from pickup)
            # courier to courier: the first leg ends where the second begins
            _close(open_leg, fact, fact.unit_id, fact.user_id)
            start = fact.unit_id
        else:
            start = fact.unit_id or track.unit_id
        track.legs.append(LegSpec(start, None, fact.user_id, None, fact.at, None, fact, None))
        track.unit_id, track.user_id, track.since = None, fact.user_id, fact.at
    elif kind == "handover":
        dest = fact.unit_id
        receiver = fact.user_id if fact.receiver else None
        if open_leg is not None:
            _close(open_leg, fact, dest, receiver)
        elif track.unit_id == dest:
            # the unit confirms what it already holds: name the receiver on the leg that came in
            if receiver is not None:
                if last is not None and last.to_unit_id == dest and last.receiver_id is None:
                    last.receiver_id, last.dirty = receiver, True
                track.user_id = receiver
            return
        else:
            # moved without a pickup scan (or it has not synced yet): an implicit leg
            track.legs.append(LegSpec(track.unit_id, dest, None if receiver else fact.user_id,
                                      receiver, fact.at, fact.at, None, fact))
        track.unit_id, track.user_id, track.since = dest, receiver, fact.at
    elif kind in CLOSING_TO_CITIZEN:
        if open_leg is not None:
            _close(open_leg, fact, None, None)
        track.unit_id, track.user_id, track.since = None, None, fact.at
    # delivery_failed: the courier keeps the item; custody does not change


def origin_unit_id(session: Session, item: Item) -> int | None:
    """Where the item was made: the folder at the receiving unit, a result where decided."""
    if item.kind == ItemKind.FOLDER:
        return item.dossier.unit_id
    unit_id = session.scalar(
        select(Event.unit_id).where(Event.item_id == item.id, Event.kind == "result_ready")
    )
    return unit_id or item.dossier.agency_id


def stored_facts(session: Session, item_id: int) -> list[Fact]:
    """The item's accepted scans, in fold order."""
    rows = session.execute(
        select(Event.id, Event.kind, Event.at, Event.client_id, Event.user_id, Event.unit_id,
               Event.data)
        .where(Event.item_id == item_id, Event.kind.in_(CUSTODY_KINDS),
               Event.client_id.is_not(None)))
    facts = [Fact(kind, at, client_id, user_id, unit_id, bool((data or {}).get("receiver")),
                  id=event_id) for event_id, kind, at, client_id, user_id, unit_id, data in rows]
    return sorted(facts, key=lambda f: f.key)


def _leg_key(leg: LegSpec) -> tuple:
    if leg.start is not None:
        return ("start", leg.start.id)
    return ("end", leg.end.id if leg.end is not None else None)


def rebuild(session: Session, item: Item, writer) -> Track:
    """Recompute the item's legs and holder from all its stored scans (the writer has been
    flushed); the legs are matched to the stored rows so their ids survive."""
    track = Track(origin_unit_id(session, item), None, item.created_at)
    for fact in stored_facts(session, item.id):
        step(track, fact)
    stored = {_leg_key(spec): spec for _, spec in stored_legs(session, [item.id])}
    for spec in track.legs:
        old = stored.pop(_leg_key(spec), None)
        spec.id, spec.dirty = (old.id, True) if old is not None else (None, True)
    writer.legs(item, track.legs)
    writer.drop_legs([s.id for s in stored.values()])
    writer.hold(item, track)
    return track
