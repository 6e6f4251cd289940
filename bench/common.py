"""What every benchmark shares: result lines, percentiles, scratch databases and settings.

A result line is one JSON object on stdout with at least: bench, case, value, unit, baseline,
baseline_what, ratio (value / baseline) and better ("lower" or "higher": which way a ratio is good).
The baseline is measured in the same run on the same database, because these machines are shared and
noisy: the ratio is the figure to compare across runs and machines.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sqlite3
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from loa.settings import Settings

BENCH_DATABASE_ENV = "LOA_BENCH_DATABASE_URL"


@dataclass(frozen=True)
class Options:
    quick: bool = False
    database_url: str | None = None  # a PostgreSQL server to run on as well (a scratch database is made)
    skip_sqlite: bool = False

    @property
    def targets(self) -> list[str]:
        """"sqlite", then the PostgreSQL URL when one is given (option or LOA_BENCH_DATABASE_URL)."""
        url = self.database_url or os.environ.get(BENCH_DATABASE_ENV)
        targets = [] if self.skip_sqlite else ["sqlite"]
        return [*targets, url] if url else targets


def result(bench: str, case: dict[str, Any], *, value: float, unit: str, baseline: float, baseline_what: str,
           better: str, **extra: Any) -> dict[str, Any]:
    if better not in ("lower", "higher"):
        raise ValueError("better is 'lower' or 'higher'")
    return {
        "bench": bench,
        "case": case,
        "value": round(value, 4),
        "unit": unit,
        "baseline": round(baseline, 4),
        "baseline_what": baseline_what,
        "ratio": round(value / baseline, 4) if baseline else None,
        "better": better,
        **extra,
    }


def emit(line: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(line, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def note(message: str) -> None:
    """Progress for the person watching: stderr, so stdout stays JSON lines."""
    print(message, file=sys.stderr, flush=True)


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0–100), nearest rank on the sorted values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1))))
    return ordered[rank]


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now, for a server the benchmark starts."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def database_name(url: str) -> str:
    return "sqlite" if url == "sqlite" else make_url(url).get_backend_name()


@asynccontextmanager
async def scratch_database(target: str) -> AsyncIterator[str]:
    """A new, empty database for one benchmark: a temporary SQLite file, or a database created on the
    given PostgreSQL server and dropped afterwards. Yields its SQLAlchemy async URL."""
    if target == "sqlite":
        with tempfile.TemporaryDirectory(prefix="loa-bench-") as directory:
            yield f"sqlite+aiosqlite:///{Path(directory) / 'bench.db'}"
        return
    import asyncpg

    server = make_url(target)
    name = f"loa_bench_{uuid.uuid4().hex[:10]}"
    admin_dsn = server.set(drivername="postgresql").render_as_string(hide_password=False)
    connection = await asyncpg.connect(admin_dsn)
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    try:
        yield server.set(drivername="postgresql+asyncpg", database=name).render_as_string(hide_password=False)
    finally:
        connection = await asyncpg.connect(admin_dsn)
        try:
            await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await connection.close()


def bench_settings(database_url: str, data_dir: Path) -> Settings:
    return Settings(
        env="test",
        database_url=database_url,
        data_dir=data_dir,
        secret_key="bench-" + uuid.uuid4().hex,
        seed_demo=False,
        log_format="console",
        log_level="WARNING",
    )


async def prepare(settings: Settings) -> None:
    """Schema and reference data, as `./loa run` would have them."""
    from loa.db.migrate import upgrade_async
    from loa.domains.geo.loader import ensure_loaded
    from loa.runtime import Runtime

    await upgrade_async(settings.resolved_database_url)
    runtime = Runtime(settings)
    try:
        await ensure_loaded(runtime)
    finally:
        await runtime.close()


def driver_dsn(database_url: str) -> str:
    """The plain URL a raw driver connects with (asyncpg) or the SQLite file path."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        return url.database or ""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


