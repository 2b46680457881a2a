"""One definition of "overdue": the report's table, the dashboard's "overdue now" and the list
behind each agree at every moment of a day, the due moment itself included."""

from __future__ import annotations

from datetime import UTC, date, timedelta

import pytest
from sqlalchemy import func, select

from postal.dossiers.lifecycle import State
from postal.extensions import db
from postal.reporting import metrics
from tests.factories import local, make_dossier

DAY = date(2025, 3, 5)


@pytest.fixture
def day(centre, make_procedure):
    """Dossiers around 5 March 2025 17:00, the due moment of the first."""
    p = make_procedure()
    due_today = make_dossier(centre, p, received=local(3, 3, 8), due=local(3, 5, 17))
    make_dossier(centre, p, received=local(3, 1, 8), due=local(3, 4, 17))  # due yesterday
    make_dossier(centre, p, received=local(3, 4, 8), due=local(3, 6, 17))  # due tomorrow
    make_dossier(centre, p, received=local(3, 1, 8), due=local(3, 3, 17),  # waiting
                 paused=local(3, 2, 9))
    make_dossier(centre, p, received=local(3, 1, 8), due=local(3, 3, 17),  # resolved late
                 resolved=local(3, 4, 10))
    make_dossier(centre, p, received=local(3, 5, 9), due=local(3, 5, 16),  # same day, 16:00
                 state=State.PROCESSING)
    return due_today


def _three(centre, moment):
    table = metrics.summary(db.session, centre, DAY.replace(day=1), DAY,
                            now=moment)["in_process_overdue"]
    now_total = metrics.overdue_now(db.session, centre, moment)["total"]
    behind = metrics.dossiers_behind(db.session, centre, DAY.replace(day=1), DAY,
                                     "in_process_overdue", now=moment)
    listed = db.session.scalar(select(func.count()).select_from(behind.subquery()))
    return table, now_total, listed


@pytest.mark.parametrize(("moment", "expected"), [
    (local(3, 5, 8), 1),                       # only yesterday's
    (local(3, 5, 16), 1),                      # the 16:00 one is due exactly now: not yet
    (local(3, 5, 16, 1), 2),                   # ... and a minute later it is
    (local(3, 5, 17), 2),                      # today's due moment itself: not yet overdue
    (local(3, 5, 17) + timedelta(seconds=1), 3),
    (local(3, 5, 23, 59), 3),
])
def test_the_table_the_tile_and_the_list_agree(centre, day, moment, expected):
    assert _three(centre, moment.astimezone(UTC)) == (expected, expected, expected)


def test_a_past_period_counts_what_was_overdue_at_its_end(centre, day):
    """A closed day keeps its own figure, whatever the clock says now."""
    yesterday = DAY - timedelta(days=1)
    later = local(3, 10, 9)
    figures = metrics.summary(db.session, centre, yesterday, yesterday, now=later)
    assert figures["in_process_overdue"] == 1  # due 4 March 17:00, open at its end
