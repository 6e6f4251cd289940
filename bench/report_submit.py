"""Citizen reports submitted per second through `reports.service.submit` (located, routed, given a deadline
and a tracking code, stored by the group-commit writer with its first timeline step and the day's count,
events published), against the database's own rate of single-row INSERT transactions into the reports
table at the same durability settings; and the p99 of the duplicate search (open reports of a category
within 250 m, `reports.service.nearby_open`) with 1,000,000 reports in the database, against the same
search as one raw SQL query.

Data: 100 communes, each with its People's Committee account (the fallback route); 2,000 citizens. The
duplicate search adds 1,000,000 reports (`--quick`: 20,000) bulk-loaded over 3,000 communes with a skew
(a city commune has hundreds of times the reports of a rural one), spread ~1 km around each centre,
12 categories, 30% still open, written over the last year; ANALYZE after the load.
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select, text

from bench.common import (
    RAW_PG_CLIENTS,
    Options,
    bench_settings,
    database_name,
    driver_dsn,
    load_people,
    note,
    percentile,
    prepare,
    raw_insert_rate,
    result,
    scratch_database,
)

NAME = "report_submit"
DESCRIPTION = ("reports/s through the reports service (group commit) vs raw INSERT tx/s; "
               "p99 of the 250 m duplicate search with 1M reports vs the raw query")

COMMUNES = 100
CITIZENS = 2_000
CALLERS = 256
SEARCHES = 2_000  # --quick: 500
DESCRIPTION_TEXT = "Rác thải sinh hoạt đổ trộm thành đống ven đường, bốc mùi nhiều ngày chưa được thu gom. Lần {n}"
_RAW_COLUMNS = ("code", "category_id", "account_id", "reporter_id", "status", "open", "title", "description",
                "search_folded", "fields", "latitude", "longitude", "cell", "address", "commune_code",
                "province_code", "public", "hidden", "public_visible", "received_at", "due_at", "remind_at",
                "reopen_count", "transfer_count", "source", "created_at", "updated_at")


def _sizes(options: Options, sqlite: bool) -> tuple[int, int, int]:
    """(reports through the service, raw inserts, reports for the duplicate search)."""
    if options.quick:
        return 1_000, 1_000, 20_000
    return (20_000, 20_000, 1_000_000) if sqlite else (10_000, 10_000, 1_000_000)


async def run(options: Options) -> AsyncIterator[dict[str, Any]]:
    for target in options.targets:
        database = database_name(target)
        async with scratch_database(target) as url:
            with tempfile.TemporaryDirectory(prefix="loa-bench-data-") as data_dir:
                settings = bench_settings(url, Path(data_dir))
                await prepare(settings)
                await load_people(settings, users=CITIZENS, accounts=0)
                places = await _committees(settings, COMMUNES)
                count, raw_count, searched = _sizes(options, database == "sqlite")
                note(f"{NAME}: {database}: {count} reports through the service, {CALLERS} callers…")
                rate, latencies = await _service_rate(settings, places, count)
                note(f"{NAME}: {database}: {raw_count} raw insert transactions…")
                baseline = await _raw_rate(url, places, raw_count)
                yield result(
                    NAME, {"database": database, "path": "submit", "callers": CALLERS, "reports": count},
                    value=rate, unit="reports/s", baseline=baseline,
                    baseline_what=f"raw single-row INSERT transactions/s into reports ({_raw_client(database)})",
                    better="higher", target_ratio=0.3,
                    p50_ms=round(percentile(latencies, 50) * 1000, 3),
                    p99_ms=round(percentile(latencies, 99) * 1000, 3),
                )
                note(f"{NAME}: {database}: loading {searched:,} reports for the duplicate search…")
                loaded = await _load_reports(settings, searched)
                service, raw = await _searches(settings, url, loaded, 500 if options.quick else SEARCHES)
                yield result(
                    NAME, {"database": database, "path": "duplicates", "reports": searched,
                           "searches": len(service)},
                    value=percentile(service, 99) * 1000, unit="ms (p99 of nearby_open)",
                    baseline=percentile(raw, 99) * 1000,
                    baseline_what="p99 ms of the same search as one raw SQL query (same index), same database",
                    better="lower", target_ms=20,
                    p50_ms=round(percentile(service, 50) * 1000, 3),
                    p99_ms=round(percentile(service, 99) * 1000, 3),
                    raw_p50_ms=round(percentile(raw, 50) * 1000, 3),
                )


def _raw_client(database: str) -> str:
    if database == "sqlite":
        return "sqlite3, WAL, synchronous=NORMAL, 1 client"
    return f"asyncpg, {RAW_PG_CLIENTS} clients"


# --- places: communes with their committee ------------------------------------------------------------------


async def _communes(settings: Any, count: int | None = None) -> list[tuple[str, str, float, float]]:
    """(code, province, lat, lon) of current communes with a centre, in code order."""
    from loa.runtime import Runtime

    runtime = Runtime(settings)
    try:
        async with runtime.read_session() as session:
            rows = (await session.execute(text(
                "SELECT code, province_code, lat, lon FROM admin_units WHERE scheme = 'current' "
                "AND level = 'commune' AND lat IS NOT NULL ORDER BY code"))).all()
    finally:
        await runtime.close()
    rows = [(code, province, float(lat), float(lon)) for code, province, lat, lon in rows]
    return rows if count is None else rows[::max(1, len(rows) // count)][:count]


async def _committees(settings: Any, count: int) -> list[tuple[int, str, str, float, float]]:
    """`count` communes, each with its People's Committee account: (account id, code, province, lat, lon)."""
    from loa.db.bulk import bulk_insert, reset_sequence
    from loa.domains.accounts.models import Account
    from loa.runtime import Runtime

    communes = await _communes(settings, count)
    now = datetime.now(UTC)
    runtime = Runtime(settings)
    try:
        async with runtime.session() as session:
            await bulk_insert(session, Account.__table__, (
                {"id": n, "handle": f"ubnd-{code}", "name": f"UBND xã {code}", "search_text": f"ubnd {code}",
                 "kind": "commune_committee", "description": "", "contacts": {}, "office_hours": [],
                 "province_code": province, "commune_code": code, "verification_status": "verified",
                 "verified_at": now, "follower_count": 0, "created_at": now, "updated_at": now}
                for n, (code, province, _, _) in enumerate(communes, start=1)))
            await reset_sequence(session, Account.__table__)
            await session.commit()
    finally:
        await runtime.close()
    return [(n, code, province, lat, lon) for n, (code, province, lat, lon) in enumerate(communes, start=1)]


