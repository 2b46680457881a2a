"""Applying a batch of scans: legs, holders and dossier columns as ORM objects of the one
session, flushed together; the events themselves appended in one statement.

The fold (legs.py) works on plain values (Fact, LegSpec) so that it can be replayed; this is
where its results become rows. The state that the request may read again (dossiers, items,
legs) changes only through the session, so it is never stale, and a rolled-back savepoint
undoes it in the session too. The event log is append-only and no object of the session holds
the new rows, so they go in with one executemany (the set-based hot path, inside its owner):
a batch of 500 scans is one INSERT, not 500 objects through the unit of work.
"""

from __future__ import annotations

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from postal.custody.legs import LEG_COLUMNS, Fact, LegSpec, Track
from postal.models import Dossier, Event, Item, Leg


def assign_ids(session: Session, rows: list) -> None:
    """Give new ORM objects of one model their primary keys before the flush (PostgreSQL: drawn
    from the table's sequence in one query), so the flush inserts them with plain executemany
    instead of INSERT … RETURNING, which psycopg would send as one statement of thousands of
    parameters. SQLite keeps RETURNING, which is cheap there."""
    if not rows or session.get_bind().dialect.name != "postgresql":
        return
    table = type(rows[0]).__table__
    sequence = func.pg_get_serial_sequence(table.name, "id")
    with session.no_autoflush:  # the rows must not be inserted before they have their keys
        ids = list(session.scalars(select(func.nextval(sequence))
                                   .select_from(func.generate_series(1, len(rows)))))
    for row, new_id in zip(rows, ids, strict=True):
        row.id = new_id


def append_rows(session: Session, table, rows: list[dict]) -> list[int]:
    """Insert new rows of an append-only table in one executemany; their keys, in order."""
    if session.get_bind().dialect.name == "postgresql":
        sequence = func.pg_get_serial_sequence(table.name, "id")
        ids = list(session.scalars(select(func.nextval(sequence))
                                   .select_from(func.generate_series(1, len(rows)))))
        session.execute(insert(table), [{**row, "id": i} for row, i in zip(rows, ids, strict=True)])
        return ids
    stmt = insert(table).returning(table.c.id, sort_by_parameter_order=True)
    return list(session.scalars(stmt, rows))


class Writer:
    def __init__(self, session: Session):
        self.session = session
        self._events: list[Fact] = []
        self._legs: dict[int, tuple[int, LegSpec]] = {}  # id(spec) -> (item id, spec)
        self._dropped: list[int] = []

    def event(self, fact: Fact) -> None:
        self._events.append(fact)

    def legs(self, item: Item, specs: list[LegSpec]) -> None:
        for spec in specs:
            if spec.dirty:
                self._legs[id(spec)] = (item.id, spec)

    def drop_legs(self, ids: list[int]) -> None:
        self._dropped.extend(i for i in ids if i is not None)

    def hold(self, item: Item, track: Track) -> None:
        item.holder_unit_id, item.holder_user_id, item.held_since = (
            track.unit_id, track.user_id, track.since)
        if item.id is not None:
            self.session.expire(item, ["holder_unit", "holder_user"])  # reloaded on use

    def dossier(self, dossier: Dossier, **values) -> None:
        for name, value in values.items():
            setattr(dossier, name, value)

    def flush(self) -> None:
        s = self.session
        s.flush()  # what the batch changed so far, before the events that follow it
        if self._events:
            rows = [{"kind": f.kind, "at": f.at, "client_id": f.client_id, "user_id": f.user_id,
                     "unit_id": f.unit_id, **f.row} for f in self._events]
            for fact, new_id in zip(self._events, append_rows(s, Event.__table__, rows),
                                    strict=True):
                fact.id = new_id
        stored_ids = [spec.id for _, spec in self._legs.values() if spec.id is not None]
        stored = {leg.id: leg for leg in s.scalars(
            select(Leg).where(Leg.id.in_(stored_ids + self._dropped)))} if (
            stored_ids or self._dropped) else {}
        new = []
        for item_id, spec in self._legs.values():
            row = spec.row(item_id)
            del row["id"]
            if spec.id is None:
                leg = Leg(**row)
                s.add(leg)
                new.append((spec, leg))
            else:
                leg = stored[spec.id]
                for name in (*LEG_COLUMNS, "start_event_id", "end_event_id"):
                    setattr(leg, name, row[name])
        assign_ids(s, [leg for _, leg in new])
        for leg_id in self._dropped:
            if leg_id in stored:
                s.delete(stored[leg_id])
        s.flush()
        for spec, leg in new:
            spec.id = leg.id
        for _, spec in self._legs.values():
            spec.dirty = False
        self._events, self._legs, self._dropped = [], {}, []
