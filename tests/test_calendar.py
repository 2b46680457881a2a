"""Working calendar and due dates: holidays, overrides, cut-offs, hour periods, pauses."""

import time as clock
from datetime import UTC, date, datetime, time, timedelta

import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from postal.deadlines.calendar import (
    TZ,
    OfficeHours,
    WorkCalendar,
    due_at,
    is_early,
    shift_for_pause,
    timeliness,
    working_seconds_between,
)

CAL = WorkCalendar()
CAL.working_days_between(date(2024, 1, 1), date(2029, 12, 31))  # load the years once
PUBLIC_MAKE_UP_DAYS = holidays.VN(years=range(2024, 2030)).weekend_workdays


def local(y, m, d, hh=10, mm=0, ss=0, us=0):
    return datetime(y, m, d, hh, mm, ss, us, tzinfo=TZ)


def close(y, m, d):
    return local(y, m, d, 17, 0)


# -- the calendar itself --------------------------------------------------------------------


def test_weekdays_work_and_weekends_do_not():
    assert CAL.is_working_day(date(2026, 3, 2))  # Monday
    assert CAL.is_working_day(date(2026, 3, 6))  # Friday
    assert not CAL.is_working_day(date(2026, 3, 7))  # Saturday
    assert not CAL.is_working_day(date(2026, 3, 8))  # Sunday


def test_tet_2027_is_off_from_4_to_10_february():
    off = [date(2027, 2, d) for d in range(4, 11)]
    assert not any(CAL.is_working_day(d) for d in off)
    assert CAL.is_working_day(date(2027, 2, 3))
    assert CAL.is_working_day(date(2027, 2, 11))
    assert CAL.holiday_name(date(2027, 2, 6)) == "Tết Nguyên Đán"


def test_national_day_2026_substitutes_monday_31_august_for_saturday_22_august():
    for d in (date(2026, 8, 31), date(2026, 9, 1), date(2026, 9, 2)):
        assert not CAL.is_working_day(d)
    assert CAL.is_working_day(date(2026, 8, 22))
    assert CAL.holiday_name(date(2026, 8, 22)) is None
    assert "22/08/2026" in CAL.holiday_name(date(2026, 8, 31))


def test_holiday_name_is_none_on_an_ordinary_day():
    assert CAL.holiday_name(date(2026, 3, 4)) is None


def test_next_working_day_is_strictly_after_and_crosses_the_new_year_holiday():
    assert CAL.next_working_day(date(2026, 3, 2)) == date(2026, 3, 3)
    assert CAL.next_working_day(date(2026, 12, 31)) == date(2027, 1, 4)


def test_add_working_days_skips_tet_both_ways():
    assert CAL.add_working_days(date(2027, 2, 3), 1) == date(2027, 2, 11)
    assert CAL.add_working_days(date(2027, 2, 11), -1) == date(2027, 2, 3)
    assert CAL.add_working_days(date(2027, 2, 6), 0) == date(2027, 2, 6)


def test_working_days_between_counts_the_end_but_not_the_start():
    assert CAL.working_days_between(date(2026, 3, 2), date(2026, 3, 9)) == 5
    assert CAL.working_days_between(date(2026, 3, 9), date(2026, 3, 2)) == -5
    assert CAL.working_days_between(date(2027, 2, 3), date(2027, 2, 11)) == 1
    # Backwards it counts the days stepped over, so add_working_days(d, -1) is -1 away.
    assert CAL.working_days_between(date(2025, 1, 1), date(2024, 12, 31)) == -1


def test_calendar_loads_years_far_from_the_first_one_asked():
    cal = WorkCalendar()
    assert cal.next_working_day(date(2026, 12, 31)) == date(2027, 1, 4)
    assert cal.add_working_days(date(2026, 1, 5), -2) == date(2025, 12, 31)
    assert cal.working_days_between(date(2020, 1, 1), date(2030, 1, 1)) > 2400


def test_manager_day_off_and_make_up_saturday_override_the_default():
    cal = WorkCalendar(days_off=[date(2026, 3, 3)], working_days=[date(2026, 3, 7)])
    assert not cal.is_working_day(date(2026, 3, 3))
    assert cal.is_working_day(date(2026, 3, 7))


def test_manager_day_off_beats_the_public_make_up_saturday():
    cal = WorkCalendar(days_off=[date(2026, 8, 22)])
    assert not cal.is_working_day(date(2026, 8, 22))


def test_a_date_cannot_be_both_off_and_working():
    with pytest.raises(ValueError):
        WorkCalendar(days_off=[date(2026, 3, 7)], working_days=[date(2026, 3, 7)])


def test_overrides_take_dates_not_datetimes():
    with pytest.raises(TypeError):
        WorkCalendar(days_off=[datetime(2026, 3, 3)])


