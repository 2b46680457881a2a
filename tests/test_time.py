"""Reading moments (postal.core.time.parse_moment): one parser for imports, corrections, the
API and the door page; text without an offset is read as each caller asks."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from postal.core.time import TZ, local, parse_moment


def test_an_offset_is_kept_and_a_bare_date_is_local_midnight():
    assert parse_moment("2025-03-05T09:30+07:00") == datetime(2025, 3, 5, 2, 30, tzinfo=UTC)
    assert parse_moment("2025-03-05") == datetime(2025, 3, 5, tzinfo=TZ)
    assert parse_moment(date(2025, 3, 5)) == datetime(2025, 3, 5, tzinfo=TZ)


@pytest.mark.parametrize("naive, expected", [
    ("local", datetime(2025, 3, 5, 9, 30, tzinfo=TZ)),
    ("ignore", None),
])
def test_text_without_an_offset_is_read_as_the_caller_asks(naive, expected):
    assert parse_moment("2025-03-05T09:30", naive=naive) == expected


@pytest.mark.parametrize("value", ["2025-03-05T09:30", datetime(2025, 3, 5, 9, 30)])
def test_a_caller_that_needs_an_offset_refuses_a_moment_without_one(value):
    with pytest.raises(ValueError, match="time zone"):
        parse_moment(value, naive="refuse")


@pytest.mark.parametrize("value", [None, "", "   "])
def test_nothing_is_no_moment(value):
    assert parse_moment(value) is None


@pytest.mark.parametrize("value", ["yesterday", "2025-13-01", "05/03/2025 09:30x"])
def test_unreadable_text_raises_for_the_caller_to_name_its_field(value):
    with pytest.raises(ValueError):
        parse_moment(value)


def test_stored_moments_are_shown_in_local_time():
    assert local(datetime(2025, 3, 5, 2, 30, tzinfo=UTC)) == "05/03/2025 09:30"
    assert local(datetime(2025, 3, 5, 2, 30)) == "05/03/2025 09:30"  # naive: stored UTC
    assert local("2025-03-05T02:30:00+00:00", "%H:%M") == "09:30"
    assert local(None) == ""
