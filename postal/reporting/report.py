"""Everything one report page or PDF shows, gathered from metrics and closing in one call."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy.orm import Session

from postal.models import OrgUnit
from postal.reporting import closing, metrics
from postal.reporting import corrections as period_corrections

TREND_WEEKS = 12
TREND_MONTHS = 12


@dataclass
class Tile:
    """A headline figure: a share (with the previous period's and a target) or a count."""

    key: str
    figure: str  # what its link lists (a figure of the report, or "overdue_now")
    share: float | None
    previous: float | None
    target: float | None = None
    count: int = 0
    of: int | None = None
    higher_is_better: bool = True

    @property
    def change(self) -> float | None:
        """Percentage points since the previous period."""
        if self.share is None or self.previous is None:
            return None
        return (self.share - self.previous) * 100

    @property
    def on_target(self) -> bool | None:
        if self.target is None or self.share is None:
            return None
        return self.share >= self.target


@dataclass
class ReportData:
    unit: OrgUnit | None
    date_from: date
    date_to: date
    figures: dict
    previous_from: date
    previous_to: date
    previous: dict
    closure: object | None = None
    adjustments: list = field(default_factory=list)
    corrections: list = field(default_factory=list)  # Lines recorded in the period
    breakdowns: dict = field(default_factory=dict)  # by -> [{key, label, figures}]
    weekly: list = field(default_factory=list)
    monthly: list = field(default_factory=list)
    overdue: dict | None = None
    generated_at: datetime | None = None

    def headline(self, home_target: float) -> list[Tile]:
        """The four figures a manager looks at first, each beside the previous period's."""
        fig, prev = self.figures, self.previous

        def on_time(f):
            return 1 - f["late_rate"] if f["late_rate"] is not None else None

        return [
            Tile("home", "returned_home", fig["home_delivery_rate"], prev["home_delivery_rate"],
                 target=home_target, count=fig["returned_home"], of=fig["returned"]),
            Tile("on_time", "resolved", on_time(fig), on_time(prev),
                 count=fig["resolved_early"] + fig["resolved_on_time"], of=fig["resolved"]),
            Tile("overdue", "overdue_now", None, None, higher_is_better=False,
                 count=self.overdue["total"] if self.overdue else 0),
            Tile("satisfied", "satisfied", fig["satisfaction"]["satisfied_share"],
                 prev["satisfaction"]["satisfied_share"],
                 count=fig["satisfaction"]["levels"]["4"] + fig["satisfaction"]["levels"]["5"],
                 of=fig["satisfaction"]["count"]),
        ]

    @property
    def unit_name(self) -> str:
        return self.unit.name if self.unit is not None else "Tất cả đơn vị"


def monthly_data(session: Session, unit: OrgUnit | None, date_from: date, date_to: date, *,
                 official: dict | None = None, now: datetime | None = None,
                 breakdowns=("channel", "field", "agency"), overdue: bool = False) -> ReportData:
    """The official figures of the period beside the previous period's, with the breakdowns
    and the home-delivery trends ending with the period."""
    date_from, date_to = metrics.parse_period(date_from, date_to)
    if official is None:
        official = (closing.official(session, unit, date_from, date_to) if unit is not None
                    else {"figures": metrics.summary(session, None, date_from, date_to),
                          "closure": None, "adjustments": []})
    prev_from, prev_to = metrics.previous_period(date_from, date_to)
    if unit is not None:
        previous = closing.official(session, unit, prev_from, prev_to)["figures"]
    else:
        previous = metrics.summary(session, None, prev_from, prev_to)
    data = ReportData(
        unit=unit, date_from=date_from, date_to=date_to, figures=official["figures"],
        previous_from=prev_from, previous_to=prev_to, previous=previous,
        closure=official.get("closure"), adjustments=official.get("adjustments", []),
        generated_at=now,
    )
    data.corrections = period_corrections.recorded_in(session, unit, date_from, date_to)
    if breakdowns:
        data.breakdowns = metrics.breakdowns(session, unit, date_from, date_to, breakdowns)
    week_start = date_to - timedelta(weeks=TREND_WEEKS) + timedelta(days=1)
    data.weekly = metrics.trend(session, unit, min(week_start, date_from), date_to, by="week")
    first = date_to.replace(day=1)
    year, month = divmod(first.year * 12 + first.month - 1 - (TREND_MONTHS - 1), 12)
    data.monthly = metrics.trend(session, unit, date(year, month + 1, 1), date_to, by="month")
    if overdue and now is not None:
        data.overdue = metrics.overdue_now(session, unit, now)
    return data