BENCH_COMMUNE = "00004"  # Phường Ba Đình, Hà Nội


async def load_people(settings: Any, *, users: int, accounts: int) -> None:
    """`accounts` verified commune accounts and `users` citizens (ids from 1), loaded in bulk."""
    from loa.db.bulk import bulk_insert, reset_sequence
    from loa.domains.accounts.models import Account
    from loa.domains.people.models import User
    from loa.runtime import Runtime

    now = datetime.now(UTC)
    runtime = Runtime(settings)
    try:
        async with runtime.session() as session:
            await bulk_insert(session, Account.__table__, (
                {"id": i, "handle": f"bench-{i}", "name": f"Bench {i}", "search_text": f"bench {i}",
                 "kind": "commune_committee", "description": "", "contacts": {}, "office_hours": [],
                 "province_code": "01", "commune_code": BENCH_COMMUNE, "verification_status": "verified",
                 "verified_at": now, "follower_count": 0, "created_at": now, "updated_at": now}
                for i in range(1, accounts + 1)))
            await bulk_insert(session, User.__table__, (
                (i, f"+8491{i:07d}", f"Bench {i}", BENCH_COMMUNE, False, "vi", now) for i in range(1, users + 1)),
                columns=["id", "phone", "display_name", "home_commune_code", "is_operator", "locale", "created_at"])
            # Rows made afterwards through the services (an app's own user, say) take the next ids.
            await reset_sequence(session, Account.__table__)
            await reset_sequence(session, User.__table__)
            await session.commit()
    finally:
        await runtime.close()


RAW_PG_CLIENTS = 16


async def raw_insert_rate(url: str, table: str, columns: Sequence[str],
                          row_of: Callable[[int, bool], Sequence[Any]], count: int) -> float:
    """The database's own rate of single-row INSERT transactions into `table`: the baseline of the write
    benchmarks. `row_of(n, sqlite)` gives row n as the driver takes it (SQLite: times as text). sqlite3 with
    the engine's own settings (WAL, synchronous=NORMAL, foreign keys, BEGIN IMMEDIATE), one connection;
    asyncpg with RAW_PG_CLIENTS connections in autocommit."""
    if url.startswith("sqlite"):
        return await asyncio.to_thread(_raw_sqlite, driver_dsn(url), table, columns, row_of, count)
    return await _raw_postgresql(driver_dsn(url), table, columns, row_of, count)


def _insert_sql(table: str, columns: Sequence[str], sqlite: bool) -> str:
    marks = ", ".join("?" if sqlite else f"${n}" for n in range(1, len(columns) + 1))
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"


def _raw_sqlite(path: str, table: str, columns: Sequence[str], row_of: Callable[[int, bool], Sequence[Any]],
                count: int) -> float:
    connection = sqlite3.connect(path, isolation_level=None, timeout=30)
    try:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.execute("PRAGMA foreign_keys=ON")
        sql = _insert_sql(table, columns, sqlite=True)
        started = time.perf_counter()
        for n in range(count):
            connection.execute("BEGIN IMMEDIATE")
            connection.execute(sql, row_of(n, True))
            connection.execute("COMMIT")
        return count / (time.perf_counter() - started)
    finally:
        connection.close()


async def _raw_postgresql(dsn: str, table: str, columns: Sequence[str],
                          row_of: Callable[[int, bool], Sequence[Any]], count: int) -> float:
    import asyncpg

    pool = await asyncpg.create_pool(dsn, min_size=RAW_PG_CLIENTS, max_size=RAW_PG_CLIENTS)
    try:
        work = iter(range(count))
        sql = _insert_sql(table, columns, sqlite=False)

        async def client() -> None:
            async with pool.acquire() as connection:
                statement = await connection.prepare(sql)
                for n in work:
                    await statement.fetch(*row_of(n, False))  # autocommit: one transaction per row

        started = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(RAW_PG_CLIENTS)))
        return count / (time.perf_counter() - started)
    finally:
        await pool.close()
