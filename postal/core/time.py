"""Time: the one time zone of the offices, reading moments from text, showing them locally.

Moments are stored in UTC and shown in Vietnam's time (UTC+7, no daylight saving).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Literal
from zoneinfo import ZoneInfo

TZ = ZoneInfo("Asia/Ho_Chi_Minh")

Naive = Literal["local", "refuse", "ignore"]


# No dossier of this system is older: a moment before is a broken clock or a typo (and year 1
# at +14:00 cannot even be converted to UTC)
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)


def as_utc(at: datetime) -> datetime:
    """`at` in UTC; a moment too far out to convert counts as the earliest possible one."""
    try:
        return at.astimezone(UTC)
    except OverflowError:
        return datetime.min.replace(tzinfo=UTC) if at.year < 2 else datetime.max.replace(
            tzinfo=UTC)


def parse_moment(value, *, naive: Naive = "local") -> datetime | None:
    """A moment from ISO 8601 text (or a date or datetime, as XLSX cells give them).

    A bare date is 00:00 local time. Text without an offset is, by `naive`: local time
    ("local"), refused with ValueError ("refuse"), or no moment at all ("ignore": the caller
    uses its own clock). Empty is None; unreadable text raises ValueError.
    """
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime.combine(value, time(0))
    else:
        text = " ".join(str(value).split())
        if not text:
            return None
        moment = datetime.fromisoformat(text)
    if moment.tzinfo is None or moment.utcoffset() is None:
        if naive == "refuse":
            raise ValueError("a moment needs its time zone offset")
        if naive == "ignore":
            return None
        return moment.replace(tzinfo=TZ)
    return moment


def local(value: datetime | str | None, fmt: str = "%d/%m/%Y %H:%M") -> str:
    """A stored UTC moment (or its ISO 8601 text, as event data keeps it) as local time."""
    if value is None:
        return ""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)  # stored moments are UTC
    try:
        return value.astimezone(TZ).strftime(fmt)
    except OverflowError:  # year 9999 and the like: shown as stored
        return value.isoformat()
