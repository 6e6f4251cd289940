"""Working-time arithmetic for the legal handling deadlines of citizen reports (phản ánh, kiến nghị).

The law counts time limits in office time: working hours and working days of state agencies, which skip
nights, weekends and public holidays and include make-up Saturdays. Which days are off is data, not
code: a `WorkCalendar` holds the office periods, the holidays and the make-up days, and
`vietnam_calendar` fills it from the `holidays` package plus whatever the operator adds or removes.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property
from itertools import islice
from types import MappingProxyType
from zoneinfo import ZoneInfo

import holidays as holiday_data

VN = ZoneInfo("Asia/Ho_Chi_Minh")

Periods = tuple[tuple[time, time], ...]

_OFFICE_DAY: Periods = ((time(7, 30), time(11, 30)), (time(13, 0), time(17, 0)))
DEFAULT_PERIODS: Mapping[int, Periods] = MappingProxyType({weekday: _OFFICE_DAY for weekday in range(5)})
# A make-up Saturday is worked as a full ordinary day: the Monday periods.
MAKEUP_PERIODS: Periods = _OFFICE_DAY

# Without a working day in this span the calendar is broken (e.g. no periods at all): fail, don't spin.
_HORIZON_DAYS = 3 * 366
_DAY = timedelta(days=1)
_WEEK = timedelta(days=7)
_SECOND = timedelta(seconds=1)


def _local(moment: datetime) -> datetime:
    """`moment` as naive wall-clock time in Vietnam.

    Asia/Ho_Chi_Minh has kept UTC+7 without daylight saving since 1975, so wall-clock differences are
    elapsed time and all arithmetic can stay naive and local.
    """
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"a timezone-aware datetime is required, got naive {moment!r}")
    return moment.astimezone(VN).replace(tzinfo=None)


def _utc(local: datetime) -> datetime:
    return local.replace(tzinfo=VN).astimezone(UTC)


def _length(periods: Periods) -> timedelta:
    return sum(
        (datetime.combine(date.min, end) - datetime.combine(date.min, start) for start, end in periods),
        timedelta(),
    )


def _checked_periods(periods: Mapping[int, Iterable[tuple[time, time]]]) -> Mapping[int, Periods]:
    checked: dict[int, Periods] = {}
    for weekday, day_periods in periods.items():
        if weekday not in range(7):
            raise ValueError(f"weekday must be 0 (Monday) to 6 (Sunday), got {weekday!r}")
        normalized = tuple((start, end) for start, end in day_periods)
        previous_end: time | None = None
        for start, end in normalized:
            if start.tzinfo is not None or end.tzinfo is not None:
                raise ValueError("office periods are local wall-clock times, without tzinfo")
            if not start < end:
                raise ValueError(f"an office period must start before it ends: {start}–{end}")
            if previous_end is not None and start < previous_end:
                raise ValueError(f"office periods must be sorted and must not overlap: {start} < {previous_end}")
            previous_end = end
        if normalized:
            checked[weekday] = normalized
    return MappingProxyType(checked)


@dataclass(frozen=True)
class WorkCalendar:
    """Office time in Asia/Ho_Chi_Minh: periods per weekday, closed on public holidays, open on make-up
    working days (a Saturday worked in exchange for a bridge day).

    `periods` maps a weekday (0 = Monday) to its sorted, non-overlapping (start, end) local times.
    A date in `holidays` is off whatever its weekday (and wins over `working_days`); a date in
    `working_days` is worked with the Monday periods (`MAKEUP_PERIODS` if Monday has none).

    Datetimes in must be timezone-aware (any zone; naive ones raise ValueError); datetimes out are UTC.
    """

    periods: Mapping[int, Periods] = field(default_factory=lambda: DEFAULT_PERIODS, hash=False)
    holidays: frozenset[date] = frozenset()
    working_days: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        # Frozen and normalized: a caller's dict or set changed later must not move deadlines.
        object.__setattr__(self, "periods", _checked_periods(self.periods))
        object.__setattr__(self, "holidays", frozenset(self.holidays))
        object.__setattr__(self, "working_days", frozenset(self.working_days))

    @cached_property
    def _makeup_periods(self) -> Periods:
        return self.periods.get(0) or MAKEUP_PERIODS

    @cached_property
    def _exceptions(self) -> tuple[date, ...]:
        return tuple(sorted(self.holidays | self.working_days))

    @cached_property
    def _week_length(self) -> timedelta:
        return sum((_length(day_periods) for day_periods in self.periods.values()), timedelta())

    def is_working_day(self, day: date) -> bool:
        """Whether the office opens on this local date."""
        return bool(self.periods_of(day))

    def periods_of(self, day: date) -> Periods:
        """The office periods of this local date; () when it is not a working day."""
        if day in self.holidays:
            return ()
        if day in self.working_days:
            return self._makeup_periods
        return self.periods.get(day.weekday(), ())

    def add_working_seconds(self, start: datetime, seconds: int) -> datetime:
        """The moment when `seconds` of office time have elapsed counting from `start`.

        Time outside the periods does not count. A count that ends exactly at the end of a period
        returns that end, not the next period's start. With 0 seconds: `start` itself when it lies
        inside a period, else the next working moment. Negative seconds raise ValueError.
        """
        if seconds < 0:
            raise ValueError(f"seconds must not be negative, got {seconds}")
        moment = _local(start)
        remaining = timedelta(seconds=seconds)
        day = moment.date()
        idle = 0
        while True:
            untouched = moment <= datetime.combine(day, time.min)  # no part of this day lies before start
            if untouched and remaining > self._week_length > timedelta() and self._is_plain_week(day):
                # A whole ordinary week that the count passes through: take it in one step.
                remaining -= self._week_length
                day += _WEEK
                idle = 0
                continue
            day_periods = self.periods_of(day)
            if not day_periods:
                idle = self._idle_day(day, idle)
                day += _DAY
                continue
            idle = 0
            if untouched and remaining > _length(day_periods):
                remaining -= _length(day_periods)
                day += _DAY
                continue
            for period_start, period_end in day_periods:
                begin = max(moment, datetime.combine(day, period_start))
                end = datetime.combine(day, period_end)
                if end <= moment:
                    continue
                if remaining <= end - begin:
                    return _utc(begin + remaining)
                remaining -= end - begin
            day += _DAY

    def add_working_hours(self, start: datetime, hours: float) -> datetime:
        """`add_working_seconds(start, round(hours * 3600))`."""
        return self.add_working_seconds(start, round(hours * 3600))

    def add_working_days(self, start: datetime, days: int) -> datetime:
        """The end of the last period of the `days`-th working day strictly after `start`'s local day.

        The Vietnamese convention: a time limit counts from the working day after the day of receipt.
        Received Friday, 5 working days: the following Friday at closing; received Saturday: Monday is
        day 1. `days` must be at least 1.
        """
        if days < 1:
            raise ValueError(f"days must be at least 1, got {days}")
        day, day_periods = next(islice(self._days_from(_local(start).date() + _DAY), days - 1, None))
        return _utc(datetime.combine(day, day_periods[-1][1]))

    def working_seconds_between(self, start: datetime, end: datetime) -> int:
        """Whole seconds of office time in [start, end); 0 when end <= start.

        The inverse of `add_working_seconds`: `working_seconds_between(a, add_working_seconds(a, s)) == s`.
        """
        low, high = _local(start), _local(end)
        total = timedelta()
        day = low.date()
        while day <= high.date():
            if low.date() < day and day + _WEEK <= high.date() and self._is_plain_week(day):
                total += self._week_length
                day += _WEEK
                continue
            for period_start, period_end in self.periods_of(day):
                begin = max(low, datetime.combine(day, period_start))
                finish = min(high, datetime.combine(day, period_end))
                if begin < finish:
                    total += finish - begin
            day += _DAY
        return total // _SECOND

    def next_working_moment(self, moment: datetime) -> datetime:
        """`moment` when it lies inside a period (start inclusive, end exclusive), else the next period's start."""
        local = _local(moment)
        for day, day_periods in self._days_from(local.date()):
            for period_start, period_end in day_periods:
                if local < datetime.combine(day, period_end):
                    return _utc(max(local, datetime.combine(day, period_start)))
        raise AssertionError("unreachable: _days_from never ends")  # pragma: no cover

    def _days_from(self, first: date) -> Iterator[tuple[date, Periods]]:
        """The working days from `first` on, with their periods; ValueError after 3 years without one."""
        day = first
        idle = 0
        while True:
            day_periods = self.periods_of(day)
            if day_periods:
                idle = 0
                yield day, day_periods
            else:
                idle = self._idle_day(day, idle)
            day += _DAY

    @staticmethod
    def _idle_day(day: date, idle: int) -> int:
        """One more day off in a row ending at `day`; ValueError past 3 years of them."""
        if idle >= _HORIZON_DAYS:
            raise ValueError(f"no working day in the 3 years up to {day}: the calendar has no office time")
        return idle + 1

    def _is_plain_week(self, first: date) -> bool:
        """Whether the 7 days from `first` follow the weekly periods alone: no holiday, no make-up day."""
        index = bisect_left(self._exceptions, first)
        return index == len(self._exceptions) or self._exceptions[index] >= first + _WEEK


def vietnam_calendar(
    years: Iterable[int],
    *,
    extra_holidays: Iterable[date] = (),
    extra_working_days: Iterable[date] = (),
    removed_holidays: Iterable[date] = (),
) -> WorkCalendar:
    """Vietnamese public holidays of these years from the `holidays` package (country "VN", lunar Tết
    included), plus the operator's additions and removals.

    The make-up Saturdays the package knows of are working days too; an operator cancels one by adding
    it to `extra_holidays`. Include every year a deadline may reach: other years have weekends only.
    """
    wanted = set(years)
    # The package records a make-up day while building the year whose holiday it buys, which may be
    # the next one (a day worked in late December for 2 January): build that year too, keep only ours.
    known = holiday_data.country_holidays("VN", years=sorted(wanted | {year + 1 for year in wanted}))
    days_off = {day for day in known if day.year in wanted}
    makeup_days = {day for day in known.weekend_workdays if day.year in wanted}
    return WorkCalendar(
        holidays=frozenset((days_off | set(extra_holidays)) - set(removed_holidays)),
        working_days=frozenset(makeup_days | set(extra_working_days)),
    )
