"""Working time: legal deadlines of citizen reports count office hours and working days only."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loa.kit.worktime import (
    DEFAULT_PERIODS,
    MAKEUP_PERIODS,
    VN,
    WorkCalendar,
    vietnam_calendar,
)

PLUS7 = timezone(timedelta(hours=7))
CALENDAR = vietnam_calendar([2025, 2026, 2027])
PLAIN = WorkCalendar()


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=PLUS7)


def test_five_working_days_from_a_friday_end_the_next_friday_at_closing() -> None:
    due = CALENDAR.add_working_days(local(2026, 11, 27, 10), 5)
    assert due == local(2026, 12, 4, 17)
    assert due.tzinfo is UTC


def test_eight_working_hours_from_friday_afternoon_end_monday_afternoon() -> None:
    # 2 h on Friday (15:00–17:00), 6 h on Monday (07:30–11:30, 13:00–15:00).
    assert CALENDAR.add_working_hours(local(2026, 11, 27, 15), 8) == local(2026, 11, 30, 15)
    assert CALENDAR.working_seconds_between(local(2026, 11, 27, 15), local(2026, 11, 30, 15)) == 8 * 3600


def test_tet_2026_is_skipped() -> None:
    # The package gives Mon 16 – Fri 20 February 2026 (Lunar New Year's Eve to the fourth day).
    assert sorted(day for day in CALENDAR.holidays if (day.year, day.month) == (2026, 2)) == [
        date(2026, 2, day) for day in range(16, 21)
    ]
    # Received Thursday 12 Feb: Friday 13 is day 1, then the Tết week is off: Monday 23, Tuesday 24.
    assert CALENDAR.add_working_days(local(2026, 2, 12, 9), 3) == local(2026, 2, 24, 17)
    assert CALENDAR.add_working_hours(local(2026, 2, 13, 16), 2) == local(2026, 2, 23, 8, 30)
    assert CALENDAR.working_seconds_between(local(2026, 2, 13, 17), local(2026, 2, 23, 7, 30)) == 0
    assert CALENDAR.next_working_moment(local(2026, 2, 17, 10)) == local(2026, 2, 23, 7, 30)


def test_reunification_and_labour_day_are_skipped() -> None:
    assert {date(2026, 4, 30), date(2026, 5, 1)} <= CALENDAR.holidays
    # Received Wednesday 29 April: Thursday 30/4 and Friday 1/5 are off, the weekend too.
    assert CALENDAR.add_working_days(local(2026, 4, 29, 9), 2) == local(2026, 5, 5, 17)
    # Received Friday 24 April: Hung Kings' day (observed Monday 27/4) is off as well.
    assert CALENDAR.add_working_days(local(2026, 4, 24, 9), 3) == local(2026, 5, 4, 17)


def test_a_make_up_saturday_counts() -> None:
    # 2026: Saturday 22 August is worked in exchange for Monday 31 August (the package knows it).
    assert date(2026, 8, 22) in CALENDAR.working_days
    assert date(2026, 8, 31) in CALENDAR.holidays
    assert CALENDAR.periods_of(date(2026, 8, 22)) == MAKEUP_PERIODS
    assert CALENDAR.add_working_days(local(2026, 8, 21, 10), 1) == local(2026, 8, 22, 17)
    # Received Friday 28 August: Monday 31/8 (the exchanged day) and National Day 1–2/9 are off.
    assert CALENDAR.add_working_days(local(2026, 8, 28, 10), 1) == local(2026, 9, 3, 17)
    # An operator-declared make-up Saturday counts too.
    saturday = date(2026, 10, 10)
    assert not CALENDAR.is_working_day(saturday)
    extended = vietnam_calendar([2026], extra_working_days=[saturday])
    assert extended.add_working_hours(local(2026, 10, 9, 16), 2) == local(2026, 10, 10, 8, 30)


def test_operator_added_holiday_is_skipped_and_removed_holiday_counts() -> None:
    provincial_day = date(2026, 12, 1)  # a Tuesday
    with_extra = vietnam_calendar([2026], extra_holidays=[provincial_day])
    assert with_extra.add_working_days(local(2026, 11, 27, 10), 5) == local(2026, 12, 7, 17)
    # Vietnam Cultural Day (Tuesday 24 November 2026) is a holiday unless the operator removes it.
    cultural_day = date(2026, 11, 24)
    assert CALENDAR.add_working_days(local(2026, 11, 23, 10), 1) == local(2026, 11, 25, 17)
    without = vietnam_calendar([2026], removed_holidays=[cultural_day])
    assert without.add_working_days(local(2026, 11, 23, 10), 1) == local(2026, 11, 24, 17)


def test_received_on_a_weekend_the_count_starts_monday() -> None:
    assert CALENDAR.add_working_days(local(2026, 11, 29, 10), 1) == local(2026, 11, 30, 17)
    assert CALENDAR.add_working_days(local(2026, 11, 28, 23, 59), 1) == local(2026, 11, 30, 17)
    assert CALENDAR.add_working_hours(local(2026, 11, 29, 10), 1) == local(2026, 11, 30, 8, 30)


def test_lunchtime_and_after_hours_starts() -> None:
    monday = (2026, 11, 30)
    assert CALENDAR.add_working_hours(local(*monday, 12), 1) == local(*monday, 14)
    assert CALENDAR.next_working_moment(local(*monday, 12)) == local(*monday, 13)
    assert CALENDAR.next_working_moment(local(*monday, 6)) == local(*monday, 7, 30)
    assert CALENDAR.add_working_hours(local(*monday, 18), 0.5) == local(2026, 12, 1, 8)
    assert CALENDAR.add_working_seconds(local(*monday, 18), 0) == local(2026, 12, 1, 7, 30)
    # Inside a period, 0 seconds changes nothing; the end of a period is already outside it.
    assert CALENDAR.add_working_seconds(local(*monday, 9), 0) == local(*monday, 9)
    assert CALENDAR.next_working_moment(local(*monday, 11, 30)) == local(*monday, 13)
    # A count ending exactly at closing is due at closing, not at the next opening.
    assert CALENDAR.add_working_hours(local(*monday, 7, 30), 4) == local(*monday, 11, 30)
    assert CALENDAR.add_working_hours(local(*monday, 7, 30), 8) == local(*monday, 17)


def test_any_zone_in_utc_out() -> None:
    received = local(2026, 11, 27, 10)
    for zone in (UTC, VN, ZoneInfo("America/New_York")):
        due = CALENDAR.add_working_days(received.astimezone(zone), 5)
        assert due == local(2026, 12, 4, 17)
        assert due.tzinfo is UTC
        assert CALENDAR.next_working_moment(received.astimezone(zone)).tzinfo is UTC


def test_naive_datetimes_and_bad_counts_are_refused() -> None:
    naive = datetime(2026, 11, 27, 10)
    aware = local(2026, 11, 27, 10)
    calls = [
        lambda: CALENDAR.add_working_seconds(naive, 60),
        lambda: CALENDAR.add_working_hours(naive, 1),
        lambda: CALENDAR.add_working_days(naive, 1),
        lambda: CALENDAR.next_working_moment(naive),
        lambda: CALENDAR.working_seconds_between(naive, aware),
        lambda: CALENDAR.working_seconds_between(aware, naive),
        lambda: CALENDAR.add_working_seconds(aware, -1),
        lambda: CALENDAR.add_working_days(aware, 0),
    ]
    for call in calls:
        with pytest.raises(ValueError):
            call()


def test_a_calendar_without_office_time_fails_instead_of_spinning() -> None:
    closed = WorkCalendar(periods={})
    start = local(2026, 11, 27, 10)
    assert not closed.is_working_day(date(2026, 11, 30))
    assert closed.working_seconds_between(start, start + timedelta(days=30)) == 0
    for call in (
        lambda: closed.add_working_seconds(start, 1),
        lambda: closed.add_working_days(start, 1),
        lambda: closed.next_working_moment(start),
    ):
        with pytest.raises(ValueError, match="no working day"):
            call()
    # Make-up days alone still work, with the default office hours.
    one_day = WorkCalendar(periods={}, working_days=frozenset({date(2026, 11, 28)}))
    assert one_day.add_working_hours(start, 8) == local(2026, 11, 28, 17)


def test_invalid_periods_are_refused() -> None:
    for periods in (
        {0: ((time(9), time(8)),)},
        {0: ((time(8), time(12)), (time(11), time(13)))},
        {7: ((time(8), time(12)),)},
    ):
        with pytest.raises(ValueError):
            WorkCalendar(periods=periods)


def test_touching_periods_and_a_caller_dict_changed_later() -> None:
    periods = {0: ((time(8), time(10)), (time(10), time(12)))}
    calendar = WorkCalendar(periods=periods)
    periods[0] = ()
    monday = (2026, 11, 30)
    assert calendar.add_working_hours(local(*monday, 8), 2) == local(*monday, 10)
    assert calendar.add_working_hours(local(*monday, 8), 3) == local(*monday, 11)
    assert calendar.add_working_hours(local(*monday, 8), 5) == local(2026, 12, 7, 9)


def test_long_deadlines_and_long_pauses() -> None:
    # 60 working days from Monday 5 January 2026: 19 more in January, 15 in February (20 weekdays,
    # the Tết week off), 22 in March, 3 in April to Friday 3rd: the 60th is Monday 6 April.
    assert CALENDAR.add_working_days(local(2026, 1, 5, 9), 60) == local(2026, 4, 6, 17)
    # A whole year of office time: weekdays, minus weekday holidays, plus make-up Saturdays.
    weekdays = sum(1 for n in range(365) if (date(2026, 1, 1) + timedelta(days=n)).weekday() < 5)
    off = sum(1 for day in CALENDAR.holidays if day.year == 2026 and day.weekday() < 5)
    expected = (weekdays - off + 1) * 8 * 3600
    year = CALENDAR.working_seconds_between(local(2026, 1, 1), local(2027, 1, 1))
    assert year == expected
    assert CALENDAR.add_working_seconds(local(2026, 1, 1), year) == local(2026, 12, 31, 17)


# Properties, on the Vietnamese calendar and on arbitrary ones.

ZONES = st.sampled_from([UTC, VN, PLUS7, ZoneInfo("Europe/Paris"), timezone(timedelta(hours=-9, minutes=-30))])
MOMENTS = st.datetimes(
    min_value=datetime(2025, 6, 1), max_value=datetime(2027, 6, 1), timezones=ZONES, allow_imaginary=False
)
SECONDS = st.integers(min_value=0, max_value=150 * 8 * 3600)


@st.composite
def calendars(draw: st.DrawFn) -> WorkCalendar:
    periods: dict[int, tuple[tuple[time, time], ...]] = {}
    for weekday in range(7):
        minutes = sorted(draw(st.sets(st.integers(min_value=0, max_value=24 * 60 - 1), max_size=6)))
        pairs = list(zip(minutes[::2], minutes[1::2], strict=False))
        periods[weekday] = tuple((time(start // 60, start % 60), time(end // 60, end % 60)) for start, end in pairs)
    if not any(periods.values()):
        periods[2] = DEFAULT_PERIODS[2]
    days = st.dates(min_value=date(2025, 6, 1), max_value=date(2027, 6, 1))
    return WorkCalendar(
        periods=periods,
        holidays=frozenset(draw(st.sets(days, max_size=40))),
        working_days=frozenset(draw(st.sets(days, max_size=10))),
    )


ANY_CALENDAR = st.one_of(st.just(CALENDAR), calendars())


def _inside_office_time(calendar: WorkCalendar, moment: datetime, *, end_included: bool) -> bool:
    wall = moment.astimezone(VN).replace(tzinfo=None)
    return any(
        start <= wall.time() < end or (end_included and wall.time() == end)
        for start, end in calendar.periods_of(wall.date())
    )


def _reference_seconds(calendar: WorkCalendar, start: datetime, end: datetime) -> int:
    """Office seconds in [start, end), one day at a time."""
    total = timedelta()
    day = start.astimezone(VN).date()
    while day <= end.astimezone(VN).date():
        for period_start, period_end in calendar.periods_of(day):
            begin = max(start, datetime.combine(day, period_start, tzinfo=VN))
            finish = min(end, datetime.combine(day, period_end, tzinfo=VN))
            total += max(finish - begin, timedelta())
        day += timedelta(days=1)
    return total // timedelta(seconds=1)


@given(ANY_CALENDAR, MOMENTS, SECONDS)
def test_adding_then_measuring_gives_the_seconds_back(calendar: WorkCalendar, start: datetime, seconds: int) -> None:
    due = calendar.add_working_seconds(start, seconds)
    assert due.tzinfo is UTC
    assert due >= start
    assert calendar.working_seconds_between(start, due) == seconds


@given(ANY_CALENDAR, MOMENTS, SECONDS, SECONDS)
def test_more_seconds_never_end_earlier(calendar: WorkCalendar, start: datetime, first: int, second: int) -> None:
    low, high = sorted((first, second))
    assert calendar.add_working_seconds(start, low) <= calendar.add_working_seconds(start, high)


@given(ANY_CALENDAR, MOMENTS, SECONDS)
def test_results_lie_in_office_time(calendar: WorkCalendar, start: datetime, seconds: int) -> None:
    due = calendar.add_working_seconds(start, seconds)
    assert calendar.is_working_day(due.astimezone(VN).date())
    assert _inside_office_time(calendar, due, end_included=seconds > 0)
    moment = calendar.next_working_moment(start)
    assert _inside_office_time(calendar, moment, end_included=False)
    assert calendar.working_seconds_between(start, moment) == 0
    assert moment == calendar.add_working_seconds(start, 0)


@given(ANY_CALENDAR, MOMENTS, st.integers(min_value=1, max_value=70))
def test_working_days_end_at_closing_of_the_nth_working_day(calendar: WorkCalendar, start: datetime, days: int) -> None:
    due = calendar.add_working_days(start, days).astimezone(VN)
    received = start.astimezone(VN).date()
    assert calendar.periods_of(due.date())[-1][1] == due.time()
    counted = sum(
        calendar.is_working_day(received + timedelta(days=n)) for n in range(1, (due.date() - received).days + 1)
    )
    assert counted == days


@given(ANY_CALENDAR, MOMENTS, MOMENTS)
def test_measuring_matches_a_day_by_day_count(calendar: WorkCalendar, start: datetime, end: datetime) -> None:
    assert calendar.working_seconds_between(start, end) == _reference_seconds(calendar, start, end)