# --- through the service ----------------------------------------------------------------------------------


async def _service_rate(settings: Any, places: list[tuple[int, str, str, float, float]],
                        count: int) -> tuple[float, list[float]]:
    from loa.domains.people.models import User
    from loa.domains.reports import service
    from loa.runtime import Runtime, freeze_startup_objects

    runtime = Runtime(settings)
    await runtime.start()
    freeze_startup_objects()  # as every serving process does once started
    try:
        citizens = [User(id=n, display_name=f"Bench {n}") for n in range(1, CITIZENS + 1)]
        work = iter(range(count))
        latencies: list[float] = []

        async def caller() -> None:
            for n in work:
                _, _, _, lat, lon = places[n % len(places)]
                started = time.perf_counter()
                await service.submit(runtime, reporter=citizens[n % CITIZENS], category_code="waste",
                                     description=DESCRIPTION_TEXT.format(n=n), latitude=lat, longitude=lon)
                latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(caller() for _ in range(CALLERS)))
        elapsed = time.perf_counter() - started
    finally:
        await runtime.close()
    return count / elapsed, latencies


async def _raw_rate(url: str, places: list[tuple[int, str, str, float, float]], count: int) -> float:
    now = datetime.now(UTC)
    stamp = now.replace(tzinfo=None).isoformat(sep=" ")
    due = now + timedelta(days=14)
    due_stamp = due.replace(tzinfo=None).isoformat(sep=" ")
    category = await _category_id(url, "waste")

    def row(n: int, sqlite: bool) -> tuple[Any, ...]:
        account_id, code, province, lat, lon = places[n % len(places)]
        description = DESCRIPTION_TEXT.format(n=n)
        at, until = (stamp, due_stamp) if sqlite else (now, due)
        return (f"RAW-{n:09d}", category, account_id, n % CITIZENS + 1, "submitted", True, description[:120],
                description, description.lower(), "{}", lat, lon, 0, "", code, province, True, False, True,
                at, until, until, 0, 0, "app", at, at)

    return await raw_insert_rate(url, "reports", _RAW_COLUMNS, row, count)


async def _category_id(url: str, code: str) -> int:
    if url.startswith("sqlite"):
        connection = sqlite3.connect(driver_dsn(url))
        try:
            return int(connection.execute("SELECT id FROM report_categories WHERE code = ?", (code,)).fetchone()[0])
        finally:
            connection.close()
    import asyncpg

    connection = await asyncpg.connect(driver_dsn(url))
    try:
        return int(await connection.fetchval("SELECT id FROM report_categories WHERE code = $1", code))
    finally:
        await connection.close()


# --- the duplicate search ------------------------------------------------------------------------------------


class _Loaded:
    def __init__(self, points: list[tuple[int, float, float]]) -> None:
        self.points = points  # (category id, lat, lon) of loaded reports, to search around


