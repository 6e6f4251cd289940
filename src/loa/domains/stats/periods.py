"""Periods of Vietnamese calendar days, checked, and cut into the rollups' grains: whole years, then whole
months, then days, so that any period reads a handful of rows per scope."""

from __future__ import annotations

import calendar
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from loa.db.base import utcnow
from loa.kit.errors import Invalid
from loa.kit.worktime import VN

FIRST_YEAR = 2010  # before any official account; earlier years are refused as out of range
# Since 1 July 2025: 34 provinces and 3,321 communes. A period ending before reads the legacy divisions.
DIVISIONS_CHANGED = date(2025, 7, 1)
MAX_SERIES_DAYS = 732  # a day-by-day series longer than this is refused (use months)

Piece = tuple[str, date, date]  # (grain, first period, last period): a range of rollup rows


def vn_day(moment: datetime) -> date:
    return moment.astimezone(VN).date()


def vn_today() -> date:
    return vn_day(utcnow())


def day_start(day: date) -> datetime:
    """The UTC moment a Vietnamese day begins."""
    return datetime.combine(day, time(), VN).astimezone(UTC)


def month_start(day: date) -> date:
    return day.replace(day=1)


def month_end(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def next_month(day: date) -> date:
    return (month_end(day) + timedelta(days=1))


@dataclass(frozen=True)
class Period:
    """Vietnamese calendar days `start`..`end`, both included."""

    start: date
    end: date

    @property
    def starts_at(self) -> datetime:
        return day_start(self.start)

    @property
    def ends_before(self) -> datetime:
        """The UTC moment just after the period (its end is exclusive from here)."""
        return day_start(self.end + timedelta(days=1))

    @property
    def legacy(self) -> bool:
        """Whether it ended before the 2025 reorganisation (its coverage is told in the old divisions)."""
        return self.end < DIVISIONS_CHANGED

    def label(self) -> str:
        if self.start == date(self.start.year, 1, 1) and self.end == date(self.start.year, 12, 31):
            return f"năm {self.start.year}"
        return f"{self.start:%d/%m/%Y} – {self.end:%d/%m/%Y}"


def _last_year(today: date) -> int:
    return today.year


def check_year(year: int, *, today: date | None = None, field: str = "year") -> int:
    last = _last_year(today or vn_today())
    if not FIRST_YEAR <= year <= last:
        message = (f"Năm {year} nằm ngoài khoảng {FIRST_YEAR}–{last}. "
                   f"(The year must be between {FIRST_YEAR} and {last}.)")
        raise Invalid(message, code="year_out_of_range", details=[{"field": field, "message": message}])
    return year


def resolve(*, year: int | None = None, start: date | None = None, end: date | None = None,
            today: date | None = None) -> Period:
    """The period asked for: a whole year, or `start`..`end` (default: this year up to today). Refused: a year or
    a day out of range, a period that ends before it starts, a year together with dates."""
    today = today or vn_today()
    if year is not None:
        if start is not None or end is not None:
            message = "Chọn một năm hoặc một khoảng ngày, không cả hai. (Give a year or dates, not both.)"
            raise Invalid(message, code="invalid_period", details=[{"field": "year", "message": message}])
        check_year(year, today=today)
        return Period(date(year, 1, 1), date(year, 12, 31))
    end = end or today
    start = start or date(end.year, 1, 1)
    for field, day in (("from", start), ("to", end)):
        check_year(day.year, today=today, field=field)
    if end < start:
        message = (f"Khoảng thời gian kết thúc ({end:%d/%m/%Y}) trước khi bắt đầu ({start:%d/%m/%Y}). "
                   "(The period ends before it starts.)")
        raise Invalid(message, code="invalid_period", details=[{"field": "to", "message": message}])
    return Period(start, end)


def pieces(start: date, end: date, settled: date | None) -> list[Piece]:
    """`start`..`end` as ranges of rollup rows: whole years, whole months, and the days around them. A month or
    year row holds its days through `settled` only (the rollups' `settled_through`; None: every day): the days
    after it come from their day rows."""
    found: list[Piece] = []

    def add(grain: str, first: date, last: date) -> None:
        if found and found[-1][0] == grain and _following(grain, found[-1][2]) == first:
            found[-1] = (grain, found[-1][1], last)
        else:
            found.append((grain, first, last))

    whole_through = end if settled is None else min(end, settled)
    day = start
    while day <= whole_through:
        if day.month == 1 and day.day == 1 and date(day.year, 12, 31) <= end:
            add("year", day, day)
            day = min(date(day.year + 1, 1, 1), whole_through + timedelta(days=1))
        elif day.day == 1 and month_end(day) <= end:
            add("month", day, day)
            day = min(next_month(day), whole_through + timedelta(days=1))
        else:
            last = min(end, month_end(day))
            add("day", day, last)
            day = last + timedelta(days=1)
    if day <= end:
        add("day", day, end)
    return found


def _following(grain: str, period: date) -> date:
    if grain == "year":
        return date(period.year + 1, 1, 1)
    if grain == "month":
        return next_month(period)
    return period + timedelta(days=1)


@dataclass(frozen=True)
class Bucket:
    """One point of a series: its label and the days it covers (clipped to the period)."""

    label: str
    start: date
    end: date


def buckets(period: Period, grain: str) -> list[Bucket]:
    """The period cut by day, month or year (the first and last clipped to it)."""
    if grain == "day" and (period.end - period.start).days >= MAX_SERIES_DAYS:
        message = (f"Chuỗi theo ngày dài tối đa {MAX_SERIES_DAYS} ngày; hãy xem theo tháng. "
                   f"(A daily series covers at most {MAX_SERIES_DAYS} days; use months.)")
        raise Invalid(message, code="period_too_long", details=[{"field": "grain", "message": message}])
    found = []
    for first in _starts(period.start, period.end, grain):
        last = min(period.end, _following(grain, first) - timedelta(days=1))
        start = max(first, period.start)
        label = (f"{first.year}" if grain == "year" else f"{first:%Y-%m}" if grain == "month" else first.isoformat())
        found.append(Bucket(label, start, last))
    return found


def _starts(start: date, end: date, grain: str) -> Iterator[date]:
    first = date(start.year, 1, 1) if grain == "year" else month_start(start) if grain == "month" else start
    while first <= end:
        yield first
        first = _following(grain, first)


def bucket_of(found: list[Bucket], period: date) -> int:
    """The index of the bucket a rollup row's period falls in (rows never straddle buckets)."""
    return bisect_right([bucket.start for bucket in found], period) - 1
