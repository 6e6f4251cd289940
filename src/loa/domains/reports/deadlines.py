"""Handling deadlines in working time: the calendar (Vietnamese public holidays, lunar Tết included, with the
operators' changes), the deadline of a category at an account, pauses while waiting for the citizen, and
the moment a reminder is due."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from loa.domains.reports.models import CalendarDay, DeadlinePolicy, ReportCategory
from loa.kit.worktime import WorkCalendar, vietnam_calendar

FORWARD_WORKING_DAYS = 5  # Decree 20/2008/NĐ-CP (amended 2017): not competent → forward within 5 working days
REMIND_AT_SHARE = 0.8  # the assignee is reminded when a fifth of the working time is left


async def calendar(session: AsyncSession, around: datetime) -> WorkCalendar:
    """The working calendar for deadlines starting near `around` (that year, the one before and two after),
    with the operators' changes as stored now (read each time: another process may have made them)."""
    changes = (await session.execute(select(CalendarDay.day, CalendarDay.kind))).all()
    return calendar_for(around.year, frozenset((day, kind) for day, kind in changes))


@lru_cache(maxsize=16)
def calendar_for(year: int, changes: frozenset[tuple[date, str]]) -> WorkCalendar:
    """The calendar of deadlines starting in `year`, with these operator changes (day, kind). Building a
    year of holidays (lunar dates included) costs far more than a deadline: built once."""
    return vietnam_calendar(
        range(year - 1, year + 3),
        extra_holidays=[day for day, kind in changes if kind == "holiday"],
        extra_working_days=[day for day, kind in changes if kind == "working"],
        removed_holidays=[day for day, kind in changes if kind == "not_holiday"])


@dataclass(frozen=True)
class Deadline:
    amount: int
    unit: str  # working_hours | working_days

    def due(self, work: WorkCalendar, received_at: datetime) -> datetime:
        if self.unit == "working_hours":
            return work.add_working_hours(received_at, self.amount)
        return work.add_working_days(received_at, self.amount)

    @property
    def label(self) -> str:
        return (f"{self.amount} giờ làm việc / {self.amount} working hours" if self.unit == "working_hours"
                else f"{self.amount} ngày làm việc / {self.amount} working days")


async def deadline_of(session: AsyncSession, account_id: int, category: ReportCategory) -> Deadline:
    policy = await session.get(DeadlinePolicy, (account_id, category.id))
    if policy is not None:
        return Deadline(policy.amount, policy.unit)
    return Deadline(category.deadline_amount, category.deadline_unit)


async def forward_by(session: AsyncSession, received_at: datetime) -> datetime:
    """When a report the account is not competent for must have been transferred."""
    return (await calendar(session, received_at)).add_working_days(received_at, FORWARD_WORKING_DAYS)


def remind_at(work: WorkCalendar, received_at: datetime, due_at: datetime) -> datetime:
    span = work.working_seconds_between(received_at, due_at)
    return work.add_working_seconds(received_at, int(span * REMIND_AT_SHARE))


def after_pause(work: WorkCalendar, due_at: datetime, paused_at: datetime, resumed_at: datetime) -> datetime:
    """The deadline once a pause ends: moved on by the working time the pause took, if it began before the
    deadline (a report already late stays late)."""
    if paused_at >= due_at:
        return due_at
    return work.add_working_seconds(due_at, work.working_seconds_between(paused_at, resumed_at))