def test_default_office_hours_close_at_five_and_last_seven_and_a_half_hours():
    hours = OfficeHours()
    assert hours.open == time(7, 30)
    assert hours.close == time(17, 0)
    assert hours.working_hours == 7.5  # 07:30–11:30 (4 h) + 13:30–17:00 (3.5 h)


def test_office_hours_reject_overlapping_or_inverted_sessions():
    with pytest.raises(ValueError):
        OfficeHours([(time(8), time(12)), (time(11), time(17))])
    with pytest.raises(ValueError):
        OfficeHours([(time(12), time(8))])
    with pytest.raises(ValueError):
        OfficeHours([])


# -- due dates in working days --------------------------------------------------------------


def test_one_day_accepted_monday_is_due_tuesday_at_close():
    assert due_at(CAL, local(2026, 3, 2), days=1) == close(2026, 3, 3)


def test_one_day_accepted_on_saturday_is_due_monday_at_close():
    assert due_at(CAL, local(2026, 3, 7), days=1) == close(2026, 3, 9)


def test_accepted_after_hours_still_counts_from_the_next_working_day():
    assert due_at(CAL, local(2026, 3, 2, 21, 0), days=1) == close(2026, 3, 3)


def test_due_date_skips_tet_2027():
    assert due_at(CAL, local(2027, 2, 3), days=1) == close(2027, 2, 11)
    assert due_at(CAL, local(2027, 2, 1), days=5) == close(2027, 2, 15)


def test_accepted_during_tet_counts_from_the_first_day_back():
    assert due_at(CAL, local(2027, 2, 6), days=1) == close(2027, 2, 11)
    assert due_at(CAL, local(2027, 2, 8), days=0) == close(2027, 2, 11)


def test_due_date_lands_on_the_make_up_saturday_before_national_day_2026():
    assert due_at(CAL, local(2026, 8, 21), days=1) == close(2026, 8, 22)
    assert due_at(CAL, local(2026, 8, 20), days=3) == close(2026, 8, 24)


def test_due_date_skips_the_national_day_2026_holidays():
    assert due_at(CAL, local(2026, 8, 28), days=1) == close(2026, 9, 3)
    assert due_at(CAL, local(2026, 9, 1), days=1) == close(2026, 9, 3)


def test_manager_extra_day_off_pushes_the_due_date():
    cal = WorkCalendar(days_off=[date(2026, 3, 3)])
    assert due_at(cal, local(2026, 3, 2), days=1) == close(2026, 3, 4)


def test_manager_make_up_saturday_can_be_the_due_date():
    cal = WorkCalendar(working_days=[date(2026, 3, 7)])
    assert due_at(cal, local(2026, 3, 6), days=1) == close(2026, 3, 7)


def test_acceptance_is_read_in_local_time():
    # 18:00 UTC on Monday is 01:00 on Tuesday in Hanoi.
    due = due_at(CAL, datetime(2026, 3, 2, 18, 0, tzinfo=UTC), days=1)
    assert due == close(2026, 3, 4)
    assert due.tzinfo is TZ


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError):
        due_at(CAL, datetime(2026, 3, 2, 10, 0), days=1)
    with pytest.raises(ValueError):
        timeliness(datetime(2026, 3, 2, 10, 0), close(2026, 3, 2))


def test_negative_periods_are_refused():
    with pytest.raises(ValueError):
        due_at(CAL, local(2026, 3, 2), days=-1)
    with pytest.raises(ValueError):
        due_at(CAL, local(2026, 3, 2), hours=0)
    with pytest.raises(ValueError):
        due_at(CAL, local(2026, 3, 2), days=1, hours=4)


# -- same-day procedures and the cut-off ----------------------------------------------------


@pytest.mark.parametrize("hh, mm, ss", [(14, 59, 59), (15, 0, 0)])
def test_same_day_at_or_before_cutoff_is_due_that_day(hh, mm, ss):
    accepted = local(2026, 3, 2, hh, mm, ss)
    assert due_at(CAL, accepted, cutoff=time(15, 0)) == close(2026, 3, 2)


def test_same_day_after_cutoff_is_due_next_working_day():
    accepted = local(2026, 3, 2, 15, 0, 1)
    assert due_at(CAL, accepted, cutoff=time(15, 0)) == close(2026, 3, 3)


def test_same_day_after_a_friday_morning_cutoff_is_due_monday():
    assert due_at(CAL, local(2026, 3, 6, 11, 31), cutoff=time(11, 30)) == close(2026, 3, 9)


def test_same_day_default_cutoff_is_the_close():
    assert due_at(CAL, local(2026, 3, 2, 17, 0)) == close(2026, 3, 2)
    assert due_at(CAL, local(2026, 3, 2, 17, 0, 0, 1)) == close(2026, 3, 3)