def _report_rows(total: int, communes: list[tuple[str, str, float, float]], accounts: int,
                 categories: list[int], rng: random.Random, first_id: int,
                 points: list[tuple[int, float, float]]) -> Iterator[tuple[Any, ...]]:
    from loa.domains.reports.validation import geo_cell

    now = datetime.now(UTC).replace(microsecond=0)
    hours = [now - timedelta(hours=hour) for hour in range(24 * 365)]
    # 1/rank skew: the first communes (Hà Nội's and the cities' wards come first by code) get most reports.
    weights = [1 / (rank + 1) for rank in range(len(communes))]
    picks = rng.choices(range(len(communes)), weights=weights, k=total)
    for offset, pick in enumerate(picks):
        code, province, clat, clon = communes[pick]
        lat, lon = clat + rng.gauss(0, 0.01), clon + rng.gauss(0, 0.01)
        category = categories[offset % len(categories)]
        is_open = rng.random() < 0.30
        received = hours[rng.randrange(len(hours))]
        due = received + timedelta(days=10)
        if offset % 500 == 0:
            points.append((category, lat, lon))
        yield (first_id + offset, f"PA-2025-{first_id + offset:07d}", category, offset % accounts + 1,
               "in_progress" if is_open else "closed", is_open, "Phản ánh", DESCRIPTION_TEXT.format(n=offset),
               "phan anh", {}, lat, lon, geo_cell(lat, lon), "", code, province, True, False, True, received, due,
               None, 0, 0, "app", received, received)


async def _load_reports(settings: Any, total: int) -> _Loaded:
    from loa.db.bulk import bulk_insert, reset_sequence
    from loa.domains.reports.models import Report
    from loa.domains.seed.synthetic import _secondary_indexes_deferred
    from loa.runtime import Runtime

    communes = (await _communes(settings))[:3000]
    points: list[tuple[int, float, float]] = []
    runtime = Runtime(settings)
    try:
        async with runtime.session() as session:
            categories = [row[0] for row in (await session.execute(text(
                "SELECT id FROM report_categories ORDER BY id"))).all()]
            first_id = int(await session.scalar(text("SELECT coalesce(max(id), 0) FROM reports")) or 0) + 1
            columns = ("id", "code", "category_id", "account_id", "reporter_id", "status", "open", "title",
                       "description", "search_folded", "fields", "latitude", "longitude", "cell", "address",
                       "commune_code", "province_code", "public", "hidden", "public_visible", "received_at",
                       "due_at", "remind_at", "reopen_count", "transfer_count", "source", "created_at",
                       "updated_at")
            rows = ((*row[:4], None, *row[4:]) for row in _report_rows(
                total, communes, COMMUNES, categories, random.Random(2026), first_id, points))
            async with _secondary_indexes_deferred(session, Report.__table__):
                await bulk_insert(session, Report.__table__, rows, columns=columns, chunk=100_000)
            await reset_sequence(session, Report.__table__)
            await session.commit()
        async with runtime.session() as session:
            await session.execute(text("ANALYZE"))
            await session.commit()
    finally:
        await runtime.close()
    return _Loaded(points)


async def _searches(settings: Any, url: str, loaded: _Loaded, searches: int) -> tuple[list[float], list[float]]:
    from loa.domains.reports import service
    from loa.domains.reports.models import ReportCategory
    from loa.domains.reports.validation import neighbour_cells
    from loa.runtime import Runtime

    rng = random.Random(7)
    probes = [loaded.points[rng.randrange(len(loaded.points))] for _ in range(searches)]
    runtime = Runtime(settings)
    timings: list[float] = []
    try:
        async with runtime.read_session() as session:
            categories = {row.id: row for row in (await session.scalars(select(ReportCategory))).all()}
        for warm in (True, False):
            for category_id, lat, lon in probes[:200] if warm else probes:
                started = time.perf_counter()
                async with runtime.read_session() as session:  # one request's session
                    await service.nearby_open(session, categories[category_id], lat, lon)
                if not warm:
                    timings.append(time.perf_counter() - started)
    finally:
        await runtime.close()
    raw = await _raw_searches(url, probes, neighbour_cells)
    return timings, raw


async def _raw_searches(url: str, probes: list[tuple[int, float, float]], cells_of: Any) -> list[float]:
    timings: list[float] = []
    if url.startswith("sqlite"):
        connection = sqlite3.connect(driver_dsn(url))
        try:
            for warm in (True, False):
                for category_id, lat, lon in probes[:200] if warm else probes:
                    cells = cells_of(lat, lon)
                    sql = ("SELECT id, code, title, status, latitude, longitude FROM reports "
                           f"WHERE category_id = ? AND open = 1 AND cell IN ({', '.join('?' * len(cells))})")
                    started = time.perf_counter()
                    connection.execute(sql, (category_id, *cells)).fetchall()
                    if not warm:
                        timings.append(time.perf_counter() - started)
        finally:
            connection.close()
        return timings
    import asyncpg

    connection = await asyncpg.connect(driver_dsn(url))
    try:
        statement = await connection.prepare("SELECT id, code, title, status, latitude, longitude FROM reports "
                                             "WHERE category_id = $1 AND open AND cell = ANY($2::bigint[])")
        for warm in (True, False):
            for category_id, lat, lon in probes[:200] if warm else probes:
                started = time.perf_counter()
                await statement.fetch(category_id, cells_of(lat, lon))
                if not warm:
                    timings.append(time.perf_counter() - started)
    finally:
        await connection.close()
    return timings
