"""The national dashboard's queries (`stats.service`: the overview, the nation's figures for this year, and the
tables of provinces, coverage, accounts by year and kind, the ranking, report handling per agency and activity by
month) on synthetic national data at `--fraction 0.1` (17,273 accounts, ~4M follows) plus a year of kept message and
report counts for the most followed accounts, against the same data's raw counting queries (follows counted per
province from the follows table, and all follows) as the baseline.

Each query runs ROUNDS times, each on a fresh read session as a request would; the result lines give each query's
p50 and p99, and one line the p99 over all of them (the issue's target on PostgreSQL: ≤ 200 ms).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import text

from bench.common import Options, bench_settings, database_name, note, percentile, result, scratch_database

NAME = "stats_dashboard"
DESCRIPTION = "p99 ms of the national dashboard's queries on national data (0.1) vs raw COUNT(*) over follows"

TARGET_P99_MS = 200


def _sizes(options: Options) -> tuple[float, int, int, int]:
    """(seed fraction, accounts with a year of messages, days, rounds)."""
    return (0.002, 100, 60, 5) if options.quick else (0.1, 2_000, 365, 30)


async def run(options: Options) -> AsyncIterator[dict[str, Any]]:
    fraction, active, days, rounds = _sizes(options)
    for target in options.targets:
        database = database_name(target)
        async with scratch_database(target) as url:
            with tempfile.TemporaryDirectory(prefix="loa-bench-data-") as data_dir:
                settings = bench_settings(url, Path(data_dir))
                note(f"{NAME}: {database}: seeding national data at fraction {fraction}…")
                await _load(settings, fraction, active, days)
                for line in await _measure(settings, database, fraction, rounds):
                    yield line


async def _load(settings: Any, fraction: float, active: int, days: int) -> None:
    from sqlalchemy import select

    from loa.db.bulk import bulk_insert
    from loa.domains.accounts.models import Account
    from loa.domains.conversations.models import MessageDailyCount
    from loa.domains.reports.models import ReportDailyStats, ReportDurationBucket
    from loa.domains.seed import run_seed
    from loa.domains.stats import service as stats
    from loa.domains.stats.periods import vn_today
    from loa.runtime import Runtime

    await run_seed(settings, scale="national", fraction=fraction, quiet=True)
    runtime = Runtime(settings)
    today = vn_today()
    try:
        async with runtime.session() as session:
            ids = list(await session.scalars(select(Account.id).order_by(Account.follower_count.desc())
                                             .limit(active)))
            every_day = [today - timedelta(days=n) for n in range(days)]
            await bulk_insert(session, MessageDailyCount.__table__, (
                (account, day, 20 + account % 30, 15 + account % 20, account % 5, 5, 12, 12 * 900, 4, 4 * 1200)
                for account in ids for day in every_day),
                columns=["account_id", "day", "messages_in", "messages_out", "auto_replies", "conversations_started",
                         "responses", "response_seconds", "first_responses", "first_response_seconds"])
            reporting = ids[: max(active // 2, 1)]
            report_days = every_day[::3]
            await bulk_insert(session, ReportDailyStats.__table__, (
                (account, day, 3, 0, 0, 0, 2, 2 if account % 4 else 1, 0 if account % 4 else 1, 0, 1, 4)
                for account in reporting for day in report_days),
                columns=["account_id", "day", "received", "rejected", "merged", "transferred_out", "resolved",
                         "resolved_on_time", "resolved_late", "reopened", "ratings", "rating_total"])
            await bulk_insert(session, ReportDurationBucket.__table__, (
                (account, day, metric, bucket, 2)
                for account in reporting for day in report_days
                for metric, bucket in (("first_response", 60 + account % 8), ("resolution", 110 + account % 10))),
                columns=["account_id", "day", "metric", "bucket", "count"])
            await session.commit()
        started = time.perf_counter()
        await stats.rebuild(runtime)
        note(f"{NAME}: rollups built in {time.perf_counter() - started:.1f} s")
        async with runtime.session() as session:
            await session.execute(text("ANALYZE"))
            await session.commit()
    finally:
        await runtime.close()


def _queries(year: int) -> dict[str, Callable[[Any], Awaitable[Any]]]:
    from loa.domains.stats import service as stats
    from loa.domains.stats import tables
    from loa.domains.stats.periods import Period

    period = Period(date(year, 1, 1), date(year, 12, 31))
    nation = stats.NATION

    def table(name: str, **options: Any) -> Callable[[Any], Awaitable[Any]]:
        return lambda session: tables.build(session, name, nation, period, tables.Options(**options))

    return {
        "overview": stats.overview,
        "figures": lambda session: stats.figures(session, nation, period),
        "areas": table("areas"),
        "coverage": table("coverage"),
        "accounts-by-year": table("accounts-by-year"),
        "accounts-by-kind": table("accounts-by-kind"),
        "ranking": table("ranking", limit=20),
        "handling": table("handling", limit=20),
        "activity": table("activity"),
    }


RAW_QUERIES = (
    "SELECT a.province_code, COUNT(*) FROM follows f JOIN accounts a ON a.id = f.account_id GROUP BY a.province_code",
    "SELECT COUNT(*) FROM follows",
)


async def _raw(runtime: Any) -> float:
    async with runtime.read_session() as session:
        started = time.perf_counter()
        for sql in RAW_QUERIES:
            (await session.execute(text(sql))).all()
        return (time.perf_counter() - started) * 1000


async def _measure(settings: Any, database: str, fraction: float, rounds: int) -> list[dict[str, Any]]:
    from sqlalchemy import func, select

    from loa.domains.follows.models import Follow
    from loa.runtime import Runtime

    runtime = Runtime(settings)
    year = datetime.now(UTC).year
    queries = _queries(year)
    timings: dict[str, list[float]] = {name: [] for name in queries}
    raw: list[float] = []
    try:
        async with runtime.read_session() as session:
            follows = int(await session.scalar(select(func.count()).select_from(Follow)) or 0)
        for _ in range(rounds):
            raw.append(await _raw(runtime))
            for name, query in queries.items():
                async with runtime.read_session() as session:
                    started = time.perf_counter()
                    await query(session)
                    timings[name].append((time.perf_counter() - started) * 1000)
    finally:
        await runtime.close()
    baseline = statistics.median(raw)
    case = {"database": database, "fraction": fraction, "accounts": 17_273, "follows": follows}
    lines = []
    for name, samples in timings.items():
        p99 = percentile(samples, 99)
        lines.append(result(NAME, {**case, "query": name}, value=p99, unit="ms", baseline=baseline,
                            baseline_what="raw COUNT(*) of follows per province and in all", better="lower",
                            p50_ms=round(percentile(samples, 50), 2), p99_ms=round(p99, 2), rounds=rounds))
    everything = [sample for samples in timings.values() for sample in samples]
    p99 = percentile(everything, 99)
    note(f"{NAME}: {database}: p99 over all queries {p99:.1f} ms (target {TARGET_P99_MS} ms on PostgreSQL), "
         f"raw counting {baseline:.1f} ms")
    lines.append(result(NAME, {**case, "query": "all"}, value=p99, unit="ms", baseline=baseline,
                        baseline_what="raw COUNT(*) of follows per province and in all", better="lower",
                        p50_ms=round(percentile(everything, 50), 2), p99_ms=round(p99, 2), rounds=rounds,
                        target_p99_ms=TARGET_P99_MS))
    return lines