def test_same_day_before_opening_is_due_that_day():
    assert due_at(CAL, local(2026, 3, 2, 6, 0)) == close(2026, 3, 2)


def test_same_day_on_a_weekend_or_holiday_is_due_next_working_day():
    assert due_at(CAL, local(2026, 3, 7, 9, 0)) == close(2026, 3, 9)
    assert due_at(CAL, local(2026, 9, 2, 9, 0)) == close(2026, 9, 3)


# -- periods in working hours ---------------------------------------------------------------


def test_hours_period_skips_the_lunch_break():
    assert due_at(CAL, local(2026, 3, 2, 10, 0), hours=2) == local(2026, 3, 2, 14, 0)


def test_hours_period_continues_next_morning():
    assert due_at(CAL, local(2026, 3, 2, 16, 0), hours=2) == local(2026, 3, 3, 8, 30)


def test_hours_period_skips_the_weekend_and_holidays():
    assert due_at(CAL, local(2026, 3, 6, 16, 0), hours=2) == local(2026, 3, 9, 8, 30)
    assert due_at(CAL, local(2027, 2, 3, 16, 0), hours=2) == local(2027, 2, 11, 8, 30)


def test_hours_period_accepted_out_of_hours_starts_at_the_next_session():
    assert due_at(CAL, local(2026, 3, 2, 12, 0), hours=1) == local(2026, 3, 2, 14, 30)
    assert due_at(CAL, local(2026, 3, 2, 19, 0), hours=1) == local(2026, 3, 3, 8, 30)
    assert due_at(CAL, local(2026, 3, 7, 9, 0), hours=1) == local(2026, 3, 9, 8, 30)


def test_hours_period_ending_with_a_session_is_due_at_its_end_not_the_next_start():
    assert due_at(CAL, local(2026, 3, 2, 7, 30), hours=4) == local(2026, 3, 2, 11, 30)
    assert due_at(CAL, local(2026, 3, 2, 7, 30), hours=7.5) == close(2026, 3, 2)
    assert due_at(CAL, local(2026, 3, 2, 7, 30), hours=15) == close(2026, 3, 3)


def test_long_hours_period_spans_several_nights():
    # 40 h = 5 office days of 7.5 h + 2.5 h: next Mon 10:00, then 1.5 h to lunch + 1 h = 14:30.
    assert due_at(CAL, local(2026, 3, 2, 10, 0), hours=40) == local(2026, 3, 9, 14, 30)


def test_working_seconds_count_only_office_time():
    assert working_seconds_between(CAL, local(2026, 3, 2, 10), local(2026, 3, 2, 14)) == 7200
    assert working_seconds_between(CAL, local(2026, 3, 6, 16), local(2026, 3, 9, 8, 30)) == 7200
    week = working_seconds_between(CAL, local(2026, 3, 2, 7, 30), local(2026, 3, 9, 7, 30))
    assert week == 5 * 7.5 * 3600
    assert working_seconds_between(CAL, local(2027, 2, 3, 17), local(2027, 2, 11, 7)) == 0
    assert working_seconds_between(CAL, local(2026, 3, 2, 14), local(2026, 3, 2, 10)) == -7200


# -- pauses for supplements -----------------------------------------------------------------


def test_pause_of_two_whole_working_days_moves_the_due_date_two_working_days():
    due = close(2026, 3, 13)
    moved = shift_for_pause(CAL, due, local(2026, 3, 2, 7, 30), local(2026, 3, 4, 7, 30))
    assert moved == close(2026, 3, 17)


def test_pause_within_one_day_moves_nothing():
    due = close(2026, 3, 13)
    assert shift_for_pause(CAL, due, local(2026, 3, 2, 8), local(2026, 3, 2, 16)) == due
    assert shift_for_pause(CAL, due, local(2026, 3, 2, 16), local(2026, 3, 3, 9)) == due


def test_pause_over_a_weekend_counts_only_working_days():
    due = close(2026, 3, 13)
    moved = shift_for_pause(CAL, due, local(2026, 3, 6, 17), local(2026, 3, 9, 17))
    assert moved == close(2026, 3, 16)


def test_pause_shift_skips_holidays_after_the_old_due_date():
    due = close(2026, 8, 28)
    moved = shift_for_pause(CAL, due, local(2026, 8, 24, 7, 30), local(2026, 8, 24, 17))
    assert moved == close(2026, 9, 3)


def test_pause_cannot_end_before_it_starts():
    with pytest.raises(ValueError):
        shift_for_pause(CAL, close(2026, 3, 13), local(2026, 3, 4), local(2026, 3, 2))


# -- early / on time / late -----------------------------------------------------------------


