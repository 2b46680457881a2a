"""Writing a batch of scans in a few statements (executemany) rather than as ORM objects (a
unit-of-work flush of a few thousand objects costs more than the database work).

Events and legs are new rows nothing else in the request holds: they go straight to their
tables. The items and dossiers already loaded get the written values as committed values, so
the request sees them without writing them twice; should a savepoint or the transaction be
rolled back, those objects are expired (the listener below) and reload what the database has.
"""

from __future__ import annotations

from sqlalchemy import delete, event, func, insert, inspect, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from postal.domain.custody.legs import Fact, LegSpec, Track
from postal.models import Dossier, Event, Item, Leg

DOSSIER_COLUMNS = ("state", "returned_at", "returned_via", "collected_by", "delivery_attempts")
WRITTEN = "custody.written"  # session.info: objects given values around the ORM


@event.listens_for(Session, "after_soft_rollback")
def _reload_after_rollback(session: Session, _transaction) -> None:
    for obj in session.info.pop(WRITTEN, ()):
        if inspect(obj).persistent:
            session.expire(obj)


@event.listens_for(Session, "after_transaction_end")
def _forget_at_the_end(session: Session, transaction) -> None:
    if transaction.parent is None:  # the outermost: committed, or rolled back and expired
        session.info.pop(WRITTEN, None)


def insert_rows(session: Session, table, rows: list[dict]) -> list[int]:
    """Insert rows (executemany); their new primary keys, in order.

    PostgreSQL: the keys are drawn from the table's sequence first, so the insert needs no
    RETURNING (psycopg would parse one statement with thousands of parameters); SQLite:
    INSERT … RETURNING, which keeps the order of the rows.
    """
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
        self._items: dict[int, Item] = {}
        self._dossiers: dict[int, Dossier] = {}

    def event(self, fact: Fact) -> None:
        self._events.append(fact)

    def legs(self, item: Item, specs: list[LegSpec]) -> None:
        for spec in specs:
            if spec.dirty:
                self._legs[id(spec)] = (item.id, spec)

    def drop_legs(self, ids: list[int]) -> None:
        self._dropped.extend(i for i in ids if i is not None)

    def hold(self, item: Item, track: Track) -> None:
        for name, value in (("holder_unit_id", track.unit_id), ("holder_user_id", track.user_id),
                            ("held_since", track.since)):
            set_committed_value(item, name, value)
        self.session.expire(item, ["holder_unit", "holder_user"])  # reloaded on use
        self._items[item.id] = item
        self.session.info.setdefault(WRITTEN, []).append(item)

    def dossier(self, dossier: Dossier, **values) -> None:
        for name, value in values.items():
            set_committed_value(dossier, name, value)
        self._dossiers[dossier.id] = dossier
        self.session.info.setdefault(WRITTEN, []).append(dossier)

    def flush(self) -> None:
        s = self.session
        if self._events:
            ids = insert_rows(s, Event.__table__, [
                {"kind": f.kind, "at": f.at, "client_id": f.client_id, "user_id": f.user_id,
                 "unit_id": f.unit_id, **f.row} for f in self._events])
            for fact, new_id in zip(self._events, ids, strict=True):
                fact.id = new_id
        # rows built only now: the events they start and end at have their ids
        new = [(item_id, spec) for item_id, spec in self._legs.values() if spec.id is None]
        if new:
            rows = [spec.row(item_id) for item_id, spec in new]
            for row in rows:
                del row["id"]
            for (_, spec), new_id in zip(new, insert_rows(s, Leg.__table__, rows), strict=True):
                spec.id = new_id
        fresh = {id(spec) for _, spec in new}
        changed = [spec.row(item_id) for key, (item_id, spec) in self._legs.items()
                   if key not in fresh]
        if changed:
            s.execute(update(Leg), changed)
        if self._dropped:
            s.execute(delete(Leg.__table__).where(Leg.__table__.c.id.in_(self._dropped)))
        if self._items:
            s.execute(update(Item), [
                {"id": i.id, "holder_unit_id": i.holder_unit_id, "holder_user_id": i.holder_user_id,
                 "held_since": i.held_since} for i in self._items.values()])
        if self._dossiers:
            s.execute(update(Dossier), [
                {"id": d.id, **{name: getattr(d, name) for name in DOSSIER_COLUMNS}}
                for d in self._dossiers.values()])
        for _, spec in self._legs.values():
            spec.dirty = False
        self._events, self._legs, self._dropped = [], {}, []
        self._items, self._dossiers = {}, {}
