"""Numbers that never repeat under concurrent intake: daily per-unit sequences, S10 serials.

Both are one atomic upsert (INSERT … ON CONFLICT DO UPDATE SET last = last + 1 RETURNING last):
PostgreSQL locks the counter row until the transaction ends, and the app's SQLite engine takes
the write lock at BEGIN (BEGIN IMMEDIATE), so two transactions can never read the same value.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from postal.core.codes import make_s10
from postal.models import DailySequence, OrgUnit, SerialCounter

# The paper folder of a dossier travels as a registered letter-post item: the S10 standard
# reserves service indicators starting with R for registered items; "RH" reads as R(egistered)
# H(ồ sơ). One serial space is shared by every service indicator, so the 8 digits alone never
# repeat and an item number stays unique whatever indicator a later item kind uses.
FOLDER_SERVICE = "RH"
S10_COUNTER = "s10"
S10_MAX_SERIAL = 99_999_999


def _insert(session: Session):
    name = session.get_bind().dialect.name
    if name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:  # config.validate() only lets these two through
        raise RuntimeError(f"no atomic upsert for the {name} dialect")
    return insert


def _upsert_next(session: Session, table, key: dict) -> int:
    stmt = _insert(session)(table).values(**key, last=1)
    stmt = stmt.on_conflict_do_update(
        index_elements=list(key), set_={"last": table.c.last + 1}
    ).returning(table.c.last)
    return session.execute(stmt).scalar_one()


def next_value(session: Session, unit: OrgUnit, scope: str, day: date) -> int:
    """The next number (1, 2, …) of `scope` ("dossier", "manifest") for `unit` on local `day`."""
    table = DailySequence.__table__
    return _upsert_next(session, table, {"unit_id": unit.id, "scope": scope, "day": day})


def next_serial(session: Session, name: str = S10_COUNTER) -> int:
    """The next value of a counter that never restarts."""
    return _upsert_next(session, SerialCounter.__table__, {"name": name})


def next_item_number(session: Session, service: str = FOLDER_SERVICE) -> str:
    """A fresh UPU S10 item number (e.g. RH00000012VN…) for a physical item."""
    serial = next_serial(session)
    if serial > S10_MAX_SERIAL:
        raise RuntimeError("the S10 serial space (8 digits) is exhausted")
    return make_s10(service, serial)
