"""Publish latency of a broadcast: `broadcasts.service.approve` (→ `publish_now`) plus
`loa.kit.effects.commit`, for an account with 1,000 followers and one with 1,000,000 (fan-out on read:
publishing writes a few rows whatever the audience, so the two should cost the same).

The Runtime is the real one (real engine, in-memory bus) except its job queue, which checks and records
what is enqueued (`broadcasts.plan_push`) without running it: no push planning or sending happens during
the measurement. Drafts are made beforehand; the timer covers `approve` + `commit` in the session of one
request (the approver's user row loaded in that session first, not timed). Publishes alternate between
the two accounts so the machine's drift hits both.

Lines: the 1,000-follower account against a raw single-row INSERT transaction into `broadcasts` (raw
sqlite3 / asyncpg, same database, same durability); the big account against the 1,000-follower one
(`ratio` = latency(big) / latency(1k), target ≤ 2).
"""

from __future__ import annotations

import asyncio
import sqlite3
import statistics
import tempfile
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import text

from bench.common import (
    Options,
    bench_settings,
    database_name,
    driver_dsn,
    note,
    percentile,
    prepare,
    result,
    scratch_database,
)

NAME = "broadcast_publish"
DESCRIPTION = "publish latency (approve + commit) for 1M followers vs 1k followers; vs a raw INSERT transaction"

SMALL, BIG = 1, 2  # account ids
SMALL_FOLLOWERS = 1_000
RAW_INSERTS = 200


def _sizes(options: Options, ten_million: bool) -> tuple[int, int]:
    """(followers of the big account, publishes per account)."""
    if options.quick:
        return 20_000, 10
    return (10_000_000 if ten_million else 1_000_000), 30


async def run(options: Options, *, ten_million: bool = False) -> AsyncIterator[dict[str, Any]]:
    big_followers, publishes = _sizes(options, ten_million)
    for target in options.targets:
        database = database_name(target)
        if ten_million and database == "sqlite":
            note(f"{NAME}: --ten-million runs on PostgreSQL only; skipping SQLite")
            continue
        async with scratch_database(target) as url:
            with tempfile.TemporaryDirectory(prefix="loa-bench-data-") as data_dir:
                settings = bench_settings(url, Path(data_dir)).model_copy(update={"broadcast_daily_quota": 1000})
                await prepare(settings)
                note(f"{NAME}: {database}: loading {big_followers:,} users and follows…")
                started = time.perf_counter()
                staff = await _load(settings, big_followers)
                note(f"{NAME}: {database}: loaded in {time.perf_counter() - started:.1f} s; "
                     f"{publishes} publishes per account…")
                latencies = await _publish(settings, staff, publishes)
                raw = await _raw_inserts(url, RAW_INSERTS)
                small, big = latencies[SMALL], latencies[BIG]
                raw_p50 = percentile(raw, 50)
                note(f"{NAME}: {database}: p50 {SMALL_FOLLOWERS:,} followers {percentile(small, 50) * 1e3:.2f} ms, "
                     f"{big_followers:,} followers {percentile(big, 50) * 1e3:.2f} ms, "
                     f"raw insert {raw_p50 * 1e3:.3f} ms")
                yield result(
                    NAME, {"database": database, "followers": SMALL_FOLLOWERS, "publishes": publishes},
                    value=percentile(small, 50) * 1000, unit="ms p50 (approve + commit, jobs held)",
                    baseline=raw_p50 * 1000,
                    baseline_what=(f"ms p50 of a raw single-row INSERT transaction into broadcasts "
                                   f"({_driver(database)}, same database, {RAW_INSERTS} transactions)"),
                    better="lower",
                    p50_ms=round(percentile(small, 50) * 1000, 3), p99_ms=round(percentile(small, 99) * 1000, 3),
                    raw_insert_p99_ms=round(percentile(raw, 99) * 1000, 3),
                )
                yield result(
                    NAME, {"database": database, "followers": big_followers, "publishes": publishes,
                           "compared_with_followers": SMALL_FOLLOWERS},
                    value=percentile(big, 50) * 1000, unit="ms p50 (approve + commit, jobs held)",
                    baseline=percentile(small, 50) * 1000,
                    baseline_what=(f"ms p50 of the same publish for an account with {SMALL_FOLLOWERS:,} "
                                   f"followers (same run, alternating); target ratio ≤ 2"),
                    better="lower",
                    p50_ms=round(percentile(big, 50) * 1000, 3), p99_ms=round(percentile(big, 99) * 1000, 3),
                    mean_ms=round(statistics.fmean(big) * 1000, 3),
                    raw_insert_p50_ms=round(raw_p50 * 1000, 3),
                )


