"""One page of a citizen's feed: `broadcasts.service.feed(session, user=…)` (20 broadcasts of all the
accounts they follow, newest first, as their targeting and follow date allow), for random citizens.

Data: 1,000,000 follows (`--quick`: 50,000) of citizens in the communes of Hà Nội and Hồ Chí Minh City,
each following 1–20 of 2,000 accounts (P(k) ∝ 1/k², mean ≈ 2.3; account 1 holds ~25% of all follows,
the others a Zipf tail), 5% of the follows tagged; 600 published broadcasts (a few withdrawn) posted by
the accounts with the same skew, targeted to all followers (50%), a province (20%), a commune (20%) or a
tag (10%), published over the last 120 days while follows date from the last year.

Each call runs in a fresh read session (as one request); the citizen's user row is loaded beforehand.
Baseline: a raw primary-key SELECT of 20 broadcast rows (`WHERE id IN (…20 random ids)`, raw sqlite3 /
asyncpg, same database), as many times. Target: p99 ≤ 5 ms.
"""

from __future__ import annotations

import bisect
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

NAME = "feed_page"
DESCRIPTION = "p50/p99 of one feed page (broadcasts.service.feed) with 1M follows vs a raw 20-row PK SELECT"

ACCOUNTS = 2_000
TOP_SHARE = 0.25
MAX_FOLLOWS = 20
BROADCASTS = 600
TAGS = ("nong-dan", "doanh-nghiep", "giao-vien")
TAGGED_SHARE = 0.05
PROVINCES = ("01", "79")  # Hà Nội, Hồ Chí Minh City
PAGE = 20
TARGET_P99_MS = 5.0


def _sizes(options: Options) -> tuple[int, int]:
    """(follows, feed calls measured)."""
    return (50_000, 300) if options.quick else (1_000_000, 2_000)


async def run(options: Options) -> AsyncIterator[dict[str, Any]]:
    follows, calls = _sizes(options)
    for target in options.targets:
        database = database_name(target)
        async with scratch_database(target) as url:
            with tempfile.TemporaryDirectory(prefix="loa-bench-data-") as data_dir:
                settings = bench_settings(url, Path(data_dir))
                await prepare(settings)
                note(f"{NAME}: {database}: loading {follows:,} follows…")
                started = time.perf_counter()
                users = await _load(settings, follows)
                note(f"{NAME}: {database}: {users:,} citizens loaded in {time.perf_counter() - started:.1f} s; "
                     f"{calls:,} feed pages…")
                ours, shown = await _feed_calls(settings, users, calls)
                raw = await _raw_selects(url, calls)
                note(f"{NAME}: {database}: feed p50 {percentile(ours, 50) * 1e3:.2f} ms, "
                     f"p99 {percentile(ours, 99) * 1e3:.2f} ms (mean {shown:.1f} rows/page); raw select "
                     f"p50 {percentile(raw, 50) * 1e3:.3f} ms")
                p99 = percentile(ours, 99) * 1000
                yield result(
                    NAME, {"database": database, "follows": follows, "citizens": users, "accounts": ACCOUNTS,
                           "broadcasts": BROADCASTS, "calls": calls, "page": PAGE},
                    value=percentile(ours, 50) * 1000, unit="ms p50 per feed page (first page, 20 rows)",
                    baseline=percentile(raw, 50) * 1000,
                    baseline_what=(f"ms p50 of a raw primary-key SELECT of {PAGE} broadcast rows "
                                   f"({'sqlite3' if database == 'sqlite' else 'asyncpg'}, same database)"),
                    better="lower",
                    p50_ms=round(percentile(ours, 50) * 1000, 3), p99_ms=round(p99, 3),
                    target_p99_ms=TARGET_P99_MS, meets_target=p99 <= TARGET_P99_MS,
                    baseline_p99_ms=round(percentile(raw, 99) * 1000, 3), mean_rows=round(shown, 2),
                )


# ---- data ------------------------------------------------------------------------------------------


def _follow_count(rng: random.Random, weights: list[float]) -> int:
    return bisect.bisect_left(weights, rng.random() * weights[-1]) + 1


def _cumulative(values: list[float]) -> list[float]:
    total, out = 0.0, []
    for value in values:
        total += value
        out.append(total)
    return out


