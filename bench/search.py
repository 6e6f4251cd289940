"""Account search latency at province scale: p50/p99 of `accounts.service.search_accounts` over realistic
folded and unfolded queries, against a raw `SELECT … ORDER BY id LIMIT 20` on the same table through the
same engine and session (the floor of any 20-row read).

The data set is `./loa seed --scale province` (Hà Nội: all its accounts and the national ones); the full
run also searches the national set (all 17,273 accounts), as the citizen's search box does. Search reads
accounts only and the accounts do not depend on the seed fraction, so the national set is loaded with a
small share of its follows (follower counts keep the same skew).
"""

from __future__ import annotations

import random
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text

from bench.common import Options, bench_settings, database_name, note, percentile, result, scratch_database

NAME = "search"
DESCRIPTION = "p50/p99 of accounts.service.search_accounts at province scale vs a raw 20-row SELECT by id"

PROVINCE = "01"
# (query, filters): what citizens type, with and without diacritics, and one browse by area.
QUERIES: tuple[tuple[str | None, dict[str, Any]], ...] = (
    ("bo y te", {}),
    ("Bộ Y tế", {}),
    ("ubnd phuong ba dinh", {}),
    ("UBND phường Ba Đình", {}),
    ("cong an", {}),
    ("Công an", {}),
    ("truong thpt", {}),
    ("Trường THPT", {}),
    ("cong an", {"province_code": PROVINCE}),
    (None, {"province_code": PROVINCE}),
)


def _sizes(options: Options) -> tuple[list[tuple[str, float]], int]:
    """([(scale, seed fraction)], timed calls per query)."""
    if options.quick:
        return [("province", 0.002)], 15
    return [("province", 1.0), ("national", 0.01)], 300


async def run(options: Options) -> AsyncIterator[dict[str, Any]]:
    from loa.domains.seed import run_seed
    from loa.runtime import Runtime

    scales, repeats = _sizes(options)
    for target in options.targets:
        database = database_name(target)
        for scale, fraction in scales:
            async with scratch_database(target) as url:
                with tempfile.TemporaryDirectory(prefix="loa-bench-data-") as data_dir:
                    settings = bench_settings(url, Path(data_dir))
                    where = f"province {PROVINCE}" if scale == "province" else "national"
                    note(f"{NAME}: {database}: seeding {where} (fraction {fraction})…")
                    await run_seed(settings, scale=scale, fraction=fraction, province=PROVINCE, quiet=True)
                    runtime = Runtime(settings)
                    try:
                        for line in await _measure(runtime, database, scale, repeats):
                            yield line
                    finally:
                        await runtime.close()


async def _measure(runtime: Any, database: str, scale: str, repeats: int) -> list[dict[str, Any]]:
    accounts = await _count(runtime)
    baseline = await _baseline(runtime, accounts, repeats)
    lines = []
    for q, filters in QUERIES:
        latencies, found = await _search(runtime, q, filters, repeats)
        p50 = percentile(latencies, 50) * 1000
        lines.append(result(
            NAME,
            {"database": database, "scale": scale, "q": q, **filters, "accounts": accounts},
            value=p50,
            unit="ms",
            baseline=percentile(baseline, 50) * 1000,
            baseline_what="p50 of a raw SELECT of 20 accounts by primary key (same engine, same session setup)",
            better="lower",
            p50_ms=round(p50, 3),
            p99_ms=round(percentile(latencies, 99) * 1000, 3),
            baseline_p99_ms=round(percentile(baseline, 99) * 1000, 3),
            results=found,
            calls=repeats,
        ))
    return lines


async def _count(runtime: Any) -> int:
    from loa.domains.accounts.models import Account

    async with runtime.read_session() as session:
        return int(await session.scalar(select(func.count()).select_from(Account)) or 0)


async def _baseline(runtime: Any, accounts: int, repeats: int) -> list[float]:
    columns = ("id, handle, name, search_text, kind, description, avatar_url, contacts, office_hours, "
               "province_code, commune_code, organisation_id, verification_status, verified_at, follower_count, "
               "created_at, updated_at")
    statement = text(f"SELECT {columns} FROM accounts WHERE id > :after ORDER BY id LIMIT 20")
    rng = random.Random(1)
    latencies = []
    for n in range(repeats + 5):
        after = rng.randrange(max(accounts - 20, 1))
        started = time.perf_counter()
        async with runtime.read_session() as session:
            (await session.execute(statement, {"after": after})).all()
        if n >= 5:  # warm-up
            latencies.append(time.perf_counter() - started)
    return latencies


async def _search(runtime: Any, q: str | None, filters: dict[str, Any], repeats: int) -> tuple[list[float], int]:
    from loa.domains.accounts.service import search_accounts

    latencies = []
    found = 0
    for n in range(repeats + 5):
        started = time.perf_counter()
        async with runtime.read_session() as session:
            rows, _ = await search_accounts(session, q=q, **filters)
        if n >= 5:  # warm-up
            latencies.append(time.perf_counter() - started)
        found = len(rows)
    return latencies, found
