"""A hand-built history of dossiers around the week 3–9 March 2025, and its expected report."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from postal.core.time import TZ
from postal.dossiers.lifecycle import State
from postal.extensions import db
from postal.models import OrgUnit, UnitKind
from tests import factories

WEEK = ("2025-03-03", "2025-03-09")


def L(month, day, hour=9, minute=0, second=0):  # noqa: N802 - reads as a local time
    return datetime(2025, month, day, hour, minute, second, tzinfo=TZ)


def make_dossier(unit, procedure, code, **kw):
    """The week's dossiers: no folder, no event, one flush for all (tests/factories.py)."""
    kw.setdefault("received", None)
    kw.setdefault("due", None)
    return factories.make_dossier(unit, procedure, code, with_items=False, commit=False, **kw)


def build_week(unit, child, other, procedure):
    """Dossiers hitting every category and boundary of the week; see EXPECTED."""
    m = make_dossier
    m(unit, procedure, "D01", received=L(2, 24), due=L(2, 27, 17))
    m(unit, procedure, "D02", received=L(2, 25), due=L(3, 5, 17), resolved=L(3, 5, 10))
    m(unit, procedure, "D03", received=L(3, 3, 0), due=L(3, 5, 17), resolved=L(3, 5, 17),
      channel="online")  # received at the first instant; resolved exactly at the due moment
    m(unit, procedure, "D04", received=L(3, 3, 8), due=L(3, 5, 17),
      resolved=L(3, 5, 17, 0, 1))  # one second late
    m(unit, procedure, "D05", received=L(3, 3), due=L(3, 7, 17), resolved=L(3, 4, 10),
      returned=L(3, 6, 15), return_method="home", attempts=2, rating=5, rated=L(3, 6, 16),
      channel="home_pickup")  # delivered home at the second attempt
    m(unit, procedure, "D06", received=L(3, 4), due=L(3, 6, 17), resolved=L(3, 4, 15),
      returned=L(3, 5), rating=1, rated=L(3, 5))
    m(unit, procedure, "D07", received=L(3, 4), due=L(3, 7, 17), closed=L(3, 6),
      channel="online")
    m(unit, procedure, "D08", received=L(3, 5), due=L(3, 6, 17), paused=L(3, 6))
    m(unit, procedure, "D09", received=L(3, 5), due=L(3, 12, 17), paused=L(3, 5, 9),
      resumed=L(3, 6), channel="home_pickup")
    m(unit, procedure, "D10", received=L(3, 9, 23, 59, 59), due=L(3, 12, 17), channel="online")
    m(unit, procedure, "D11", received=L(3, 10, 0), due=L(3, 12, 17))  # the next week
    m(unit, procedure, "D12", received=L(2, 20), due=L(2, 28, 17), resolved=L(2, 28),
      returned=L(3, 3), rating=3, rated=L(3, 3))
    m(unit, procedure, "D13", received=L(2, 20), due=L(2, 28, 17), closed=L(2, 27))
    m(unit, procedure, "D14", received=None, state=State.REJECTED, closed=L(3, 4))
    m(other, procedure, "D15", received=L(3, 4), due=L(3, 6, 17))
    m(child, procedure, "D16", received=L(3, 4), due=L(3, 6, 17))
    m(unit, procedure, "D18", received=L(2, 26), due=L(3, 3, 17), resolved=L(3, 3),
      returned=L(3, 4), return_method="home", rating=2, rated=L(3, 8))
    m(unit, procedure, "D19", received=L(3, 6), due=L(3, 10, 17), resolved=L(3, 7),
      returned=L(3, 7, 15), rating=4, rated=L(3, 9, 23))
    m(unit, procedure, "D20", received=L(3, 6), due=L(3, 7, 17), resolved=L(3, 6, 15),
      returned=L(3, 7, 10), rating=5, rated=L(3, 10, 0))  # rated after the week
    db.session.commit()


EXPECTED = {
    "carried_over": 3, "received": 11, "received_counter": 6, "received_home_pickup": 2,
    "received_online": 3, "handled": 14, "resolved": 8, "resolved_early": 4,
    "resolved_on_time": 3, "resolved_late": 1, "in_process": 5, "in_process_on_time": 2,
    "in_process_overdue": 2, "in_process_waiting": 1, "withdrawn": 1, "returned": 6,
    "returned_home": 2, "returned_counter": 4, "resolved_rate": 8 / 14,
    "in_process_rate": 5 / 14, "early_rate": 4 / 8, "on_time_rate": 3 / 8, "late_rate": 1 / 8,
    "home_delivery_rate": 2 / 6,
    "satisfaction": {"levels": {"1": 1, "2": 1, "3": 1, "4": 1, "5": 1}, "count": 5,
                     "satisfied_share": 2 / 5},
}
BEHIND = {  # the codes behind some figures
    "carried_over": {"D01", "D02", "D18"},
    "resolved_late": {"D04"},
    "resolved_on_time": {"D02", "D03", "D18"},
    "in_process_waiting": {"D08"},
    "in_process_overdue": {"D01", "D16"},
    "withdrawn": {"D07"},
    "returned_home": {"D05", "D18"},
}


def week_in_commune(make_unit, make_procedure) -> OrgUnit:
    """The week of build_week at commune 18304 (a centre TT-XA below it, unit 01 elsewhere),
    for the report's pages and API."""
    commune = db.session.scalar(select(OrgUnit).where(OrgUnit.code == "18304"))
    child = make_unit(UnitKind.CENTRE, code="TT-XA", parent=commune)
    other = db.session.scalar(select(OrgUnit).where(OrgUnit.code == "01"))
    build_week(commune, child, other, make_procedure(code="1.000001"))
    return commune
