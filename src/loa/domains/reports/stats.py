"""Handling statistics per account, kept as reports move: counts per day, and durations as counts per
bucket (each bucket 2^(1/8) ≈ 9% wider than the last), so a median over any period reads a few hundred
rows, never the reports. A median is given as its bucket's geometric middle: within ±4.5%."""

from __future__ import annotations

import math
from datetime import date, datetime

from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from loa.db.raw import dialect_insert
from loa.domains.reports.models import RUNNING_STATUSES, Report, ReportDailyStats, ReportDurationBucket
from loa.kit.worktime import VN

STEPS_PER_DOUBLING = 8
SMALLEST = 60  # seconds: bucket 0 holds everything under a minute
COUNTERS = ("received", "rejected", "merged", "transferred_out", "resolved", "resolved_on_time", "resolved_late",
            "reopened", "ratings", "rating_total")


def vn_day(moment: datetime) -> date:
    return moment.astimezone(VN).date()


def bucket_of(seconds: float) -> int:
    if seconds < SMALLEST:
        return 0
    return 1 + math.floor(STEPS_PER_DOUBLING * math.log2(seconds / SMALLEST))


def bucket_middle(bucket: int) -> float:
    """The geometric middle of a bucket, in seconds (bucket 0: half a minute)."""
    if bucket == 0:
        return SMALLEST / 2
    low = SMALLEST * 2 ** ((bucket - 1) / STEPS_PER_DOUBLING)
    return low * 2 ** (0.5 / STEPS_PER_DOUBLING)


async def count(session: AsyncSession, account_id: int, moment: datetime, **increments: int) -> None:
    """Adds to the account's figures of the day of `moment` (in the caller's transaction)."""
    values = {name: increments.get(name, 0) for name in COUNTERS}
    statement = dialect_insert(session)(ReportDailyStats).values(account_id=account_id, day=vn_day(moment), **values)
    await session.execute(statement.on_conflict_do_update(
        index_elements=["account_id", "day"],
        set_={name: getattr(ReportDailyStats, name) + statement.excluded[name] for name in increments}))


async def add_duration(session: AsyncSession, account_id: int, moment: datetime, metric: str, seconds: float) -> None:
    statement = dialect_insert(session)(ReportDurationBucket).values(
        account_id=account_id, day=vn_day(moment), metric=metric, bucket=bucket_of(max(0.0, seconds)), count=1)
    await session.execute(statement.on_conflict_do_update(
        index_elements=["account_id", "day", "metric", "bucket"],
        set_={"count": ReportDurationBucket.count + 1}))


class Handling(BaseModel):
    """An account's handling figures over a period (days in Vietnam's time); the API answers with it."""

    received: int
    rejected: int
    merged: int
    transferred_out: int
    resolved: int
    resolved_on_time: int
    resolved_late: int
    reopened: int
    on_time_percent: float | None
    late_percent: float | None
    median_first_response_seconds: float | None
    median_resolution_seconds: float | None
    ratings: int
    average_rating: float | None
    open_now: int
    overdue_now: int


def _median(buckets: list[tuple[int, int]]) -> float | None:
    total = sum(count for _, count in buckets)
    if total == 0:
        return None
    seen = 0
    for bucket, count in sorted(buckets):
        seen += count
        if seen * 2 >= total:
            return round(bucket_middle(bucket))
    return None  # pragma: no cover - the loop always reaches half


async def handling(session: AsyncSession, account_id: int, start: date, end: date, now: datetime) -> Handling:
    """Figures of the days `start`..`end` (inclusive), and the reports open and overdue at `now`."""
    sums = (await session.execute(select(*(func.coalesce(func.sum(getattr(ReportDailyStats, name)), 0)
                                           for name in COUNTERS)).where(
        ReportDailyStats.account_id == account_id, ReportDailyStats.day.between(start, end)))).one()
    figures = dict(zip(COUNTERS, (int(value) for value in sums), strict=True))
    rows = (await session.execute(select(ReportDurationBucket.metric, ReportDurationBucket.bucket,
                                         func.sum(ReportDurationBucket.count)).where(
        ReportDurationBucket.account_id == account_id, ReportDurationBucket.day.between(start, end)).group_by(
        ReportDurationBucket.metric, ReportDurationBucket.bucket))).all()
    durations: dict[str, list[tuple[int, int]]] = {"first_response": [], "resolution": []}
    for metric, bucket, total in rows:
        durations[metric].append((int(bucket), int(total)))
    running = (Report.account_id == account_id, Report.status.in_((*RUNNING_STATUSES, "waiting")))
    open_now = await session.scalar(select(func.count()).select_from(Report).where(*running)) or 0
    overdue_now = await session.scalar(select(func.count()).select_from(Report).where(
        *running, Report.status != "waiting", Report.due_at < now)) or 0
    resolved = figures["resolved"]
    return Handling(
        received=figures["received"], rejected=figures["rejected"], merged=figures["merged"],
        transferred_out=figures["transferred_out"], resolved=resolved,
        resolved_on_time=figures["resolved_on_time"], resolved_late=figures["resolved_late"],
        reopened=figures["reopened"],
        on_time_percent=round(100 * figures["resolved_on_time"] / resolved, 1) if resolved else None,
        late_percent=round(100 * figures["resolved_late"] / resolved, 1) if resolved else None,
        median_first_response_seconds=_median(durations["first_response"]),
        median_resolution_seconds=_median(durations["resolution"]),
        ratings=figures["ratings"],
        average_rating=round(figures["rating_total"] / figures["ratings"], 2) if figures["ratings"] else None,
        open_now=int(open_now), overdue_now=int(overdue_now))
