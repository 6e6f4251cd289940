"""Follows per second through `follows.service.follow` + commit, one follow per transaction from many
concurrent callers, against the database's own rate of single-row INSERT transactions (raw sqlite3 /
raw asyncpg) into the same table at the same durability settings.

Cases: followers spread over many accounts, and all on one hot account (its follower_count row is then
updated by every transaction, as Bộ Y tế's would be).
"""

from __future__ import annotations

import asyncio
import sqlite3
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bench.common import (
    Options,
    bench_settings,
    database_name,
    driver_dsn,
    load_people,
    note,
    percentile,
    prepare,
    result,
    scratch_database,
)

NAME = "follow_throughput"
DESCRIPTION = "follows/s through follows.service.follow (a transaction each, concurrent callers) vs raw INSERT tx/s"

CALLERS = 16
SPREAD_ACCOUNTS = 1_000
COMMUNE = "00004"  # Phường Ba Đình, Hà Nội


def _sizes(options: Options, sqlite: bool) -> tuple[int, int]:
    """(follows through the service, raw inserts) per case."""
    if options.quick:
        return 200, 500
    return (3_000, 20_000) if sqlite else (5_000, 20_000)


async def run(options: Options) -> AsyncIterator[dict[str, Any]]:
    for target in options.targets:
        database = database_name(target)
        async with scratch_database(target) as url:
            with tempfile.TemporaryDirectory(prefix="loa-bench-data-") as data_dir:
                settings = bench_settings(url, Path(data_dir))
                await prepare(settings)
                service_count, raw_count = _sizes(options, database == "sqlite")
                await load_people(settings, users=2 * service_count + raw_count, accounts=SPREAD_ACCOUNTS)
                user_offset = 0
                for spread in (True, False):
                    label = "spread" if spread else "hot"
                    note(f"{NAME}: {database}, {label}: {service_count} follows through the service…")
                    rate, latencies = await _service_rate(settings, service_count, user_offset, spread)
                    user_offset += service_count
                    raw_users = (user_offset, user_offset + raw_count // 2)
                    note(f"{NAME}: {database}, {label}: {raw_count // 2} raw insert transactions…")
                    baseline = await _raw_rate(url, raw_users, spread)
                    user_offset += raw_count // 2
                    yield result(
                        NAME,
                        {"database": database, "accounts": label, "callers": CALLERS, "follows": service_count},
                        value=rate,
                        unit="follows/s",
                        baseline=baseline,
                        baseline_what=(f"raw single-row INSERT transactions/s into follows ({_driver(database)}, "
                                       f"{_durability(database)}, {_raw_clients(database)} client(s))"),
                        better="higher",
                        p50_ms=round(percentile(latencies, 50) * 1000, 3),
                        p99_ms=round(percentile(latencies, 99) * 1000, 3),
                    )


def _driver(database: str) -> str:
    return "sqlite3" if database == "sqlite" else "asyncpg"


def _durability(database: str) -> str:
    return "WAL, synchronous=NORMAL" if database == "sqlite" else "synchronous_commit as configured"


def _raw_clients(database: str) -> int:
    # SQLite has one writer: more connections only queue; PostgreSQL gets the same concurrency as the service.
    return 1 if database == "sqlite" else CALLERS


def _pairs(first_user: int, count: int, spread: bool) -> Iterator[tuple[int, int]]:
    """(user id, account id): distinct, so that every call inserts a new follow."""
    for n in range(count):
        user = first_user + n + 1
        yield user, ((n % SPREAD_ACCOUNTS) + 1 if spread else 1)


async def _service_rate(settings: Any, count: int, user_offset: int, spread: bool) -> tuple[float, list[float]]:
    from loa.domains.follows.service import follow
    from loa.domains.people.models import User
    from loa.kit.effects import commit
    from loa.runtime import Runtime

    runtime = Runtime(settings)
    await runtime.start()
    try:
        pairs = list(_pairs(user_offset, count, spread))
        async with runtime.read_session() as session:
            ids = [user for user, _ in pairs]
            users = {user.id: user for user in await session.scalars(select(User).where(User.id.in_(ids)))}
        work = iter(pairs)
        latencies: list[float] = []

        async def caller() -> None:
            for user_id, account_id in work:
                started = time.perf_counter()
                async with runtime.session() as session:
                    await follow(session, user=users[user_id], account_id=account_id)
                    await commit(session)
                latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(caller() for _ in range(CALLERS)))
        elapsed = time.perf_counter() - started
    finally:
        await runtime.close()
    return count / elapsed, latencies


async def _raw_rate(url: str, users: tuple[int, int], spread: bool) -> float:
    pairs = list(_pairs(users[0], users[1] - users[0], spread))
    now = datetime.now(UTC)
    if url.startswith("sqlite"):
        return await asyncio.to_thread(_raw_sqlite, driver_dsn(url), pairs, now)
    return await _raw_postgresql(driver_dsn(url), pairs, now)


def _raw_sqlite(path: str, pairs: list[tuple[int, int]], now: datetime) -> float:
    # The engine's own settings (loa.db.engine): WAL, synchronous=NORMAL, foreign keys on, BEGIN IMMEDIATE.
    connection = sqlite3.connect(path, isolation_level=None, timeout=30)
    try:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.execute("PRAGMA foreign_keys=ON")
        stamp = now.replace(tzinfo=None).isoformat(sep=" ")
        sql = "INSERT INTO follows (account_id, user_id, commune_code, created_at) VALUES (?, ?, ?, ?)"
        started = time.perf_counter()
        for user, account in pairs:
            connection.execute("BEGIN IMMEDIATE")
            connection.execute(sql, (account, user, COMMUNE, stamp))
            connection.execute("COMMIT")
        return len(pairs) / (time.perf_counter() - started)
    finally:
        connection.close()


async def _raw_postgresql(dsn: str, pairs: list[tuple[int, int]], now: datetime) -> float:
    import asyncpg

    pool = await asyncpg.create_pool(dsn, min_size=CALLERS, max_size=CALLERS)
    try:
        work = iter(pairs)
        sql = "INSERT INTO follows (account_id, user_id, commune_code, created_at) VALUES ($1, $2, $3, $4)"

        async def client() -> None:
            async with pool.acquire() as connection:
                statement = await connection.prepare(sql)
                for user, account in work:
                    await statement.fetch(account, user, COMMUNE, now)  # autocommit: one transaction each

        started = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(CALLERS)))
        return len(pairs) / (time.perf_counter() - started)
    finally:
        await pool.close()
