"""The report of domain.md computed from hand-built histories: every category and boundary."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from postal.core.errors import Conflict, NotFound, ValidationFailed
from postal.core.time import TZ
from postal.extensions import db
from postal.models import Dossier, Item, ItemKind, OrgUnit, ReportClosure, UnitKind
from postal.reporting import closing, metrics
from tests.metrics_factories import BEHIND, EXPECTED, WEEK, L, build_week, make_dossier


@pytest.fixture
def commune(app):
    return db.session.scalar(select(OrgUnit).where(OrgUnit.code == "18304"))


@pytest.fixture
def week(commune, make_unit, make_procedure):
    child = make_unit(UnitKind.CENTRE, code="TT-XA", parent=commune)
    other = db.session.scalar(select(OrgUnit).where(OrgUnit.code == "01"))
    procedure = make_procedure(code="1.000001")
    build_week(commune, child, other, procedure)
    return commune


def test_every_category_and_boundary_of_the_week(week):
    assert metrics.summary(db.session, week, *WEEK) == EXPECTED


def test_the_index_path_and_the_scan_give_the_same_figures(week, monkeypatch):
    monkeypatch.setattr(metrics, "SQLITE_INDEX_ROWS", 0)  # SQLite: a plain scan
    assert metrics.summary(db.session, week, *WEEK) == EXPECTED


def test_every_figure_lists_exactly_the_dossiers_it_counts(week):
    report = metrics.summary(db.session, week, *WEEK)
    counts = {k: v for k, v in report.items() if isinstance(v, int)}
    counts.update({f"rating_{n}": report["satisfaction"]["levels"][str(n)] for n in range(1, 6)})
    counts["rated"] = report["satisfaction"]["count"]
    counts["satisfied"] = 2
    for figure, value in counts.items():
        stmt = metrics.dossiers_behind(db.session, week, *WEEK, figure)
        codes = set(db.session.scalars(stmt.with_only_columns(Dossier.code)))
        assert len(codes) == value, figure
        if figure in BEHIND:
            assert codes == BEHIND[figure], figure


def test_a_unit_counts_its_subtree_only(week, make_unit):
    child = db.session.scalar(select(OrgUnit).where(OrgUnit.code == "TT-XA"))
    report = metrics.summary(db.session, child, *WEEK)
    assert report["received"] == 1 and report["in_process_overdue"] == 1
    province = db.session.scalar(select(OrgUnit).where(OrgUnit.code == "42"))
    assert metrics.summary(db.session, province, *WEEK) == EXPECTED
    everything = metrics.summary(db.session, None, *WEEK)
    assert everything["received"] == EXPECTED["received"] + 1  # D15, in Hà Nội


def test_an_empty_period_has_null_rates(week):
    report = metrics.summary(db.session, week, "2020-01-01", "2020-01-31")
    assert report["handled"] == 0
    assert report["resolved_rate"] is None and report["home_delivery_rate"] is None
    assert report["satisfaction"] == {"levels": {str(n): 0 for n in range(1, 6)}, "count": 0,
                                      "satisfied_share": None}


def test_resolved_on_a_holiday_after_the_due_day_is_late(commune, make_procedure):
    procedure = make_procedure(code="1.000002")
    # due Tuesday 29/4/2025; resolved on Wednesday 30/4, Reunification Day
    make_dossier(commune, procedure, "H1", received=L(4, 25), due=L(4, 29, 17),
                 resolved=L(4, 30, 10))
    # due the Friday before Tết 2025 (29/1 is the first day), resolved on that Friday
    make_dossier(commune, procedure, "H2", received=L(1, 20), due=L(1, 24, 17),
                 resolved=L(1, 24, 16, 59, 59))
    db.session.commit()
    report = metrics.summary(db.session, commune, "2025-04-28", "2025-05-04")
    assert (report["resolved"], report["resolved_late"]) == (1, 1)
    report = metrics.summary(db.session, commune, "2025-01-20", "2025-01-26")
    assert (report["resolved_on_time"], report["received"]) == (1, 1)


def test_carried_over_chains_across_consecutive_periods(commune, make_procedure):
    procedure = make_procedure(code="1.000003")
    make_dossier(commune, procedure, "C1", received=L(3, 5), due=L(3, 20, 17),
                 resolved=L(3, 18))
    db.session.commit()
    weeks = [("2025-03-03", "2025-03-09"), ("2025-03-10", "2025-03-16"),
             ("2025-03-17", "2025-03-23"), ("2025-03-24", "2025-03-30")]
    got = [(r["carried_over"], r["received"], r["resolved"], r["in_process"]) for r in
           (metrics.summary(db.session, commune, *w) for w in weeks)]
    assert got == [(0, 1, 0, 1), (1, 0, 0, 1), (1, 0, 1, 0), (0, 0, 0, 0)]


def test_breakdowns_add_up_to_the_report(week):
    for by in metrics.BREAKDOWNS:
        groups = metrics.breakdown(db.session, week, *WEEK, by=by)
        for key in ("handled", "resolved_late", "returned_home", "in_process_waiting"):
            assert sum(g["figures"][key] for g in groups) == EXPECTED[key], (by, key)
        for g in groups:
            stmt = metrics.dossiers_behind(db.session, week, *WEEK, "handled", by=by,
                                           key=g["key"])
            n = db.session.scalar(select(func.count()).select_from(stmt.subquery()))
            assert n == g["figures"]["handled"], (by, g["key"])
    communes = metrics.breakdown(db.session, week, *WEEK, by="commune")
    assert [g["key"] for g in communes] == ["18304"]  # the centre rolls up to its commune
    channels = {g["key"]: g["figures"]["received"] for g in
                metrics.breakdown(db.session, week, *WEEK, by="channel")}
    assert channels == {"counter": 6, "home_pickup": 2, "online": 3}
    with pytest.raises(ValidationFailed):
        metrics.breakdown(db.session, week, *WEEK, by="colour")


def test_home_delivery_trend_by_week_and_month(week):
    weeks = metrics.trend(db.session, week, "2025-02-24", "2025-03-09", by="week")
    assert [(w["start"], w["returned"], w["returned_home"]) for w in weeks] == [
        (date(2025, 2, 24), 0, 0), (date(2025, 3, 3), 6, 2)]
    assert weeks[1]["home_delivery_rate"] == pytest.approx(1 / 3)
    assert weeks[0]["home_delivery_rate"] is None
    months = metrics.trend(db.session, week, "2025-02-01", "2025-03-31", by="month")
    assert [(m["start"], m["end"], m["returned"]) for m in months] == [
        (date(2025, 2, 1), date(2025, 2, 28), 0), (date(2025, 3, 1), date(2025, 3, 31), 6)]


def test_overdue_now_names_who_holds_the_papers(week, make_user):
    clerk = make_user("courier", unit=week)
    d01 = db.session.scalar(select(Dossier).where(Dossier.code == "D01"))
    db.session.add(Item(number="EA000000015VN", dossier_id=d01.id, kind=ItemKind.FOLDER,
                        holder_unit_id=week.id, holder_user_id=clerk.id))
    db.session.commit()
    now = L(3, 7, 12)
    found = metrics.overdue_now(db.session, week, now)
    # D01 (due 27/2) and D16 (due 6/3); D08 waits for supplements, so it is not overdue
    assert [r["dossier"].code for r in found["rows"]] == ["D01", "D16"]
    assert found["total"] == 2
    assert found["rows"][0]["holder_user"].id == clerk.id
    assert found["rows"][0]["overdue"] > timedelta(days=7)


def test_periods_are_checked_and_the_previous_one_matches(week):
    with pytest.raises(ValidationFailed) as caught:
        metrics.summary(db.session, week, "2025-03-09", "2025-03-03")
    assert caught.value.field == "from"
    with pytest.raises(ValidationFailed) as caught:
        metrics.parse_period("2025-02-30", "2025-03-01")
    assert caught.value.field == "from"
    assert metrics.previous_period(date(2025, 3, 1), date(2025, 3, 31)) == (
        date(2025, 2, 1), date(2025, 2, 28))
    assert metrics.previous_period(date(2025, 1, 1), date(2025, 3, 31)) == (
        date(2024, 10, 1), date(2024, 12, 31))
    assert metrics.previous_period(date(2025, 3, 3), date(2025, 3, 9)) == (
        date(2025, 2, 24), date(2025, 3, 2))
    start, end = metrics.period_bounds(date(2025, 3, 3), date(2025, 3, 9))
    assert start == datetime(2025, 3, 3, tzinfo=TZ) and end == datetime(2025, 3, 10, tzinfo=TZ)
    with pytest.raises(NotFound):
        metrics.unit_by_code(db.session, "nowhere")
    assert metrics.unit_by_code(db.session, "4").code in ("04", "00004")


def test_a_closed_month_keeps_its_figures_and_a_correction_adjusts_the_next(week, make_user):
    manager = make_user("manager", unit=week)
    now = datetime(2025, 5, 2, 8, tzinfo=TZ)
    march = closing.close_month(db.session, manager, week, date(2025, 3, 15), now=now)
    db.session.commit()
    frozen = dict(march.figures)
    assert closing.official(db.session, week, "2025-03-01", "2025-03-31")["figures"] == frozen
    with pytest.raises(Conflict):
        closing.close_month(db.session, manager, week, date(2025, 3, 1), now=now)
    with pytest.raises(ValidationFailed):
        closing.close_month(db.session, manager, week, date(2025, 5, 1), now=now)
    # a correction after closing: D04 was in fact resolved on time
    d04 = db.session.scalar(select(Dossier).where(Dossier.code == "D04"))
    d04.timeliness = "on_time"
    db.session.commit()
    official = closing.official(db.session, week, "2025-03-01", "2025-03-31")
    assert official["figures"] == frozen and official["closure"].id == march.id
    april = closing.official(db.session, week, "2025-04-01", "2025-04-30")
    assert april["adjustments"] == [{"month": "2025-03", "changes": {
        "resolved_on_time": 1, "resolved_late": -1}}]
    closure = closing.close_month(db.session, manager, week, date(2025, 4, 1), now=now)
    db.session.commit()
    assert closure.adjustments == [{"month": "2025-03", "changes": {
        "resolved_on_time": 1, "resolved_late": -1}}]
    assert closing.official(db.session, week, "2025-04-01", "2025-04-30")["adjustments"] == \
        closure.adjustments
    # reported once: May sees nothing pending
    assert closing.official(db.session, week, "2025-05-01", "2025-05-31")["adjustments"] == []
    assert db.session.scalar(select(func.count()).select_from(ReportClosure)) == 2