def _plan_follows(follows: int, rng: random.Random) -> tuple[list[tuple[int, int, int, bool]], int]:
    """(account id, user id, hours before now, tagged) sorted by primary key, and the number of users."""
    per_user = _cumulative([1 / k ** 2 for k in range(1, MAX_FOLLOWS + 1)])
    mean = sum((k + 1) * (1 / (k + 1) ** 2) for k in range(MAX_FOLLOWS)) / per_user[-1]
    top_probability = min(1.0, TOP_SHARE * mean)
    tail = _cumulative([1 / rank for rank in range(1, ACCOUNTS)])  # accounts 2..ACCOUNTS
    rows: list[tuple[int, int, int, bool]] = []
    user = 0
    while len(rows) < follows:
        user += 1
        wanted = min(_follow_count(rng, per_user), follows - len(rows))
        chosen: set[int] = set()
        if rng.random() < top_probability:
            chosen.add(1)
        while len(chosen) < wanted:
            chosen.add(2 + bisect.bisect_left(tail, rng.random() * tail[-1]))
        for account in chosen:
            rows.append((account, user, rng.randrange(24, 365 * 24), rng.random() < TAGGED_SHARE))
    rows.sort()
    return rows, user


async def _load(settings: Any, follows: int) -> int:
    from loa.db.bulk import bulk_insert, reset_sequence
    from loa.domains.accounts.models import Account
    from loa.domains.broadcasts.models import Broadcast, BroadcastTarget
    from loa.domains.follows.models import Follow, FollowerTag
    from loa.domains.geo.models import AdminUnit
    from loa.domains.people.models import User
    from loa.domains.seed.synthetic import _secondary_indexes_deferred
    from loa.runtime import Runtime

    rng = random.Random(2024)
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    hours = [now - timedelta(hours=h) for h in range(365 * 24 + 1)]
    follow_rows, users = _plan_follows(follows, rng)
    runtime = Runtime(settings)
    try:
        async with runtime.session() as session:
            communes = list((await session.execute(
                select(AdminUnit.code, AdminUnit.province_code)
                .where(AdminUnit.scheme == "current", AdminUnit.level == "commune",
                       AdminUnit.province_code.in_(PROVINCES)).order_by(AdminUnit.code))).all())
            assert communes, "no communes: reference data missing"
            await bulk_insert(session, Account.__table__, (
                {"id": i, "handle": f"bench-{i}", "name": f"Cơ quan {i}", "search_text": f"co quan {i}",
                 "kind": "ministry" if i <= 30 else "provincial_department",
                 "description": "", "contacts": {}, "office_hours": [],
                 "province_code": "01" if i <= 30 else PROVINCES[i % 2], "commune_code": None,
                 "verification_status": "verified", "verified_at": hours[-1], "follower_count": 0,
                 "created_at": hours[-1], "updated_at": hours[-1]} for i in range(1, ACCOUNTS + 1)))
            async with _secondary_indexes_deferred(session, User.__table__):
                await bulk_insert(session, User.__table__, (
                    (i, None, "", communes[i % len(communes)][0], False, "vi", hours[-1])
                    for i in range(1, users + 1)),
                    columns=["id", "phone", "display_name", "home_commune_code", "is_operator", "locale",
                             "created_at"], chunk=100_000)
            async with _secondary_indexes_deferred(session, Follow.__table__):
                await bulk_insert(session, Follow.__table__, (
                    (account, user, None, hours[ago], 0, True) for account, user, ago, _ in follow_rows),
                    columns=["account_id", "user_id", "commune_code", "created_at", "last_read_broadcast_id",
                             "push_enabled"], chunk=100_000)
            await bulk_insert(session, FollowerTag.__table__, (
                (account, user, TAGS[(account + user) % len(TAGS)], hours[ago])
                for account, user, ago, tagged in follow_rows if tagged),
                columns=["account_id", "user_id", "tag", "created_at"])
            del follow_rows
            broadcasts, targets = _broadcast_rows(rng, communes, now)
            await bulk_insert(session, Broadcast.__table__, broadcasts)
            await bulk_insert(session, BroadcastTarget.__table__, targets,
                              columns=["broadcast_id", "scope", "value", "account_id"])
            for table in (Account.__table__, User.__table__, Broadcast.__table__):
                await reset_sequence(session, table)
            await session.commit()
        async with runtime.session() as session:
            await session.execute(text("ANALYZE"))
            await session.commit()
    finally:
        await runtime.close()
    return users