def _driver(database: str) -> str:
    return "sqlite3, WAL, synchronous=NORMAL" if database == "sqlite" else "asyncpg, autocommit"


# ---- data ------------------------------------------------------------------------------------------


async def _load(settings: Any, followers: int) -> int:
    """Two verified national accounts, `followers` minimal users, the small account followed by the first
    1,000 of them and the big one by all; one staff user, owner of both. Returns the staff user's id."""
    from loa.db.bulk import bulk_insert, reset_sequence
    from loa.domains.accounts.models import Account, AccountMember
    from loa.domains.follows.models import Follow
    from loa.domains.people.models import User
    from loa.domains.seed.synthetic import _secondary_indexes_deferred
    from loa.runtime import Runtime

    now = datetime.now(UTC)
    followed = now - timedelta(days=30)
    staff = followers + 1
    runtime = Runtime(settings)
    try:
        async with runtime.session() as session:
            await bulk_insert(session, Account.__table__, (
                {"id": i, "handle": f"bench-{i}", "name": f"Bộ Bench {i}", "search_text": f"bo bench {i}",
                 "kind": "ministry", "description": "", "contacts": {}, "office_hours": [], "province_code": "01",
                 "commune_code": None, "verification_status": "verified", "verified_at": now,
                 "follower_count": SMALL_FOLLOWERS if i == SMALL else followers, "created_at": now,
                 "updated_at": now} for i in (SMALL, BIG)))
            async with _secondary_indexes_deferred(session, User.__table__):
                await bulk_insert(session, User.__table__, (
                    (i, f"+84{i:09d}", "", None, False, "vi", now) for i in range(1, followers + 1)),
                    columns=["id", "phone", "display_name", "home_commune_code", "is_operator", "locale",
                             "created_at"], chunk=100_000)
            await bulk_insert(session, User.__table__, [
                {"id": staff, "phone": None, "email": "owner@bench.invalid", "display_name": "Owner",
                 "home_commune_code": None, "is_operator": False, "locale": "vi", "created_at": now}])
            await bulk_insert(session, AccountMember.__table__, [
                (account, staff, "owner", now) for account in (SMALL, BIG)],
                columns=["account_id", "user_id", "role", "created_at"])
            async with _secondary_indexes_deferred(session, Follow.__table__):
                await bulk_insert(session, Follow.__table__, (
                    (account, user, None, followed, 0, True)
                    for account, count in ((SMALL, SMALL_FOLLOWERS), (BIG, followers))
                    for user in range(1, count + 1)),
                    columns=["account_id", "user_id", "commune_code", "created_at", "last_read_broadcast_id",
                             "push_enabled"], chunk=100_000)
            for table in (Account.__table__, User.__table__):
                await reset_sequence(session, table)
            await session.commit()
        async with runtime.session() as session:
            await session.execute(text("ANALYZE"))
            await session.commit()
    finally:
        await runtime.close()
    return staff


# ---- publishing ------------------------------------------------------------------------------------


