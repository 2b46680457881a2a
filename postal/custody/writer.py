"""Writing what a batch of scans decided: events, legs, item holders and dossier columns.

The fold (legs.py) works on plain values (Fact, LegSpec) so that it can be replayed; the batch
sets the new holders and dossier columns on the ORM objects as it goes (later scans of the
batch read them), and the session's flush writes them: the session tracks them, so a rolled-back
savepoint restores them too. Events and legs are rows no object of the session holds (legs are
read with Core), so they go in set-based, one executemany each: the hot path of every phone
coming back online. A leg object the session does hold is expired when its row changes.
"""

from __future__ import annotations

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from postal.core.db import among
from postal.custody.legs import Fact, LegSpec, Track
from postal.models import Event, Item, Leg


def _new_keys(session: Session, table, count: int) -> list[int] | None:
    """`count` primary keys drawn from the table's sequence in one query (PostgreSQL), so the
    rows go in with a plain executemany instead of INSERT … RETURNING, which psycopg would send
    as one statement of thousands of parameters. None on SQLite, where RETURNING is cheap."""
    if session.get_bind().dialect.name != "postgresql":
        return None
    sequence = func.pg_get_serial_sequence(table.name, "id")
    return list(session.scalars(select(func.nextval(sequence))
                                .select_from(func.generate_series(1, count))))


def insert_rows(session: Session, table, rows: list[dict]) -> list[int]:
    """Insert new rows in one executemany; their keys, in order (on PostgreSQL also set as each
    row's "id")."""
    keys = _new_keys(session, table, len(rows))
    if keys is not None:
        for row, key in zip(rows, keys, strict=True):
            row["id"] = key
        session.execute(insert(table), rows)
        return keys
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
        """The item's holder after the fold (its relationships are read again on use)."""
        item.holder_unit_id, item.holder_user_id, item.held_since = (
            track.unit_id, track.user_id, track.since)
        loaded = item.__dict__
        if "holder_unit" in loaded or "holder_user" in loaded:
            self.session.expire(item, ["holder_unit", "holder_user"])

    def flush(self) -> None:
        s = self.session
        if self._events:
            rows = [{"kind": f.kind, "at": f.at, "client_id": f.client_id, "user_id": f.user_id,
                     "unit_id": f.unit_id, **f.row} for f in self._events]
            for fact, key in zip(self._events, insert_rows(s, Event.__table__, rows),
                                 strict=True):
                fact.id = key
        self._write_legs()
        s.flush()  # the holders and dossier columns the batch set
        self._events, self._legs, self._dropped = [], {}, []

    def _write_legs(self) -> None:
        s = self.session
        new = [(item_id, spec) for item_id, spec in self._legs.values() if spec.id is None]
        if new:
            rows = [spec.row(item_id) for item_id, spec in new]
            for row in rows:
                del row["id"]
            for (_, spec), key in zip(new, insert_rows(s, Leg.__table__, rows), strict=True):
                spec.id = key
        fresh = {id(spec) for _, spec in new}
        changed = [spec.row(item_id) for item_id, spec in self._legs.values()
                   if id(spec) not in fresh]
        if changed:
            s.execute(update(Leg), changed)
        if self._dropped:
            s.execute(delete(Leg.__table__).where(among(s, Leg.__table__.c.id, self._dropped)))
        held = {leg.id: leg for leg in s.identity_map.values() if isinstance(leg, Leg)}
        for row in changed:
            if row["id"] in held:
                s.expire(held[row["id"]])
        for leg_id in self._dropped:
            if leg_id in held:
                s.expunge(held[leg_id])
        for _, spec in self._legs.values():
            spec.dirty = False
