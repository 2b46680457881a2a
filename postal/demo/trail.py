"""Bookkeeping of a generated history: primary keys, rows per table, and one dossier's trail."""

from __future__ import annotations

from datetime import datetime

from postal.dossiers.lifecycle import Action, State, next_state


class Cut(Exception):
    """The next step would happen after `now`: the history stops here."""


class Ids:
    """Primary keys handed out in Python, from max(id) + 1 of each table."""

    def __init__(self, start: dict[str, int]) -> None:
        self.next = dict(start)

    def take(self, table: str) -> int:
        value = self.next[table]
        self.next[table] = value + 1
        return value


class Rows:
    """The rows of one chunk, per table, in foreign-key order."""

    TABLES = ("applicant", "dossier", "item", "event", "leg")

    def __init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        for table in self.TABLES:
            setattr(self, table, [])

    def __len__(self) -> int:
        return sum(len(getattr(self, t)) for t in self.TABLES)


class Trail:
    """The events and legs of one dossier, cut at `now`, with its state kept by the machine."""

    def __init__(self, life, dossier_id: int) -> None:
        self.life, self.dossier_id = life, dossier_id
        self.state = State.NEW
        self.last = None

    def check(self, at: datetime) -> None:
        if at > self.life.now:
            raise Cut

    def event(self, kind: str, at: datetime, unit: int | None, user: int | None, *,
              item: dict | None = None, action: Action | None = None, lat=None, lon=None,
              **data) -> int:
        self.check(at)
        if self.last is not None and at < self.last:
            raise AssertionError(f"event {kind} at {at} before {self.last}")
        if action is not None:
            self.state = next_state(self.state, action)
            data["action"] = action.value
        event_id = self.life.ids.take("event")
        self.life.rows.event.append({
            "id": event_id, "client_id": None, "kind": kind, "dossier_id": self.dossier_id,
            "item_id": item["id"] if item else None, "manifest_id": None, "at": at,
            "recorded_at": at, "user_id": user, "unit_id": unit, "lat": lat, "lon": lon,
            "note": None, "data": data,
        })
        self.last = at
        return event_id

    def start(self, item: dict, kind: str, at: datetime, src: int, dst: int | None,
              courier: int, action: Action | None = None) -> dict:
        """A courier takes `item` from `src` (a scan), starting a leg towards `dst`."""
        event_id = self.event(kind, at, src, courier, item=item, action=action)
        leg = {"id": self.life.ids.take("leg"), "item_id": item["id"], "from_unit_id": src,
               "to_unit_id": dst, "custodian_id": courier, "receiver_id": None,
               "started_at": at, "ended_at": None, "start_event_id": event_id,
               "end_event_id": None}
        self.life.rows.leg.append(leg)
        item.update(holder_unit_id=None, holder_user_id=courier, held_since=at)
        return leg

    def end(self, leg: dict, kind: str, at: datetime, *, unit: int | None, user: int | None,
            holder: int | None, receiver: int | None = None, action: Action | None = None,
            to_unit: int | None = None, **data) -> None:
        """The leg ends (handed over, delivered or brought back); `holder` then keeps the item."""
        item = self.life.items_by_id[leg["item_id"]]
        event_id = self.event(kind, at, unit, user, item=item, action=action, **data)
        leg.update(ended_at=at, end_event_id=event_id, receiver_id=receiver)
        if to_unit is not None:
            leg["to_unit_id"] = to_unit
        item.update(holder_unit_id=holder, holder_user_id=None, held_since=at)