def _broadcast_rows(rng: random.Random, communes: list[Any], now: datetime
                    ) -> tuple[list[dict[str, Any]], list[tuple[int, str, str, int]]]:
    """Broadcasts by account popularity (account 1 the most), ids in publishing order, and their targets."""
    weights = _cumulative([1 / rank for rank in range(1, ACCOUNTS + 1)])
    span = timedelta(days=120)
    broadcasts, targets = [], []
    for i in range(1, BROADCASTS + 1):
        account = 1 + bisect.bisect_left(weights, rng.random() * weights[-1])
        published = now - span + span * i / BROADCASTS
        draw = rng.random()
        provinces: list[str] = []
        communes_: list[str] = []
        tags: list[str] = []
        if draw < 0.5:
            terms = [("all", "")]
        elif draw < 0.7:
            provinces = [rng.choice(PROVINCES)]
            terms = [("province", provinces[0])]
        elif draw < 0.9:
            communes_ = sorted({rng.choice(communes)[0] for _ in range(rng.randint(1, 3))})
            terms = [("commune", code) for code in communes_]
        else:
            tags = [rng.choice(TAGS)]
            terms = [("tag", tags[0])]
        withdrawn = rng.random() < 0.02
        broadcasts.append({
            "id": i, "account_id": account, "kind": rng.choice(("article", "notice", "alert")),
            "status": "withdrawn" if withdrawn else "published", "title": f"Thông báo số {i}",
            "body_source": "Nội dung thông báo.", "body_html": "<p>Nội dung thông báo.</p>", "cover_url": None,
            "attachments": [], "target_all": not (provinces or communes_ or tags),
            "target_provinces": provinces, "target_communes": communes_, "target_tags": tags,
            "published_at": published, "withdrawn_at": published + timedelta(hours=1) if withdrawn else None,
            "withdraw_reason": "Nhầm nội dung" if withdrawn else None,
            "created_at": published, "updated_at": published,
        })
        targets.extend((i, scope, value, account) for scope, value in terms)
    return broadcasts, targets


# ---- measuring -------------------------------------------------------------------------------------


async def _feed_calls(settings: Any, users: int, calls: int) -> tuple[list[float], float]:
    from loa.domains.broadcasts import service
    from loa.domains.people.models import User
    from loa.runtime import Runtime

    rng = random.Random(7)
    warm = 50
    ids = [rng.randint(1, users) for _ in range(calls + warm)]
    runtime = Runtime(settings)
    latencies: list[float] = []
    rows = 0
    try:
        async with runtime.read_session() as session:
            found = {user.id: user for user in await session.scalars(select(User).where(User.id.in_(set(ids))))}
            for user in found.values():
                session.expunge(user)
        for n, user_id in enumerate(ids):
            user = found[user_id]
            async with runtime.read_session() as session:
                started = time.perf_counter()
                page, _ = await service.feed(session, user=user, limit=PAGE)
                elapsed = time.perf_counter() - started
            if n >= warm:
                latencies.append(elapsed)
                rows += len(page)
    finally:
        await runtime.close()
    return latencies, rows / calls


async def _raw_selects(url: str, calls: int) -> list[float]:
    rng = random.Random(11)
    batches = [rng.sample(range(1, BROADCASTS + 1), PAGE) for _ in range(calls)]
    if url.startswith("sqlite"):
        return _raw_sqlite(driver_dsn(url), batches)
    return await _raw_postgresql(driver_dsn(url), batches)


def _raw_sqlite(path: str, batches: list[list[int]]) -> list[float]:
    connection = sqlite3.connect(path, isolation_level=None, timeout=30)
    try:
        connection.execute("PRAGMA journal_mode=WAL")
        sql = f"SELECT * FROM broadcasts WHERE id IN ({', '.join('?' * PAGE)})"
        return list(_timed(lambda batch: connection.execute(sql, batch).fetchall(), batches))
    finally:
        connection.close()


def _timed(call: Any, batches: list[list[int]]) -> Iterator[float]:
    for batch in batches:
        started = time.perf_counter()
        call(batch)
        yield time.perf_counter() - started


async def _raw_postgresql(dsn: str, batches: list[list[int]]) -> list[float]:
    import asyncpg

    connection = await asyncpg.connect(dsn)
    try:
        statement = await connection.prepare("SELECT * FROM broadcasts WHERE id = ANY($1::bigint[])")
        latencies = []
        for batch in batches:
            started = time.perf_counter()
            await statement.fetch(batch)
            latencies.append(time.perf_counter() - started)
        return latencies
    finally:
        await connection.close()
