"""Numbers that never repeat under concurrent intake: daily per-unit sequences, S10 serials.

Both are one atomic upsert (INSERT … ON CONFLICT DO UPDATE SET last = last + 1 RETURNING last):
PostgreSQL locks the counter row until the transaction ends, and the app's SQLite engine takes
the write lock at BEGIN (BEGIN IMMEDIATE), so two transactions can never read the same value.

Dossier codes of a unit's daily series can also arrive by file import (a portal's dossiers carry
the centre's codes). Whoever writes a code of a series holds that series' counter row: intake
by drawing the next number, an import by raising the counter past its codes (`raise_to`) before
inserting them. So the two never write the same code at once, and intake skips a code it finds
already stored (an import from before this rule) instead of failing on the unique index.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import case, select
from sqlalchemy.orm import Session

from postal.core.codes import format_dossier_code, make_s10, parse_dossier_code
from postal.models import DailySequence, Dossier, OrgUnit, SerialCounter

# The paper folder of a dossier travels as a registered letter-post item: the S10 standard
# reserves service indicators starting with R for registered items; "RH" reads as R(egistered)
# H(ồ sơ). One serial space is shared by every service indicator, so the 8 digits alone never
# repeat and an item number stays unique whatever indicator a later item kind uses.
FOLDER_SERVICE = "RH"
S10_COUNTER = "s10"
S10_MAX_SERIAL = 99_999_999
DOSSIER_SCOPE = "dossier"


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


def raise_to(session: Session, unit_id: int, scope: str, day: date, value: int) -> None:
    """Move a daily sequence to at least `value`, so that its next number is above it (an
    import does this for the codes it brings of a unit's own series)."""
    table = DailySequence.__table__
    stmt = _insert(session)(table).values(unit_id=unit_id, scope=scope, day=day, last=value)
    stmt = stmt.on_conflict_do_update(
        index_elements=["unit_id", "scope", "day"],
        set_={"last": case((table.c.last < stmt.excluded.last, stmt.excluded.last),
                           else_=table.c.last)},
    )
    session.execute(stmt)


def next_dossier_code(session: Session, unit: OrgUnit, prefix: str, day: date) -> str:
    """The next code of `unit`'s series for local `day` that no dossier holds yet.

    A code found taken came from an import made before imports raised the counter: the counter
    jumps past every stored code of the day's series at once, so intake never fails on it and
    never loops through them one by one. Codes then skip numbers but never repeat."""
    while True:
        code = format_dossier_code(prefix, day, next_value(session, unit, DOSSIER_SCOPE, day))
        if session.scalar(select(Dossier.id).where(Dossier.code == code)) is None:
            return code
        raise_to(session, unit.id, DOSSIER_SCOPE, day, _highest_stored(session, prefix, day))


def _highest_stored(session: Session, prefix: str, day: date) -> int:
    """The highest number of the series `prefix`-`day` among stored dossier codes."""
    start = format_dossier_code(prefix, day, 1)[:-4]  # "PREFIX-yymmdd-"
    codes = session.scalars(select(Dossier.code).where(Dossier.code.startswith(start,
                                                                              autoescape=True)))
    numbers = [0]
    for code in codes:
        try:
            numbers.append(parse_dossier_code(code)[2])
        except ValueError:  # not canonical: never one the counter could draw
            continue
    return max(numbers)


def next_serial(session: Session, name: str = S10_COUNTER) -> int:
    """The next value of a counter that never restarts."""
    return _upsert_next(session, SerialCounter.__table__, {"name": name})


def next_item_number(session: Session, service: str = FOLDER_SERVICE) -> str:
    """A fresh UPU S10 item number (e.g. RH00000012VN…) for a physical item."""
    serial = next_serial(session)
    if serial > S10_MAX_SERIAL:
        raise RuntimeError("the S10 serial space (8 digits) is exhausted")
    return make_s10(service, serial)
