"""Closing a month: its official figures are frozen; later corrections become adjustments.

A closed month's report is the frozen one. A dossier of a closed month that changes afterwards
moves the month's live figures away from the ones reported; the difference (live − reported)
is shown as an adjustment line in the reports after the last closed month, and is frozen into
the next month's closure when that one is closed (the earlier month then counts as reported
at its live figures, so a correction is reported once).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from postal.core import audit
from postal.core.errors import Conflict, ValidationFailed
from postal.core.time import TZ
from postal.models import OrgUnit, ReportClosure, User
from postal.reporting import metrics

ADJUSTABLE = (*metrics.COUNTS, *(f"rating_{n}" for n in metrics.LEVELS))
RECENT_CLOSURES = 6  # closed months re-checked for corrections on each report


def month_bounds(month: date) -> tuple[date, date]:
    first = month.replace(day=1)
    following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return first, following - timedelta(days=1)


def is_whole_month(date_from: date, date_to: date) -> bool:
    return date_from.day == 1 and month_bounds(date_from)[1] == date_to


def flat(report: dict) -> dict[str, int]:
    """The adjustable counts of a report (the satisfaction levels as rating_N)."""
    counts = {k: report[k] for k in metrics.COUNTS}
    counts.update({f"rating_{n}": report["satisfaction"]["levels"][str(n)]
                   for n in metrics.LEVELS})
    return counts


def closures(session: Session, unit: OrgUnit) -> list[ReportClosure]:
    return list(session.scalars(select(ReportClosure).where(ReportClosure.unit_id == unit.id)
                                .order_by(ReportClosure.month.desc())))


def closure_for(session: Session, unit: OrgUnit, month: date) -> ReportClosure | None:
    return session.scalar(select(ReportClosure).where(
        ReportClosure.unit_id == unit.id, ReportClosure.month == month.replace(day=1)))


def pending_adjustments(session: Session, unit: OrgUnit, *, limit: int = RECENT_CLOSURES
                        ) -> list[tuple[ReportClosure, dict[str, int]]]:
    """Closed months whose live figures moved since they were reported, with the changes."""
    out = []
    for closure in closures(session, unit)[:limit]:
        live = flat(metrics.summary(session, unit, *month_bounds(closure.month)))
        changes = {k: live[k] - closure.reported.get(k, 0) for k in ADJUSTABLE
                   if live[k] != closure.reported.get(k, 0)}
        if changes:
            out.append((closure, changes))
    return out


def close_month(session: Session, user: User | None, unit: OrgUnit, month: date, *,
                now: datetime) -> ReportClosure:
    """Freeze `unit`'s figures for the month; report pending corrections of earlier months."""
    if month.year >= now.astimezone(TZ).year + 1:  # also keeps month_bounds off year 10000
        raise ValidationFailed("chỉ khoá được tháng đã kết thúc", field="month")
    if month < metrics.EARLIEST:
        raise ValidationFailed(f"tháng từ {metrics.EARLIEST:%m/%Y} trở đi", field="month")
    first, last = month_bounds(month)
    if last >= now.astimezone(TZ).date():
        raise ValidationFailed("chỉ khoá được tháng đã kết thúc", field="month")
    if closure_for(session, unit, first) is not None:
        raise Conflict(f"tháng {first:%m/%Y} đã khoá số liệu", field="month")
    lines = []
    for earlier, changes in pending_adjustments(session, unit):
        if earlier.month > first:
            continue
        lines.append({"month": f"{earlier.month:%Y-%m}", "changes": changes})
        earlier.reported = {k: earlier.reported.get(k, 0) + changes.get(k, 0)
                            for k in ADJUSTABLE}
    figures = metrics.summary(session, unit, first, last)
    closure = ReportClosure(unit_id=unit.id, month=first, figures=figures, reported=flat(figures),
                            adjustments=lines, closed_at=now,
                            closed_by_id=user.id if user else None)
    session.add(closure)
    session.flush()
    audit.record(session, user, "month_close", "report_closure", f"{unit.code}:{first:%Y-%m}",
                 adjustments=len(lines))
    return closure


def official(session: Session, unit: OrgUnit, date_from: date, date_to: date) -> dict:
    """{figures, closure, adjustments}: a closed month's frozen figures and the corrections it
    reported; otherwise live figures and, after the last closed month, pending corrections."""
    date_from, date_to = metrics.parse_period(date_from, date_to)
    closure = closure_for(session, unit, date_from) if is_whole_month(date_from, date_to) else None
    if closure is not None:
        return {"figures": closure.figures, "closure": closure,
                "adjustments": list(closure.adjustments)}
    latest = session.scalar(select(ReportClosure.month).where(ReportClosure.unit_id == unit.id)
                            .order_by(ReportClosure.month.desc()).limit(1))
    adjustments = []
    if latest is not None and date_from > latest:
        adjustments = [{"month": f"{c.month:%Y-%m}", "changes": changes}
                       for c, changes in pending_adjustments(session, unit)]
    return {"figures": metrics.summary(session, unit, date_from, date_to), "closure": None,
            "adjustments": adjustments}
