"""Working calendar of a Vietnamese public office and the due dates computed on it."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Literal

import holidays

from postal.core.time import TZ

_MIDNIGHT = time(0)
_DEFAULT_SESSIONS = ((time(7, 30), time(11, 30)), (time(13, 30), time(17, 0)))

Timeliness = Literal["early", "on_time", "late"]


def _local(dt: datetime) -> datetime:
    """Return an aware datetime in local time; refuse naive ones, which are ambiguous."""
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"naive datetime {dt!r}: pass a timezone-aware datetime")
    return dt.astimezone(TZ)


def _since_midnight(t: time) -> timedelta:
    """Wall-clock offset of a time of day from midnight."""
    return timedelta(hours=t.hour, minutes=t.minute, seconds=t.second, microseconds=t.microsecond)


@dataclass(frozen=True)
class OfficeHours:
    """Daily office sessions (local wall-clock times), in order and not overlapping."""

    sessions: Sequence[tuple[time, time]] = _DEFAULT_SESSIONS
    spans: tuple[tuple[timedelta, timedelta], ...] = field(init=False, repr=False, compare=False)
    working_day: timedelta = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        sessions = tuple((start, end) for start, end in self.sessions)
        if not sessions:
            raise ValueError("office hours need at least one session")
        previous_end = _MIDNIGHT
        for start, end in sessions:
            if start.tzinfo is not None or end.tzinfo is not None:
                raise ValueError("office hours are local wall-clock times, without tzinfo")
            if not previous_end <= start < end:
                raise ValueError(f"sessions must be ordered and not overlap: {sessions!r}")
            previous_end = end
        object.__setattr__(self, "sessions", sessions)
        spans = tuple((_since_midnight(s), _since_midnight(e)) for s, e in sessions)
        object.__setattr__(self, "spans", spans)
        object.__setattr__(self, "working_day", sum((e - s for s, e in spans), timedelta()))

    @property
    def open(self) -> time:
        """Start of the first session."""
        return self.sessions[0][0]

    @property
    def close(self) -> time:
        """End of the last session: the due moment of day-based periods."""
        return self.sessions[-1][1]

    @property
    def working_hours(self) -> float:
        """Office hours in one working day (7.5 for the default sessions)."""
        return self.working_day / timedelta(hours=1)

    def office_time_within(self, start: timedelta, end: timedelta) -> timedelta:
        """Office time between two offsets from midnight on one working day."""
        total = timedelta()
        for s, e in self.spans:
            lo, hi = max(s, start), min(e, end)
            if hi > lo:
                total += hi - lo
        return total


class WorkCalendar:
    """Mon–Fri less VN public holidays and manager days off, plus make-up working days."""

    def __init__(
        self,
        days_off: Iterable[date] = (),
        working_days: Iterable[date] = (),
        hours: OfficeHours = OfficeHours(),  # noqa: B008 - frozen, safe to share
        *,
        language: str = "vi",
    ) -> None:
        self.days_off = frozenset(_plain_date(d) for d in days_off)
        self.working_days = frozenset(_plain_date(d) for d in working_days)
        both = self.days_off & self.working_days
        if both:
            raise ValueError(f"dates both off and working: {sorted(both)}")
        self.hours = hours
        # Pinned so holiday names do not depend on the process locale.
        self.language = language
        self._public: dict[int, holidays.HolidayBase] = {}
        self._names: dict[date, str] = {}
        self._make_up: set[date] = set()
        self._years: tuple[int, int] | None = None
        self._work: list[int] = []  # ordinals of working days over the loaded years, sorted
        self._is_work: set[int] = set()

    def __repr__(self) -> str:
        return (
            f"WorkCalendar(days_off={len(self.days_off)}, "
            f"working_days={len(self.working_days)}, hours={self.hours.sessions!r})"
        )

    # -- lazy per-year tables -------------------------------------------------
    def _vn(self, year: int) -> holidays.HolidayBase:
        if year not in self._public:
            self._public[year] = holidays.VN(years=year, language=self.language)
        return self._public[year]

    def _load(self, first: int, last: int) -> None:
        """Extend the loaded years to a contiguous range covering [first, last]."""
        if self._years is not None:
            first, last = min(first, self._years[0]), max(last, self._years[1])
            if (first, last) == self._years:
                return
        for year in range(first, last + 1):
            vn = self._vn(year)
            self._names.update((d, n) for d, n in vn.items() if d.year == year)
            # A make-up Saturday can fall in the year before or after the day it pays back.
            for y in (year - 1, year, year + 1):
                self._make_up.update(d for d in self._vn(y).weekend_workdays if d.year == year)
        start, end = date(first, 1, 1).toordinal(), date(last, 12, 31).toordinal()
        self._work = [o for o in range(start, end + 1) if self._compute(date.fromordinal(o))]
        self._is_work = set(self._work)
        self._years = (first, last)

    def _compute(self, d: date) -> bool:
        if d in self.working_days:
            return True
        if d in self.days_off or d in self._names:
            return False
        return d.weekday() < 5 or d in self._make_up

    def _ensure(self, year: int) -> None:
        if self._years is None or not self._years[0] <= year <= self._years[1]:
            self._load(year, year)

    # -- public API -------------------------------------------------------------
    def is_working_day(self, d: date) -> bool:
        """True if the office is open on this date."""
        self._ensure(d.year)
        return d.toordinal() in self._is_work

    def holiday_name(self, d: date) -> str | None:
        """Name of the public holiday (holidays.VN, in `language`) on this date, or None."""
        self._ensure(d.year)
        return self._names.get(_plain_date(d))

    def next_working_day(self, d: date) -> date:
        """First working day strictly after d."""
        return self.add_working_days(d, 1)

    def add_working_days(self, d: date, n: int) -> date:
        """The n-th working day after d (before d if n < 0); d itself if n == 0."""
        if n == 0:
            return d
        o = d.toordinal()
        self._ensure(d.year)
        if n > 0:
            while True:
                i = bisect_right(self._work, o) + n - 1
                if i < len(self._work):
                    return date.fromordinal(self._work[i])
                self._load(self._years[0], self._years[1] + 1)  # type: ignore[index]
        while True:
            i = bisect_left(self._work, o) + n
            if i >= 0:
                return date.fromordinal(self._work[i])
            self._load(self._years[0] - 1, self._years[1])  # type: ignore[index]

    def working_days_between(self, a: date, b: date) -> int:
        """Working days in (a, b], or minus those in [b, a) if b < a: add_working_days undone."""
        if b < a:
            self._load(b.year, a.year)
            lo, hi = bisect_left(self._work, b.toordinal()), bisect_left(self._work, a.toordinal())
            return lo - hi
        self._load(a.year, b.year)
        return bisect_right(self._work, b.toordinal()) - bisect_right(self._work, a.toordinal())


def _plain_date(d: date) -> date:
    """Refuse datetimes where dates are meant: they never compare equal to a date."""
    if isinstance(d, datetime):
        raise TypeError(f"expected a date, got a datetime: {d!r}")
    return d


def _close_of(calendar: WorkCalendar, d: date) -> datetime:
    return datetime.combine(d, calendar.hours.close, tzinfo=TZ)


def due_at(
    calendar: WorkCalendar,
    accepted_at: datetime,
    *,
    days: int = 0,
    hours: float | None = None,
    cutoff: time | None = None,
) -> datetime:
    """Due moment of a period of working days (or working hours) starting at acceptance.

    Days: count starts on the first working day after the acceptance date; due at close of
    the last counted day. days=0: accepted on a working day at or before `cutoff` (default the
    close) → due that day at close, otherwise close of the next working day. `cutoff` only
    applies to same-day procedures. Hours: office time is counted from acceptance (or the next
    session start) and the due moment is when the N-th working hour ends.
    """
    local = _local(accepted_at)
    if hours is not None:
        if days:
            raise ValueError("give a period in days or in hours, not both")
        if hours <= 0:
            raise ValueError(f"hours must be positive, got {hours!r}")
        return _add_office_time(calendar, local, timedelta(hours=hours))
    if days < 0:
        raise ValueError(f"days must not be negative, got {days!r}")
    d = local.date()
    if days == 0:
        limit = calendar.hours.close if cutoff is None else cutoff
        if calendar.is_working_day(d) and local.time() <= limit:
            return _close_of(calendar, d)
        return _close_of(calendar, calendar.next_working_day(d))
    return _close_of(calendar, calendar.add_working_days(d, days))


def _add_office_time(calendar: WorkCalendar, local: datetime, amount: timedelta) -> datetime:
    """Moment at which `amount` of office time has elapsed after `local`."""
    spans = calendar.hours.spans
    day_length = calendar.hours.working_day
    d, t = local.date(), local - datetime.combine(local.date(), _MIDNIGHT, tzinfo=TZ)
    if not calendar.is_working_day(d):
        d, t = calendar.next_working_day(d), timedelta()
    while True:
        for s, e in spans:
            if t >= e:
                continue
            start = max(t, s)
            if amount <= e - start:
                return datetime.combine(d, _MIDNIGHT, tzinfo=TZ) + start + amount
            amount -= e - start
        d, t = calendar.next_working_day(d), timedelta()
        # Skip whole days at once, keeping the last one for the loop (so exact multiples end
        # at a close rather than at the next morning's opening).
        whole = (amount - timedelta(microseconds=1)) // day_length
        if whole:
            d, amount = calendar.add_working_days(d, whole), amount - whole * day_length


def working_seconds_between(calendar: WorkCalendar, start: datetime, end: datetime) -> float:
    """Office-hours seconds on working days between two moments (negative if end < start)."""
    a, b = _local(start), _local(end)
    if b < a:
        return -working_seconds_between(calendar, end, start)
    hours = calendar.hours
    a_off = a - datetime.combine(a.date(), _MIDNIGHT, tzinfo=TZ)
    b_off = b - datetime.combine(b.date(), _MIDNIGHT, tzinfo=TZ)
    total = timedelta()
    if a.date() == b.date():
        if calendar.is_working_day(a.date()):
            total = hours.office_time_within(a_off, b_off)
        return total.total_seconds()
    if calendar.is_working_day(a.date()):
        total += hours.office_time_within(a_off, timedelta(days=1))
    if calendar.is_working_day(b.date()):
        total += hours.office_time_within(timedelta(), b_off)
    # Days strictly between the two dates are either whole office days or closed.
    between = calendar.working_days_between(a.date(), b.date() - timedelta(days=1))
    return (total + between * hours.working_day).total_seconds()


def shift_for_pause(
    calendar: WorkCalendar, due_at: datetime, paused_at: datetime, resumed_at: datetime
) -> datetime:
    """Push the due moment by the whole working days of office time a supplement pause took.

    The deadline clock stops while the dossier waits for supplements and the time already
    used still counts. Deadlines are set in working days, so the pause is measured in office
    time on working days and rounded down to whole days: a pause covering N working days of
    office time (N × 8 h by default) moves the due moment N working days later, keeping its
    time of day; a pause shorter than one office day moves nothing.
    """
    due = _local(due_at)
    if _local(resumed_at) < _local(paused_at):
        raise ValueError("a pause cannot end before it starts")
    paused = timedelta(seconds=working_seconds_between(calendar, paused_at, resumed_at))
    whole = paused // calendar.hours.working_day
    if not whole:
        return due
    return datetime.combine(calendar.add_working_days(due.date(), whole), due.timetz())


def is_early(resolved_at: datetime, due_at: datetime) -> bool:
    """Resolved on a local day before the due day."""
    return _local(resolved_at).date() < _local(due_at).date()


def timeliness(resolved_at: datetime, due_at: datetime) -> Timeliness:
    """Early (an earlier day), on time (by the due moment) or late (after it)."""
    if is_early(resolved_at, due_at):
        return "early"
    return "on_time" if _local(resolved_at) <= _local(due_at) else "late"