@pytest.mark.parametrize(
    "resolved, expected",
    [
        (local(2026, 3, 3, 23, 59), "early"),
        (local(2026, 3, 4, 0, 0), "on_time"),
        (local(2026, 3, 4, 17, 0), "on_time"),
        (local(2026, 3, 4, 17, 0, 1), "late"),
        (local(2026, 3, 5, 8, 0), "late"),
    ],
)
def test_timeliness_compares_local_days_then_the_due_moment(resolved, expected):
    assert timeliness(resolved, close(2026, 3, 4)) == expected
    assert is_early(resolved, close(2026, 3, 4)) == (expected == "early")


def test_timeliness_uses_the_local_day_not_the_utc_day():
    # 17:30 UTC on Tuesday is 00:30 on Wednesday, the due day: on time, not early.
    assert timeliness(datetime(2026, 3, 3, 17, 30, tzinfo=UTC), close(2026, 3, 4)) == "on_time"


def test_due_at_is_fast_enough_for_the_generator():
    accepted = local(2026, 3, 4, 10, 15)
    start = clock.perf_counter()
    for n in range(20_000):
        due_at(CAL, accepted + timedelta(minutes=n * 37), days=n % 31)
    assert (clock.perf_counter() - start) / 20_000 < 100e-6


# -- properties -----------------------------------------------------------------------------

moments = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(TZ)
) | st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)
)
day_periods = st.integers(min_value=0, max_value=30)
hour_periods = st.integers(min_value=1, max_value=120).map(lambda q: q / 4)  # quarter hours
cutoffs = st.none() | st.times(min_value=time(7, 30), max_value=time(17, 0))
dates = st.dates(min_value=date(2025, 1, 1), max_value=date(2028, 12, 31))


def in_office_hours(moment):
    t = moment.astimezone(TZ).time()
    return any(start < t <= end for start, end in CAL.hours.sessions)


@given(moments, day_periods, cutoffs)
def test_day_period_is_due_exactly_at_close_of_a_working_non_holiday(accepted, days, cutoff):
    due = due_at(CAL, accepted, days=days, cutoff=cutoff)
    assert due.tzinfo is TZ
    assert due.time() == CAL.hours.close
    assert CAL.is_working_day(due.date())
    assert CAL.holiday_name(due.date()) is None
    assert due >= accepted
    counted = CAL.working_days_between(accepted.astimezone(TZ).date(), due.date())
    assert counted == days if days else counted in (0, 1)


@given(moments, hour_periods)
def test_hours_period_is_due_inside_office_hours_after_exactly_that_office_time(accepted, hours):
    due = due_at(CAL, accepted, hours=hours)
    assert CAL.is_working_day(due.date())
    assert CAL.holiday_name(due.date()) is None
    assert in_office_hours(due)
    assert working_seconds_between(CAL, accepted, due) == hours * 3600


@given(moments, moments, day_periods, cutoffs)
def test_later_acceptance_is_never_due_earlier_in_days(a, b, days, cutoff):
    a, b = min(a, b), max(a, b)
    assert due_at(CAL, a, days=days, cutoff=cutoff) <= due_at(CAL, b, days=days, cutoff=cutoff)


@given(moments, moments, hour_periods)
def test_later_acceptance_is_never_due_earlier_in_hours(a, b, hours):
    a, b = min(a, b), max(a, b)
    assert due_at(CAL, a, hours=hours) <= due_at(CAL, b, hours=hours)


@settings(deadline=None, max_examples=50)
@given(moments, day_periods, st.sets(dates, max_size=20), st.sets(dates, max_size=20))
def test_due_date_respects_manager_overrides(accepted, days, off, extra):
    extra = {d for d in extra - off if d.weekday() == 5}  # make-up Saturdays
    cal = WorkCalendar(days_off=off, working_days=extra)
    due = due_at(cal, accepted, days=days)
    assert due.date() not in off
    assert cal.is_working_day(due.date())
    assert due.date().weekday() < 5 or due.date() in extra | PUBLIC_MAKE_UP_DAYS


@given(dates, st.integers(min_value=-40, max_value=40))
def test_working_days_between_inverts_add_working_days(d, n):
    assert CAL.working_days_between(d, CAL.add_working_days(d, n)) == n


@given(moments, moments, day_periods)
def test_pause_never_brings_the_due_date_forward(a, b, days):
    paused, resumed = min(a, b), max(a, b)
    due = due_at(CAL, paused, days=days)
    moved = shift_for_pause(CAL, due, paused, resumed)
    assert moved >= due
    assert moved.time() == due.time()
    assert CAL.is_working_day(moved.date())
    whole = working_seconds_between(CAL, paused, resumed) // (7.5 * 3600)
    assert CAL.working_days_between(due.date(), moved.date()) == whole


@given(moments, moments)
def test_every_resolution_has_exactly_one_timeliness(resolved, due):
    verdict = timeliness(resolved, due)
    assert (verdict == "late") == (resolved > due)
    assert (verdict == "early") == (resolved.astimezone(TZ).date() < due.astimezone(TZ).date())