class _HeldJobs:
    """A job queue that checks and records each job (as the real one serialises it) but never runs it."""

    def __init__(self) -> None:
        self.enqueued: list[str] = []

    async def start(self) -> None:
        return None

    async def start_consumer(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def enqueue(self, name: str, **kwargs: Any) -> None:
        from loa.kit.jobs import _checked

        _checked(name, kwargs)
        self.enqueued.append(name)


async def _publish(settings: Any, staff_id: int, publishes: int) -> dict[int, list[float]]:
    from loa.domains.broadcasts import service
    from loa.domains.people.models import User
    from loa.kit.effects import commit
    from loa.kit.jobs import import_task_modules
    from loa.runtime import Runtime

    import_task_modules()
    runtime = Runtime(settings)
    held = _HeldJobs()
    runtime.jobs = held
    latencies: dict[int, list[float]] = {SMALL: [], BIG: []}
    try:
        drafts: dict[int, list[int]] = {SMALL: [], BIG: []}
        async with runtime.session() as session:
            staff = await session.get(User, staff_id)
            assert staff is not None
            for n in range(publishes + 1):  # the first of each is a warm-up, not counted
                for account in (SMALL, BIG):
                    draft = await service.create_draft(
                        session, account_id=account, actor=staff, kind="notice",
                        title=f"Thông báo lịch tiêm chủng số {n}",
                        body="Lịch tiêm chủng mở rộng **tháng 7** tại các phường, xã.")
                    drafts[account].append(draft.id)
            await commit(session)
        for n in range(publishes + 1):
            for account in (SMALL, BIG) if n % 2 else (BIG, SMALL):
                async with runtime.session() as session:
                    staff = await session.get(User, staff_id)
                    assert staff is not None
                    started = time.perf_counter()
                    broadcast = await service.approve(session, broadcast_id=drafts[account][n], actor=staff)
                    await commit(session)
                    elapsed = time.perf_counter() - started
                    assert broadcast.status == "published"
                if n:
                    latencies[account].append(elapsed)
        assert held.enqueued.count("broadcasts.plan_push") == 2 * (publishes + 1), held.enqueued
    finally:
        await runtime.close()
    return latencies


# ---- baseline --------------------------------------------------------------------------------------


async def _raw_inserts(url: str, count: int) -> list[float]:
    if url.startswith("sqlite"):
        return await asyncio.to_thread(_raw_sqlite, driver_dsn(url), count)
    return await _raw_postgresql(driver_dsn(url), count)


_RAW_COLUMNS = ("account_id, kind, status, title, body_source, body_html, attachments, target_all, "
                "target_provinces, target_communes, target_tags, created_at, updated_at")


def _raw_sqlite(path: str, count: int) -> list[float]:
    # The engine's own settings (loa.db.engine): WAL, synchronous=NORMAL, foreign keys on, BEGIN IMMEDIATE.
    connection = sqlite3.connect(path, isolation_level=None, timeout=30)
    try:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.execute("PRAGMA foreign_keys=ON")
        stamp = datetime.now(UTC).replace(tzinfo=None).isoformat(sep=" ")
        sql = (f"INSERT INTO broadcasts ({_RAW_COLUMNS}) "
               "VALUES (?, 'notice', 'draft', ?, '', '', '[]', 1, '[]', '[]', '[]', ?, ?)")
        latencies = []
        for n in range(count):
            started = time.perf_counter()
            connection.execute("BEGIN IMMEDIATE")
            connection.execute(sql, (SMALL, f"raw {n}", stamp, stamp))
            connection.execute("COMMIT")
            latencies.append(time.perf_counter() - started)
        return latencies
    finally:
        connection.close()


async def _raw_postgresql(dsn: str, count: int) -> list[float]:
    import asyncpg

    connection = await asyncpg.connect(dsn)
    try:
        statement = await connection.prepare(
            f"INSERT INTO broadcasts ({_RAW_COLUMNS}) "
            "VALUES ($1, 'notice', 'draft', $2, '', '', '[]', true, '[]', '[]', '[]', $3, $3)")
        now = datetime.now(UTC)
        latencies = []
        for n in range(count):
            started = time.perf_counter()
            await statement.fetch(SMALL, f"raw {n}", now)  # autocommit: one transaction each
            latencies.append(time.perf_counter() - started)
        return latencies
    finally:
        await connection.close()
