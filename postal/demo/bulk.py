"""Writing generated rows fast: Core executemany in chunks, primary keys chosen in Python.

No RETURNING is needed because every key is known before the insert; PostgreSQL's id
sequences are moved past the inserted keys afterwards so later ORM inserts do not collide.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import bindparam, func, insert, select, text, update
from sqlalchemy.orm import Session

from postal.core.sequences import S10_COUNTER
from postal.demo.trail import Rows
from postal.models import Applicant, DailySequence, Dossier, Event, Item, Leg, SerialCounter

TABLES = {"applicant": Applicant.__table__, "dossier": Dossier.__table__,
          "item": Item.__table__, "event": Event.__table__, "leg": Leg.__table__}
BATCH = 10_000
SCOPE = "dossier"


def first_ids(session: Session) -> dict[str, int]:
    """max(id) + 1 of each table the generator fills."""
    return {name: (session.scalar(select(func.max(t.c.id))) or 0) + 1
            for name, t in TABLES.items()}


def insert_rows(session: Session, rows: Rows) -> None:
    """Insert one chunk, parents first (foreign keys are checked row by row on SQLite)."""
    for name in Rows.TABLES:
        batch = getattr(rows, name)
        for i in range(0, len(batch), BATCH):
            session.execute(insert(TABLES[name]), batch[i:i + BATCH])


def serial_counter(session: Session) -> SerialCounter:
    """The S10 serial counter live intake draws from, locked until the transaction ends."""
    counter = session.get(SerialCounter, S10_COUNTER, with_for_update=True)
    if counter is None:
        counter = SerialCounter(name=S10_COUNTER, last=0)
        session.add(counter)
        session.flush()
    return counter


def load_sequences(session: Session, unit_ids: list[int]) -> dict[tuple[int, date], int]:
    """The last dossier number of each (unit, local day) already given out."""
    t = DailySequence.__table__
    rows = session.execute(select(t.c.unit_id, t.c.day, t.c.last).where(
        t.c.scope == SCOPE, t.c.unit_id.in_(unit_ids))).all()
    return {(unit, day): last for unit, day, last in rows}


def save_sequences(session: Session, before: dict, after: dict) -> None:
    """Write the daily counters so later intake continues after the demo's numbers."""
    t = DailySequence.__table__
    new = [{"unit_id": u, "scope": SCOPE, "day": d, "last": last}
           for (u, d), last in sorted(after.items()) if (u, d) not in before]
    changed = [{"u": u, "d": d, "l": last} for (u, d), last in sorted(after.items())
               if (u, d) in before and before[(u, d)] != last]
    for i in range(0, len(new), BATCH):
        session.execute(insert(t), new[i:i + BATCH])
    if changed:
        stmt = update(t).where(t.c.unit_id == bindparam("u"), t.c.scope == SCOPE,
                               t.c.day == bindparam("d")).values(last=bindparam("l"))
        session.connection().execute(stmt, changed)


def reset_id_sequences(session: Session) -> None:
    """PostgreSQL: the next generated id of each table follows the largest one present."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for t in TABLES.values():
        session.execute(text(
            f"SELECT setval(pg_get_serial_sequence('{t.name}', 'id'), "
            f"(SELECT COALESCE(MAX(id), 0) + 1 FROM {t.name}), false)"))
